import RAM from 'random-access-memory'
import b4a from 'b4a'
import type { StorageFunction } from './types.js'

/** The part of random-access-memory 6.2.1 (a random-access-storage 3 file) that {@link MemoryFile} mends. */
interface RamFile {
  /** The file's size. */
  length: number
  pageSize: number
  /** Its bytes in pages of `pageSize`; a missing (or undefined) page reads as zeros. */
  buffers: Array<Uint8Array | undefined>
}
interface RamRequest {
  offset: number
  /** Infinity for a truncate (random-access-storage's `_truncate` is `_del` to Infinity). */
  size: number
  callback(err: Error | null, value: null): void
}
type RamClass = new () => RamFile & { _del(req: RamRequest): void; _unlink(req: RamRequest): void }
const Ram = RAM as unknown as RamClass & { reusable(): (name: string) => unknown }

/**
 * random-access-memory 6.2.1 with its deletes mended (its source, index.js):
 *
 * - `_del` zeroes the cut part of a page only when the new end falls inside that page (`if (rel &&
 *   …) buf.fill(0, rel)`), and drops only pages the range covers whole. A truncate (a `_del` to
 *   Infinity) to a page boundary, e.g. to 0 on a file shorter than a page, leaves the page's bytes
 *   in place past the new end, and they read back once a later write grows the file again
 *   (write 10 × 0x01 at 0; truncate(0); write at 20; read(0, 10) gives the 0x01s). Its loop also
 *   steps `pageSize - rel` after setting `rel = 0`, so a partial last page is never cleared either.
 * - A del within the file clears nothing of the pages it covers only in part.
 * - `clone()` (what `reusable()` gives when a file is opened again) copies every page with
 *   `b4a.from(buffer)`, which throws on a page `_del` dropped: a file that lost a whole page cannot
 *   be reopened. It also makes a plain RAM, which would bring the faults above back.
 * - `_unlink` empties `this._buffers`, a field nothing reads, instead of `this.buffers`.
 *
 * Here every byte past the size is zero, always: a del zeroes exactly its range (dropping pages it
 * covers whole) and, when it reaches the end, everything past the new size.
 */
class MemoryFile extends Ram {
  override _del(req: RamRequest): void {
    const end = req.offset + req.size
    if (end >= this.length) {
      // To the end (a truncate): everything from the new end on goes; past the old end is zeros already.
      this.clear(req.offset, this.length)
      // As random-access-memory does: a del or truncate past the end grows the file (with zeros).
      this.length = req.offset
    } else {
      this.clear(req.offset, end)
    }
    req.callback(null, null)
  }

  override _unlink(req: RamRequest): void {
    this.buffers = []
    this.length = 0
    req.callback(null, null)
  }

  /** What `reusable()` hands out for a file opened again: a copy, of this class. */
  clone(): MemoryFile {
    const copy = new MemoryFile()
    copy.length = this.length
    copy.pageSize = this.pageSize
    copy.buffers = this.buffers.map((page) => (page ? b4a.from(page) : undefined))
    return copy
  }

  /** Zeroes bytes [from, to): pages inside it are dropped, the parts of the others filled with 0. */
  private clear(from: number, to: number): void {
    const { pageSize, buffers } = this
    for (let i = Math.floor(from / pageSize); i < buffers.length && i * pageSize < to; i++) {
      const page = buffers[i]
      if (!page) continue
      const start = Math.max(from - i * pageSize, 0)
      const stop = Math.min(to - i * pageSize, pageSize)
      if (start === 0 && stop === pageSize) buffers[i] = undefined
      else page.fill(0, start, stop)
    }
  }
}

/**
 * In-memory storage (random-access-memory, mended: see {@link MemoryFile}): the embedded default
 * and the test storage. Nothing survives the process, but one adapter can be closed and reopened
 * within it: the same adapter passed to a new node sees the earlier node's data (RAM.reusable()).
 */
export function memoryStorage(): StorageFunction {
  // reusable() makes its files with `new this()`: MemoryFiles.
  return MemoryFile.reusable() as StorageFunction
}
