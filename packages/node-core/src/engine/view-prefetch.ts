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
  download(range: { start: number; end: number }): { done(): Promise<void>; destroy(): void }
}

/** One range in flight per view core, shared by the listings that run meanwhile. */
interface Prefetch {
  end: number
  range: { destroy(): void }
  /** Listings using it now. */
  holders: number
  /** A listing ran to its end: the range then runs on to its own end, whoever is left. */
  kept: boolean
  /** Done, failed or destroyed: a new listing starts another. */
  over: boolean
}

const prefetches = new WeakMap<ViewCore, Prefetch>()

/** The Autobase view core session's backing Hypercore session, or null (not open, or none). */
function backingCore(viewCore: any): ViewCore | null {
  const backing = typeof viewCore?.getBackingCore === 'function' ? viewCore.getBackingCore() : null
  const session = backing?.session
  return session && typeof session.download === 'function' ? session : null
}

/** What a listing tells the prefetch when it ends. */
export interface PrefetchLease {
  /** The listing read every entry: let the range finish (the view is then whole here). */
  listed(): void
  /** The listing ended early (a break, an error): stop the range unless another listing uses it. */
  left(): void
}

const NO_LEASE: PrefetchLease = { listed() {}, left() {} }

/**
 * Starts downloading the view's blocks this node lacks, as one range from the first missing one
 * to the view's length, if any are missing; joins the range already running if it reaches that
 * length (a UI that lists on every update must not pile ranges up). Blocks already received stay
 * whatever the listing does. Never throws: with no backing core (not open yet) it does nothing.
 */
export function prefetchView(viewCore: unknown): PrefetchLease {
  const core = backingCore(viewCore)
  if (core === null || core.contiguousLength >= core.length) return NO_LEASE
  let p = prefetches.get(core)
  if (p === undefined || p.over || p.end < core.length) {
    const range = core.download({ start: core.contiguousLength, end: core.length })
    const started: Prefetch = { end: core.length, range, holders: 0, kept: false, over: false }
    const over = () => {
      started.over = true
    }
    range.done().then(over, over)
    prefetches.set(core, started)
    p = started
  }
  const prefetch = p
  prefetch.holders++
  let ended = false
  const end = (listed: boolean) => {
    if (ended) return
    ended = true
    prefetch.holders--
    if (listed) prefetch.kept = true
    else if (prefetch.holders === 0 && !prefetch.kept && !prefetch.over) {
      prefetch.over = true
      prefetch.range.destroy()
    }
  }
  return { listed: () => end(true), left: () => end(false) }
}
