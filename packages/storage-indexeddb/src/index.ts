/**
 * IndexedDB storage for browsers: a random-access-storage 3 file kept as fixed-size blocks.
 * (random-access-idb 1.x needs Node Buffers and lacks truncate/unlink/del, which hypercore 10
 * calls; see docs/design.md.)
 *
 * One database per adapter, two object stores: `blocks` keyed [file, block index] and `files`
 * keyed by file name holding { size }. Blocks never written read as zeros.
 *
 * Speed: a syncing Hypercore issues tens of thousands of small reads and writes (40-byte tree
 * nodes, oplog entries). One IndexedDB transaction per request costs 1.5–3 ms in Chromium, and
 * every read-write transaction on the same stores is serialised, so a request-per-transaction
 * adapter syncs a few thousand entries several times slower than memory (a read-only node took
 * minutes to list 3,000 entries, and its first `list()` seemed to hang). So:
 *
 * - every file keeps the blocks it uses in memory (an LRU shared by the adapter's files, bounded
 *   by `cacheBytes`); reads of cached blocks never touch IndexedDB;
 * - the requests of a file are applied to that memory in the order they were made (a request
 *   that needs a block not in memory waits for it, and the ones behind it wait too), so
 *   concurrent partial writes to one block cannot lose each other's bytes;
 * - writes, deletes and truncations are group-committed: everything changed while one
 *   read-write transaction commits goes into the next one (one transaction for all files of the
 *   adapter). A write's callback runs once its transaction has committed.
 *
 * Changed blocks stay in memory until committed. If a commit fails (e.g. quota exceeded), its
 * requests fail and so does every later request of the adapter: memory is then ahead of
 * IndexedDB, and continuing could persist a torn state.
 */
import RandomAccessStorage from 'random-access-storage'
import type { StorageFunction } from '@hypha/node-core'

/** A random-access-storage request, as its `_open`/`_read`/… methods receive it. */
type RAS = RandomAccessStorage
/** What every request has: the callback the storage calls when it is done. */
type Req = { callback(err: Error | null, value?: any): void }

export interface IdbStorageOptions {
  /** Block size in bytes. Default 4096. Changing it for an existing database corrupts it. */
  blockSize?: number
  /** The IndexedDB factory. Default: globalThis.indexedDB. */
  indexedDB?: IDBFactory
  /**
   * Memory for cached blocks, shared by the adapter's files. Default 16 MiB. Blocks changed but
   * not yet committed are kept even beyond it.
   */
  cacheBytes?: number
}

const BLOCKS = 'blocks'
const FILES = 'files'

/** Storage in the IndexedDB database `dbName` (one database per person/database on a device). */
export function idbStorage(dbName: string, options: IdbStorageOptions = {}): StorageFunction {
  const blockSize = options.blockSize ?? 4096
  if (!Number.isInteger(blockSize) || blockSize < 512) throw new TypeError('blockSize must be an integer ≥ 512')
  const cacheBytes = options.cacheBytes ?? 16 * 1024 * 1024
  if (!(cacheBytes >= 0)) throw new TypeError('cacheBytes must be a number ≥ 0')
  const factory = options.indexedDB ?? globalThis.indexedDB
  if (!factory) throw new TypeError('IndexedDB is not available here')
  const adapter = new Adapter(factory, dbName, Math.floor(cacheBytes / blockSize))
  return (name: string) => new IdbFile(adapter, name, blockSize)
}

function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
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
class Adapter {
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
    private readonly name: string,
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

/** A file's changes not yet in IndexedDB: block contents (null: delete) and a range delete. */
interface Changes {
  puts: Map<number, Uint8Array | null>
  /** Delete every block from this index on (before the puts). */
  deleteFrom: number | null
  size: number
}

interface Op {
  req: Req
  /** The block indices this request needs in memory (evaluated when it is next in line). */
  need: () => number[]
  /** Applies the request to memory, synchronously. */
  run: () => void
}

class IdbFile extends RandomAccessStorage {
  readonly id: number
  private database: IDBDatabase | null = null
  private size = 0
  /** Blocks in memory; null is a block of zeros (never written, or deleted). */
  private readonly cache = new Map<number, Uint8Array | null>()
  /**
   * Every block from this index on that is not in `cache` is zeros, whatever IndexedDB holds
   * now (a truncation whose range delete is not committed yet).
   */
  private zeroFrom = 0
  /** Per block: how many uncommitted batches (pending or committing) hold it. */
  private readonly pins = new Map<number, number>()
  private changes: Changes | null = null
  private uncommitted = 0
  private readonly queue: Op[] = []
  private draining = false
  /** The blocks the request first in line needs: kept in memory until it has run. */
  private held = new Set<number>()

  constructor(
    private readonly adapter: Adapter,
    readonly name: string,
    readonly blockSize: number
  ) {
    super()
    this.id = adapter.id()
  }

  db(): IDBDatabase {
    if (!this.database) throw new Error('Closed')
    return this.database
  }

  override _open(req: Parameters<RAS['_open']>[0]): void {
    this.adapter.open().then((db) => guard(req, () => {
      const tx = db.transaction(FILES, 'readonly')
      const get = tx.objectStore(FILES).get(this.name)
      let size = 0
      get.onsuccess = () => {
        size = (get.result as { size: number } | undefined)?.size ?? 0
      }
      done(tx, (err) => {
        if (err) return req.callback(err)
        this.database = db
        this.size = size
        this.zeroFrom = Math.ceil(size / this.blockSize)
        req.callback(null)
      })
    }), (err: Error) => req.callback(err))
  }

  override _stat(req: Parameters<RAS['_stat']>[0]): void {
    this.enqueue(req, none, () => req.callback(null, { size: this.size }))
  }

  override _read(req: Parameters<RAS['_read']>[0]): void {
    const { offset, size } = req
    this.enqueue(
      req,
      () => (offset + size > this.size ? [] : this.blocksOf(offset, size, () => true)),
      () => {
        if (offset + size > this.size) return req.callback(new Error('Could not satisfy length'))
        const out = new Uint8Array(size)
        this.eachBlock(offset, size, (index, start, end, at) => {
          const block = this.present(index)
          if (block) out.set(block.subarray(start, end), at)
        })
        ;(req as Req).callback(null, out) // a Uint8Array: browsers have no Buffer, hypercore reads it as bytes
      }
    )
  }

  override _write(req: Parameters<RAS['_write']>[0]): void {
    const data = req.data!
    const { offset } = req
    const length = data.byteLength
    this.enqueue(
      req,
      () => this.blocksOf(offset, length, (start, end) => start !== 0 || end !== this.blockSize),
      () => {
        this.eachBlock(offset, length, (index, start, end, at) => {
          const part = data.subarray(at, at + end - start)
          // A copy as a plain Uint8Array of its own: structured cloning a view (or a Buffer,
          // whose slice() is a view) would store its whole backing ArrayBuffer.
          if (start === 0 && end === this.blockSize) return this.change(index, new Uint8Array(part))
          const block = this.writableBlock(index)
          block.set(part, start)
          this.change(index, block)
        })
        this.setSize(Math.max(this.size, offset + length))
        this.adapter.commitLater(this, req)
      }
    )
  }

  override _del(req: Parameters<RAS['_del']>[0]): void {
    const { offset, size } = req
    // Deleting through the end is a truncate; otherwise zero the range (freeing whole blocks).
    const throughEnd = () => offset + size >= this.size
    this.enqueue(
      req,
      () => (throughEnd() ? this.truncateNeeds(Math.min(offset, this.size)) : this.blocksOf(offset, size, (start, end) => start !== 0 || end !== this.blockSize)),
      () => {
        if (throughEnd()) return this.truncateTo(req, Math.min(offset, this.size))
        this.eachBlock(offset, size, (index, start, end) => {
          if (start === 0 && end === this.blockSize) return this.change(index, null)
          if (this.present(index) === null) return // already zeros
          const block = this.writableBlock(index)
          block.fill(0, start, end)
          this.change(index, block)
        })
        this.adapter.commitLater(this, req)
      }
    )
  }

  override _truncate(req: Parameters<RAS['_truncate']>[0]): void {
    const size = req.offset
    this.enqueue(req, () => this.truncateNeeds(size), () => this.truncateTo(req, size))
  }

  override _unlink(req: Parameters<RAS['_unlink']>[0]): void {
    // random-access-storage closes a file before unlinking it (and may unlink one it never
    // opened), so this takes the shared database itself rather than `this.database`.
    this.adapter.open().then((db) => guard(req, () => {
      if (this.adapter.failure) throw this.adapter.failure
      const tx = db.transaction([BLOCKS, FILES], 'readwrite')
      tx.objectStore(BLOCKS).delete(this.fileRange(0))
      tx.objectStore(FILES).delete(this.name)
      this.forgetAll()
      this.size = 0
      this.zeroFrom = 0
      done(tx, (err) => req.callback(err))
    }), (err: Error) => req.callback(err))
  }

  override _close(req: Parameters<RAS['_close']>[0]): void {
    // random-access-storage runs close only once every request has answered, so every change is
    // committed. The database is shared by every file of the adapter: it stays open.
    this.forgetAll()
    this.database = null
    req.callback(null)
  }

  // ---- the request queue --------------------------------------------------------------------

  private enqueue(req: Req, need: () => number[], run: () => void): void {
    if (this.adapter.failure) return req.callback(this.adapter.failure)
    this.queue.push({ req, need, run })
    this.drain()
  }

  private drain(): void {
    if (this.draining) return
    this.draining = true
    while (this.queue.length > 0) {
      const op = this.queue[0]!
      let missing: number[]
      try {
        const need = op.need()
        this.held = new Set(need)
        missing = need.filter((index) => this.block(index) === undefined)
      } catch (err) {
        this.held.clear()
        this.queue.shift()
        op.req.callback(err as Error)
        continue
      }
      if (missing.length > 0) {
        this.load(missing).then(
          () => {
            this.draining = false
            this.drain()
          },
          (err: Error) => {
            this.queue.shift()
            this.held.clear()
            this.draining = false
            op.req.callback(err)
            this.drain()
          }
        )
        return
      }
      this.queue.shift()
      if (this.adapter.failure) op.req.callback(this.adapter.failure)
      else guard(op.req, op.run)
      this.held.clear()
    }
    this.draining = false
  }

  /** Reads blocks into memory, in one read-only transaction. */
  private load(indices: number[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const tx = this.db().transaction(BLOCKS, 'readonly')
      const store = tx.objectStore(BLOCKS)
      const got = new Map<number, Uint8Array | null>()
      for (const index of indices) {
        const get = store.get([this.name, index])
        get.onsuccess = () => got.set(index, toBlock(get.result as Uint8Array | undefined, this.blockSize))
      }
      done(tx, (err) => {
        if (err) return reject(err)
        // Nothing of this file changed meanwhile: its queue waited for this load.
        for (const [index, block] of got) if (!this.cache.has(index)) this.cacheBlock(index, block)
        this.adapter.evict()
        resolve()
      })
    })
  }

  // ---- blocks in memory ---------------------------------------------------------------------

  /** A block's contents: null for zeros, undefined if it is not in memory. */
  private block(index: number): Uint8Array | null | undefined {
    const block = this.cache.get(index)
    if (block !== undefined) {
      this.adapter.touch(this, index)
      return block
    }
    return index >= this.zeroFrom ? null : undefined
  }

  /** A block the request in line needed: in memory (its queue loaded it first). */
  private present(index: number): Uint8Array | null {
    const block = this.block(index)
    if (block === undefined) throw new Error(`IndexedDB storage: block ${index} of ${this.name} is not in memory`)
    return block
  }

  /** The block, in memory and safe to change in place (a fresh one if it was zeros). */
  private writableBlock(index: number): Uint8Array {
    return this.present(index) ?? new Uint8Array(this.blockSize)
  }

  private cacheBlock(index: number, block: Uint8Array | null): void {
    this.cache.set(index, block)
    this.adapter.touch(this, index)
  }

  dropCached(index: number): void {
    this.cache.delete(index)
  }

  /** Committed, and IndexedDB holds it (blocks from `zeroFrom` on are only known in memory). */
  evictable(index: number): boolean {
    return !this.pins.has(index) && index < this.zeroFrom && !this.held.has(index)
  }

  private forgetAll(): void {
    for (const index of this.cache.keys()) this.adapter.forget(this, index)
    this.cache.clear()
  }

  // ---- changes and commits ------------------------------------------------------------------

  private pending(): Changes {
    return (this.changes ??= { puts: new Map(), deleteFrom: null, size: this.size })
  }

  private change(index: number, block: Uint8Array | null): void {
    this.cacheBlock(index, block)
    const changes = this.pending()
    if (!changes.puts.has(index)) this.pins.set(index, (this.pins.get(index) ?? 0) + 1)
    changes.puts.set(index, block)
  }

  private unpin(index: number): void {
    const count = (this.pins.get(index) ?? 0) - 1
    if (count > 0) this.pins.set(index, count)
    else this.pins.delete(index)
  }

  private setSize(size: number): void {
    this.size = size
    this.pending().size = size
  }

  private truncateNeeds(size: number): number[] {
    // The last kept block, to zero its tail (so growing the file later reads zeros there).
    if (size >= this.size || size % this.blockSize === 0) return []
    return [Math.floor(size / this.blockSize)]
  }

  private truncateTo(req: Req, size: number): void {
    if (size < this.size) {
      const firstFree = Math.ceil(size / this.blockSize)
      const changes = this.pending()
      for (const index of [...this.cache.keys()]) {
        if (index < firstFree) continue
        this.cache.delete(index)
        this.adapter.forget(this, index)
        if (changes.puts.delete(index)) this.unpin(index)
      }
      changes.deleteFrom = Math.min(changes.deleteFrom ?? Infinity, firstFree)
      this.zeroFrom = Math.min(this.zeroFrom, firstFree)
      const rel = size % this.blockSize
      if (rel !== 0) {
        const block = this.present(firstFree - 1)
        if (block) {
          block.fill(0, rel)
          this.change(firstFree - 1, block)
        }
      }
    }
    this.setSize(size)
    this.adapter.commitLater(this, req)
  }

  takeChanges(): Changes {
    const changes = this.pending()
    this.changes = null
    this.uncommitted++
    return changes
  }

  writeChanges(changes: Changes, blocks: IDBObjectStore, records: IDBObjectStore): void {
    if (changes.deleteFrom !== null) blocks.delete(this.fileRange(changes.deleteFrom))
    for (const [index, block] of changes.puts) {
      if (block === null) blocks.delete([this.name, index])
      else blocks.put(block, [this.name, index])
    }
    records.put({ size: changes.size }, this.name)
  }

  settled(changes: Changes, committed: boolean): void {
    for (const index of changes.puts.keys()) this.unpin(index)
    this.uncommitted--
    // Everything is in IndexedDB now: blocks past the end are absent there too.
    if (committed && this.uncommitted === 0 && this.changes === null) this.zeroFrom = Math.ceil(this.size / this.blockSize)
  }

  // ---- helpers ------------------------------------------------------------------------------

  private fileRange(fromBlock: number): IDBKeyRange {
    return IDBKeyRange.bound([this.name, fromBlock], [this.name, Infinity])
  }

  /** The indices of the blocks of a range for which `wanted(start, end)` holds. */
  private blocksOf(offset: number, size: number, wanted: (start: number, end: number) => boolean): number[] {
    const out: number[] = []
    this.eachBlock(offset, size, (index, start, end) => {
      if (wanted(start, end)) out.push(index)
    })
    return out
  }

  /** Calls `fn(block index, start in block, end in block, position in the request)` per block. */
  private eachBlock(offset: number, size: number, fn: (index: number, start: number, end: number, at: number) => void) {
    let at = 0
    while (at < size) {
      const pos = offset + at
      const index = Math.floor(pos / this.blockSize)
      const start = pos - index * this.blockSize
      const end = Math.min(this.blockSize, start + size - at)
      fn(index, start, end, at)
      at += end - start
    }
  }
}

const none = (): number[] => []

/** A stored block as a full-size block of its own (null if absent). */
function toBlock(stored: Uint8Array | undefined, blockSize: number): Uint8Array | null {
  if (!stored) return null
  if (stored.byteLength === blockSize && stored.byteOffset === 0 && stored.buffer.byteLength === blockSize) return stored
  const block = new Uint8Array(blockSize)
  block.set(stored.subarray(0, blockSize))
  return block
}

/** Runs a request's synchronous part; a throw (e.g. the database was closed) fails the request. */
function guard(req: Req, body: () => void): void {
  try {
    body()
  } catch (err) {
    req.callback(err as Error)
  }
}

function done(tx: IDBTransaction, answer: (err: Error | null) => void): void {
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
