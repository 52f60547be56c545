// The IndexedDB side of the storage: the database connection, and what one adapter shares between
// its files: the block LRU and group commit (the design is described in idb-file.ts).
import type { IdbFile } from './idb-file.js'

/** What every request has: the callback the storage calls when it is done. */
export type Req = { callback(err: Error | null, value?: any): void }

/** A file's changes not yet in IndexedDB: block contents (null: delete) and a range delete. */
export interface Changes {
  puts: Map<number, Uint8Array | null>
  /** Delete every block from this index on (before the puts). */
  deleteFrom: number | null
  size: number
}

export const BLOCKS = 'blocks'
export const FILES = 'files'

export function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, 1)
    req.onupgradeneeded = () => {
      req.result.createObjectStore(BLOCKS)
      req.result.createObjectStore(FILES)
    }
    req.onsuccess = () => {
      const db = req.result
      // Let another connection delete or upgrade the database (e.g. another tab clearing data);
      // requests after that fail instead of blocking it.
      db.onversionchange = () => db.close()
      resolve(db)
    }
    req.onerror = () => reject(req.error)
  })
}

/** What one database shares between its files: the connection, the block LRU, group commit. */
export class Adapter {
  private db: Promise<IDBDatabase> | null = null
  /** Cached blocks, least recently used first: key `${file id}:${index}`. */
  private readonly lru = new Map<string, { file: IdbFile; index: number }>()
  private nextId = 0
  /** Files with changes for the next commit, and the requests that wait for it. */
  private pending = new Set<IdbFile>()
  private waiting: Req[] = []
  private committing = false
  /** Set once a commit failed: every later request fails with it. */
  failure: Error | null = null

  constructor(
    private readonly factory: IDBFactory,
    readonly name: string,
    private readonly maxBlocks: number
  ) {}

  open(): Promise<IDBDatabase> {
    return (this.db ??= openDatabase(this.factory, this.name))
  }

  id(): number {
    return this.nextId++
  }

  touch(file: IdbFile, index: number): void {
    const key = `${file.id}:${index}`
    this.lru.delete(key)
    this.lru.set(key, { file, index })
  }

  forget(file: IdbFile, index: number): void {
    this.lru.delete(`${file.id}:${index}`)
  }

  /** Drops least recently used blocks that are committed, down to the limit. */
  evict(): void {
    if (this.lru.size <= this.maxBlocks) return
    for (const [key, { file, index }] of this.lru) {
      if (this.lru.size <= this.maxBlocks) break
      if (file.evictable(index)) {
        file.dropCached(index)
        this.lru.delete(key)
      }
    }
  }

  /** `req` completes when the changes `file` has made so far are committed. */
  commitLater(file: IdbFile, req: Req): void {
    this.pending.add(file)
    this.waiting.push(req)
    if (this.committing) return
    this.committing = true
    // Everything changed in this task, and while a commit is running, goes into one transaction.
    queueMicrotask(() => this.commit())
  }

  private commit(): void {
    const files = [...this.pending]
    const reqs = this.waiting
    this.pending = new Set()
    this.waiting = []
    if (files.length === 0) {
      this.committing = false
      return
    }
    const batches = files.map((file) => ({ file, batch: file.takeChanges() }))
    const fail = (err: Error) => {
      this.failure ??= err
      for (const { file, batch } of batches) file.settled(batch, false)
      for (const req of reqs) req.callback(err)
      // The requests that came meanwhile fail too (see failure).
      this.commit()
    }
    let tx: IDBTransaction
    try {
      if (this.failure) throw this.failure
      tx = files[0]!.db().transaction([BLOCKS, FILES], 'readwrite')
      const blocks = tx.objectStore(BLOCKS)
      const records = tx.objectStore(FILES)
      for (const { file, batch } of batches) file.writeChanges(batch, blocks, records)
    } catch (err) {
      return fail(err as Error)
    }
    let answered = false
    tx.oncomplete = () => {
      if (answered) return
      answered = true
      for (const { file, batch } of batches) file.settled(batch, true)
      for (const req of reqs) req.callback(null)
      this.evict()
      this.commit()
    }
    // A failed request fires 'error' and then 'abort' on the transaction: answer once.
    const onFailure = (err: Error) => {
      if (answered) return
      answered = true
      fail(err)
    }
    tx.onerror = (event) => onFailure((event.target as IDBRequest | null)?.error ?? tx.error ?? new Error('IndexedDB transaction failed'))
    tx.onabort = () => onFailure(tx.error ?? new Error('IndexedDB transaction aborted'))
  }
}

/** Runs a request's synchronous part; a throw (e.g. the database was closed) fails the request. */
export function guard(req: Req, body: () => void): void {
  try {
    body()
  } catch (err) {
    req.callback(err as Error)
  }
}

export function done(tx: IDBTransaction, answer: (err: Error | null) => void): void {
  // A failed request fires 'error' and then 'abort' on the transaction: answer once.
  let answered = false
  const once = (err: Error | null) => {
    if (answered) return
    answered = true
    answer(err)
  }
  tx.oncomplete = () => once(null)
  tx.onerror = (event) => once((event.target as IDBRequest | null)?.error ?? tx.error ?? new Error('IndexedDB transaction failed'))
  tx.onabort = () => once(tx.error ?? new Error('IndexedDB transaction aborted'))
}
