interface SenderEntries {
  ids: Map<string, number>
  /** This sender's messages at or below this timestamp are refused as expired. */
  floor: number
}

/**
 * Remembers which messages were already accepted, per sender, for as long as their timestamp is
 * still inside the acceptance window (after that the age check rejects them anyway).
 *
 * Bounded: at most `maxEntries` ids. When full of live ids it forgets from the senders that hold the
 * most (a flooder pays for its own flood) and raises that sender's floor, so a forgotten message
 * cannot be replayed: a message not newer than its sender's floor is treated as expired. No floor
 * ever moves past `now − maxClockSkewMs`, whatever timestamps arrive: envelopes stamped in the
 * future (up to the skew) cannot push anybody's fresh envelopes out as expired, nor those of a
 * sender whose clock is behind (by up to the skew: its envelopes are accepted, see README "Clocks"). The price, only
 * under a flood larger than `maxEntries` within the window: an id forgotten while newer than
 * `now − maxClockSkewMs` could be accepted once more.
 */
export class SeenFilter {
  private readonly senders = new Map<string, SenderEntries>()
  private count = 0
  /** Floor for every sender: raised when whole senders are forgotten (more senders than room). */
  floor = 0

  constructor(
    readonly maxEntries: number,
    private readonly windowMs: number,
    private readonly maxClockSkewMs: number
  ) {}

  /** Ids remembered now (at most `maxEntries`). */
  get size(): number {
    return this.count
  }

  /** Messages of `sender` with a timestamp at or below this are refused as expired. */
  floorOf(sender: string): number {
    const own = this.senders.get(sender)?.floor ?? 0
    return own > this.floor ? own : this.floor
  }

  has(sender: string, id: string): boolean {
    return this.senders.get(sender)?.ids.has(id) ?? false
  }

  add(sender: string, id: string, timestamp: number, now: number): void {
    let entries = this.senders.get(sender)
    if (!entries) {
      entries = { ids: new Map(), floor: 0 }
      this.senders.set(sender, entries)
    }
    if (entries.ids.has(id)) return
    entries.ids.set(id, timestamp)
    this.count++
    if (this.count > this.maxEntries) this.prune(now)
  }

  private prune(now: number): void {
    const expiredAt = now - this.windowMs
    for (const [sender, entries] of this.senders) {
      for (const [id, timestamp] of entries.ids) {
        if (timestamp < expiredAt) {
          entries.ids.delete(id)
          this.count--
        }
      }
      // Its floor is older than its remaining ids (the oldest go first), so older than the window.
      if (entries.ids.size === 0) this.senders.delete(sender)
    }
    // Leave a tenth free so pruning runs once per maxEntries/10 additions, not on each.
    const target = Math.max(1, Math.floor(this.maxEntries * 0.9))
    if (this.count <= target) return
    const ceiling = now - this.maxClockSkewMs
    const capped = (t: number) => (t < ceiling ? t : ceiling)

    if (this.senders.size <= target) {
      // Water-filling: the largest per-sender count `limit` that fits; senders above it lose their oldest.
      const sizes = [...this.senders.values()].map((e) => e.ids.size).sort((x, y) => y - x)
      let limit = sizes[0]!
      let total = this.count
      for (let i = 0; total > target; ) {
        // Lower the limit by one: every sender at or above the current limit loses one id.
        while (i < sizes.length && sizes[i]! >= limit) i++
        total -= i
        limit--
      }
      for (const entries of this.senders.values()) {
        if (entries.ids.size <= limit) continue
        const oldest = [...entries.ids].sort((x, y) => x[1] - y[1]).slice(0, entries.ids.size - limit)
        for (const [id, timestamp] of oldest) {
          entries.ids.delete(id)
          this.count--
          if (capped(timestamp) > entries.floor) entries.floor = capped(timestamp)
        }
      }
      return
    }

    // More senders than room: forget whole senders, those whose newest id is oldest first.
    const bySenderAge = [...this.senders].map(([sender, entries]) => {
      let newest = -Infinity
      for (const t of entries.ids.values()) if (t > newest) newest = t
      return { sender, entries, newest }
    })
    bySenderAge.sort((x, y) => x.newest - y.newest)
    for (const { sender, entries, newest } of bySenderAge) {
      if (this.count <= target) break
      this.senders.delete(sender)
      this.count -= entries.ids.size
      if (capped(newest) > this.floor) this.floor = capped(newest)
    }
  }
}
