// Block arithmetic of the IndexedDB storage: a file is fixed-size blocks (see idb-file.ts).

/** Calls `fn(block index, start in block, end in block, position in the request)` per block of a range. */
export function eachBlock(
  blockSize: number,
  offset: number,
  size: number,
  fn: (index: number, start: number, end: number, at: number) => void
): void {
  let at = 0
  while (at < size) {
    const pos = offset + at
    const index = Math.floor(pos / blockSize)
    const start = pos - index * blockSize
    const end = Math.min(blockSize, start + size - at)
    fn(index, start, end, at)
    at += end - start
  }
}

/** The indices of the blocks of a range for which `wanted(start, end)` holds. */
export function blocksOf(blockSize: number, offset: number, size: number, wanted: (start: number, end: number) => boolean): number[] {
  const out: number[] = []
  eachBlock(blockSize, offset, size, (index, start, end) => {
    if (wanted(start, end)) out.push(index)
  })
  return out
}

/** A request that needs no block in memory. */
export const none = (): number[] => []

/** A stored block as a full-size block of its own (null if absent). */
export function toBlock(stored: Uint8Array | undefined, blockSize: number): Uint8Array | null {
  if (!stored) return null
  if (stored.byteLength === blockSize && stored.byteOffset === 0 && stored.buffer.byteLength === blockSize) return stored
  const block = new Uint8Array(blockSize)
  block.set(stored.subarray(0, blockSize))
  return block
}
