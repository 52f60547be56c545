/**
 * The changes to a Hyperbee view of an Autobase 6.5, between the states it had at two 'update'
 * events: what `node.watch(range)` yields (sync.ts).
 *
 * Why not Hyperbee's own `watch` or a plain `createDiffStream`: Hyperbee's diff skips subtrees
 * whose block index (seq) is the same on both sides, and reads both trees from one core snapshot.
 * When Autobase reorders it truncates the view and applies again, so after a truncation to L the
 * blocks from L on are other blocks at the same indexes: a plain diff of the old tree against the
 * new one is wrong (Hyperbee's Watcher gives up there and yields without a diff). Autobase's
 * snapshots keep their own blocks after a truncation (they are detached with their tip), so both
 * states stay readable; what they still share is the blocks below the lowest truncation between
 * them. So each state (a mark) records the lowest length the view was truncated to since it was
 * taken, `common`, and the changes from A to B are composed of two diffs against the tree at that
 * length C, each of which only skips blocks both its sides really share:
 *   A → B  =  (A vs tree@C)  merged with  (B vs tree@C), keeping the keys whose value differs.
 * Without a truncation C is A's own version and it is one diff, as usual.
 */
import b4a from 'b4a'
import type { Hyperbee, HyperbeeRange } from './holepunch.js'
import type { EngineChange } from './types.js'

interface Mark {
  bee: Hyperbee
  version: number
  /** The lowest length the view was truncated to since this mark was taken (Infinity: none). */
  common: number
}

/** The changes a watch yields, mark by mark (see above). @internal */
export class ViewChanges {
  private from: Mark
  /** The view as the last 'update' left it: what the next diff goes to. */
  private latest: Mark | null = null
  private readonly marks = new Set<Mark>()
  private wake: (() => void) | null = null
  private closed = false
  /** A diff is reading `from` and the mark it goes to. */
  private diffing = false
  private readonly unsubscribe: () => void
  private readonly onupdate = () => {
    if (this.closed) return
    if (this.latest) this.release(this.latest)
    // Taken in the 'update' event itself: the view as Autobase left it after a whole apply, never
    // a state in the middle of a reorder.
    this.latest = this.mark()
    this.wake?.()
  }

  private readonly ontruncate = (length: number) => {
    for (const mark of this.marks) mark.common = Math.min(mark.common, length)
  }

  /** `range`: a Hyperbee range of the view's keys; `updates` subscribes to the engine's 'update' (returns an unsubscribe). */
  constructor(
    private readonly view: Hyperbee,
    private readonly range: HyperbeeRange,
    private readonly decodeKey: (viewKey: Uint8Array) => Uint8Array,
    updates: (listener: () => void) => () => void
  ) {
    ;(view.core as any).on('truncate', this.ontruncate)
    this.unsubscribe = updates(this.onupdate)
    this.from = this.mark()
  }

  /**
   * The changes in the range since the last call (the first: since the watch began), once there are
   * some, in key order; null once closed.
   */
  async next(): Promise<EngineChange[] | null> {
    while (!this.closed) {
      const to = this.latest
      if (to === null) {
        await new Promise<void>((resolve) => (this.wake = resolve))
        this.wake = null
        continue
      }
      this.latest = null
      const from = this.from
      let changes: EngineChange[]
      this.diffing = true
      try {
        changes = await diff(from, to, this.range)
      } catch (err) {
        if (this.closed) return null
        throw err
      } finally {
        this.diffing = false
        // Closed meanwhile: the trees it read are released only now, not under the running diff.
        if (this.closed) this.releaseAll()
      }
      if (this.closed) return null
      this.from = to
      this.release(from)
      if (changes.length > 0) return changes.map((c) => ({ ...c, key: this.decodeKey(c.key) }))
    }
    return null
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.unsubscribe()
    ;(this.view.core as any).off('truncate', this.ontruncate)
    if (!this.diffing) this.releaseAll()
    this.wake?.()
  }

  private releaseAll(): void {
    for (const mark of [...this.marks]) this.release(mark)
  }

  private mark(): Mark {
    // checkout(version), not snapshot(): a snapshot of the main tree fixes its version only when it
    // opens (later, asynchronously); a checkout's core snapshot and version are fixed now.
    const version = this.view.version
    const bee = this.view.checkout(version)
    const mark = { bee, version, common: Infinity }
    this.marks.add(mark)
    return mark
  }

  private release(mark: Mark): void {
    if (!this.marks.delete(mark)) return
    mark.bee.close().catch(() => {})
  }
}

/** The entries of `range` whose value differs between `from` and `to`, in key order (values as stored). */
async function diff(from: Mark, to: Mark, range: HyperbeeRange): Promise<EngineChange[]> {
  const common = Math.min(from.common, from.version)
  const out: EngineChange[] = []
  if (common >= from.version) {
    // No truncation below `from`: it is a prefix of `to`.
    for await (const d of to.bee.createDiffStream(from.bee, range)) {
      const key = (d.left ?? d.right)!.key
      const change = { key, value: d.left?.value ?? null, previous: d.right?.value ?? null }
      // A put of the value it had is a new entry in the tree, not a change.
      if (!sameValue(change.previous, change.value)) out.push(change)
    }
    return out
  }
  // Both against the tree at the common length (1: the empty tree, below every truncation).
  const base = to.bee.checkout(Math.max(1, common))
  try {
    const byKey = new Map<string, { key: Uint8Array; previous: Uint8Array | null; value: Uint8Array | null }>()
    for await (const d of from.bee.createDiffStream(base, range)) {
      const key = (d.left ?? d.right)!.key
      // Until `to`'s side says otherwise, the key has its value at the common length in `to` too.
      byKey.set(b4a.toString(key, 'hex'), { key, previous: d.left?.value ?? null, value: d.right?.value ?? null })
    }
    for await (const d of to.bee.createDiffStream(base, range)) {
      const key = (d.left ?? d.right)!.key
      const id = b4a.toString(key, 'hex')
      const seen = byKey.get(id)
      if (seen) seen.value = d.left?.value ?? null
      else byKey.set(id, { key, previous: d.right?.value ?? null, value: d.left?.value ?? null })
    }
    for (const change of byKey.values()) if (!sameValue(change.previous, change.value)) out.push(change)
    return out.sort((a, b) => b4a.compare(a.key, b.key))
  } finally {
    await base.close().catch(() => {})
  }
}

function sameValue(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b
  return b4a.equals(a, b)
}
