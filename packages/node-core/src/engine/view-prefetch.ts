/**
 * Bulk download of the view's blocks ahead of a listing.
 *
 * Hyperbee walks its B-tree one node at a time: a node's block must arrive before the iterator
 * knows which blocks hold its children and keys (it then asks for those few, 4 on average). A
 * fresh node (fast-forwarded to the indexers' view, holding none of its blocks) listing 10,000
 * entries waited on the network 3,444 times and sent 2,494 small requests, against raw hypercore's
 * one range. A listing of every entry needs nearly every view block anyway, so it asks for the
 * missing ones as one range, as replication does, and the walk then mostly reads local blocks.
 *
 * Only a whole listing (no bounds, no limit) prefetches: a bounded range's blocks are scattered
 * through the view (blocks are in write order, not key order), and asking for all would fetch far
 * more than it reads. The cost of a whole listing: the view's history (blocks of entries since
 * overwritten or deleted) is downloaded too, where the walk would have skipped it.
 */

/** The part of a Hypercore 10 session used here. */
interface ViewCore {
  length: number
  contiguousLength: number
  download(range: { start: number; end: number }): { destroy(): void }
}

/** The Autobase view core session's backing Hypercore session, or null (not open, or none). */
function backingCore(viewCore: any): ViewCore | null {
  const backing = typeof viewCore?.getBackingCore === 'function' ? viewCore.getBackingCore() : null
  const session = backing?.session
  return session && typeof session.download === 'function' ? session : null
}

/**
 * Starts downloading the view's blocks this node lacks, as one range from the first missing one
 * to the view's length, if any are missing. Returns a function that stops the download (blocks
 * already received stay), for a listing that ends early. Never throws: with no backing core (not
 * open yet) it does nothing.
 */
export function prefetchView(viewCore: unknown): () => void {
  const core = backingCore(viewCore)
  if (core === null || core.contiguousLength >= core.length) return () => {}
  const range = core.download({ start: core.contiguousLength, end: core.length })
  return () => range.destroy()
}
