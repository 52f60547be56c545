/**
 * IndexedDB storage for browsers: a random-access-storage 3 file kept as fixed-size blocks.
 * (random-access-idb 1.x needs Node Buffers and lacks truncate/unlink/del, which hypercore 10
 * calls; see DESIGN.md.)
 *
 * One database per adapter, two object stores: `blocks` keyed [file, block index] and `files`
 * keyed by file name holding { size }. Every request runs in one IndexedDB transaction, and a
 * partial-block write reads and writes the block inside that same transaction, so concurrent
 * writes to one block cannot lose each other's bytes (IndexedDB serialises overlapping
 * read-write transactions). Blocks never written read as zeros.
 */
import RandomAccessStorage from 'random-access-storage'
import type { StorageFunction } from './types.js'

type Req = RandomAccessStorage.Request

export interface IdbStorageOptions {
  /** Block size in bytes. Default 4096. Changing it for an existing database corrupts it. */
  blockSize?: number
  /** The IndexedDB factory. Default: globalThis.indexedDB. */
  indexedDB?: IDBFactory
}

const BLOCKS = 'blocks'
const FILES = 'files'

/** Storage in the IndexedDB database `dbName` (one database per person/database on a device). */
export function idbStorage(dbName: string, options: IdbStorageOptions = {}): StorageFunction {
  const blockSize = options.blockSize ?? 4096
  if (!Number.isInteger(blockSize) || blockSize < 512) throw new TypeError('blockSize must be an integer ≥ 512')
  const factory = options.indexedDB ?? globalThis.indexedDB
  if (!factory) throw new TypeError('IndexedDB is not available here')
  let db: Promise<IDBDatabase> | null = null
  const open = () => (db ??= openDatabase(factory, dbName))
  return (name: string) => new IdbFile(open, name, blockSize)
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

class IdbFile extends RandomAccessStorage {
  private db: IDBDatabase | null = null
  private size = 0

  constructor(
    private readonly openDb: () => Promise<IDBDatabase>,
    readonly name: string,
    readonly blockSize: number
  ) {
    super()
  }

  protected override _open(req: Req): void {
    this.openDb().then((db) => guard(req, () => {
      this.db = db
      const tx = db.transaction(FILES, 'readonly')
      const get = tx.objectStore(FILES).get(this.name)
      get.onsuccess = () => {
        this.size = (get.result as { size: number } | undefined)?.size ?? 0
      }
      done(tx, req)
    }), (err: Error) => req.callback(err))
  }

  protected override _stat(req: Req): void {
    req.callback(null, { size: this.size })
  }

  protected override _read(req: Req): void {
    guard(req, () => {
      if (req.offset + req.size > this.size) return req.callback(new Error('Could not satisfy length'))
      const out = new Uint8Array(req.size)
      const tx = this.tx('readonly')
      const blocks = tx.objectStore(BLOCKS)
      this.eachBlock(req.offset, req.size, (index, start, end, at) => {
        const get = blocks.get([this.name, index])
        get.onsuccess = () => {
          const block = get.result as Uint8Array | undefined
          if (block) out.set(block.subarray(start, end), at)
        }
      })
      done(tx, req, out)
    })
  }

  protected override _write(req: Req): void {
    guard(req, () => {
      const data = req.data!
      const tx = this.tx('readwrite')
      const blocks = tx.objectStore(BLOCKS)
      this.eachBlock(req.offset, data.byteLength, (index, start, end, at) => {
        const part = data.subarray(at, at + end - start)
        if (start === 0 && end === this.blockSize) {
          // A copy as a plain Uint8Array: structured cloning a view (or a Buffer, whose slice() is
          // a view) would store its whole backing ArrayBuffer.
          blocks.put(new Uint8Array(part), [this.name, index])
          return
        }
        this.patch(blocks, index, (block) => block.set(part, start))
      })
      this.setSize(tx, Math.max(this.size, req.offset + data.byteLength))
      done(tx, req)
    })
  }

  protected override _del(req: Req): void {
    guard(req, () => {
      // Deleting through the end is a truncate; otherwise zero the range (freeing whole blocks).
      if (req.offset + req.size >= this.size) return this.truncateTo(req, Math.min(req.offset, this.size))
      const tx = this.tx('readwrite')
      const blocks = tx.objectStore(BLOCKS)
      this.eachBlock(req.offset, req.size, (index, start, end) => {
        if (start === 0 && end === this.blockSize) blocks.delete([this.name, index])
        else this.patch(blocks, index, (block) => block.fill(0, start, end))
      })
      done(tx, req)
    })
  }

  protected override _truncate(req: Req): void {
    guard(req, () => this.truncateTo(req, req.offset))
  }

  protected override _unlink(req: Req): void {
    // random-access-storage closes a file before unlinking it (and may unlink one it never
    // opened), so this takes the shared database itself rather than `this.db`.
    this.openDb().then((db) => guard(req, () => {
      const tx = db.transaction([BLOCKS, FILES], 'readwrite')
      tx.objectStore(BLOCKS).delete(this.fileRange(0))
      tx.objectStore(FILES).delete(this.name)
      this.size = 0
      done(tx, req)
    }), (err: Error) => req.callback(err))
  }

  protected override _close(req: Req): void {
    // The database is shared by every file of the adapter: it stays open.
    this.db = null
    req.callback(null)
  }

  private truncateTo(req: Req, size: number): void {
    const tx = this.tx('readwrite')
    const blocks = tx.objectStore(BLOCKS)
    if (size < this.size) {
      const firstFree = Math.ceil(size / this.blockSize)
      blocks.delete(this.fileRange(firstFree))
      const rel = size % this.blockSize
      // Zero the tail of the last kept block, so growing the file later reads zeros there.
      if (rel !== 0) this.patch(blocks, firstFree - 1, (block) => block.fill(0, rel))
    }
    this.setSize(tx, size)
    done(tx, req)
  }

  private tx(mode: IDBTransactionMode): IDBTransaction {
    return this.db!.transaction([BLOCKS, FILES], mode)
  }

  private setSize(tx: IDBTransaction, size: number): void {
    this.size = size
    tx.objectStore(FILES).put({ size }, this.name)
  }

  private fileRange(fromBlock: number): IDBKeyRange {
    return IDBKeyRange.bound([this.name, fromBlock], [this.name, Infinity])
  }

  /** Read-modify-write of one block inside the caller's transaction. */
  private patch(blocks: IDBObjectStore, index: number, change: (block: Uint8Array) => void): void {
    const key = [this.name, index]
    const get = blocks.get(key)
    get.onsuccess = () => {
      const old = get.result as Uint8Array | undefined
      const block = new Uint8Array(this.blockSize)
      if (old) block.set(old)
      change(block)
      blocks.put(block, key)
    }
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

/** Runs a request's synchronous part; a throw (e.g. the database was closed) fails the request. */
function guard(req: Req, body: () => void): void {
  try {
    body()
  } catch (err) {
    req.callback(err as Error)
  }
}

function done(tx: IDBTransaction, req: Req, value: unknown = null): void {
  // A failed request fires 'error' and then 'abort' on the transaction: answer once.
  let answered = false
  const answer = (err: Error | null) => {
    if (answered) return
    answered = true
    if (err) req.callback(err)
    else req.callback(null, value)
  }
  tx.oncomplete = () => answer(null)
  tx.onerror = (event) => {
    const failed = (event.target as IDBRequest | null)?.error
    answer(failed ?? tx.error ?? new Error('IndexedDB transaction failed'))
  }
  tx.onabort = () => answer(tx.error ?? new Error('IndexedDB transaction aborted'))
}
