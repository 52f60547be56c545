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
 *
 * The code is split by job: this module is one file (its requests, its blocks in memory, its
 * changes); adapter.ts the database, the shared LRU and group commit; lock.ts the one-opener
 * lock; blocks.ts the block arithmetic.
 */
import RandomAccessStorage from 'random-access-storage'
import { Adapter, BLOCKS, FILES, done, guard, type Changes, type Req } from './adapter.js'
import { LOCKED_FILE, holdLock } from './lock.js'
import { blocksOf, eachBlock, none, toBlock } from './blocks.js'

/** A random-access-storage request, as its `_open`/`_read`/… methods receive it. */
type RAS = RandomAccessStorage

interface Op {
  req: Req
  /** The block indices this request needs in memory (evaluated when it is next in line). */
  need: () => number[]
  /** Applies the request to memory, synchronously. */
  run: () => void
}

export class IdbFile extends RandomAccessStorage {
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
  /** Releases the database's lock (only the `primary-key` file takes it). */
  private releaseLock: (() => void) | null = null

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
    if (this.name !== LOCKED_FILE) return this.openFile(req)
    // Corestore keeps `primary-key` open while the node is open: holding it holds the database.
    holdLock(this.adapter.name).then(
      (release) => {
        this.releaseLock = release
        this.openFile({
          callback: (err) => {
            if (err) this.unlock()
            req.callback(err)
          }
        })
      },
      (err: Error) => req.callback(err)
    )
  }

  private unlock(): void {
    this.releaseLock?.()
    this.releaseLock = null
  }

  private openFile(req: Req): void {
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
      () => (offset + size > this.size ? [] : blocksOf(this.blockSize, offset, size, () => true)),
      () => {
        if (offset + size > this.size) return req.callback(new Error('Could not satisfy length'))
        const out = new Uint8Array(size)
        eachBlock(this.blockSize, offset, size, (index, start, end, at) => {
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
      () => blocksOf(this.blockSize, offset, length, (start, end) => start !== 0 || end !== this.blockSize),
      () => {
        eachBlock(this.blockSize, offset, length, (index, start, end, at) => {
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
      () => (throughEnd() ? this.truncateNeeds(Math.min(offset, this.size)) : blocksOf(this.blockSize, offset, size, (start, end) => start !== 0 || end !== this.blockSize)),
      () => {
        if (throughEnd()) return this.truncateTo(req, Math.min(offset, this.size))
        eachBlock(this.blockSize, offset, size, (index, start, end) => {
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
    this.unlock()
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

  private fileRange(fromBlock: number): IDBKeyRange {
    return IDBKeyRange.bound([this.name, fromBlock], [this.name, Infinity])
  }
}
