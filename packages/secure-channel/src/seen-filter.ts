/**
 * Remembers which messages were already accepted, for as long as their timestamp is still inside
 * the acceptance window (after that the age check rejects them anyway). Bounded: when full it
 * forgets the oldest entries and raises `floor`, so a forgotten message cannot be replayed: any
 * message not newer than `floor` is treated as expired.
 */
export class SeenFilter {
  private readonly entries = new Map<string, number>()
  /** Messages with a timestamp at or below this are refused as expired. */
  floor = 0

  constructor(
    private readonly maxEntries: number,
    private readonly windowMs: number
  ) {}

  get size(): number {
    return this.entries.size
  }

  has(key: string): boolean {
    return this.entries.has(key)
  }

  add(key: string, timestamp: number, now: number): void {
    this.entries.set(key, timestamp)
    if (this.entries.size > this.maxEntries) this.prune(now)
  }

  private prune(now: number): void {
    const expiredAt = now - this.windowMs
    for (const [key, timestamp] of this.entries) {
      if (timestamp < expiredAt) this.entries.delete(key)
    }
    // Leave a tenth free so pruning runs once per maxEntries/10 additions, not on each.
    const target = Math.floor(this.maxEntries * 0.9)
    if (this.entries.size <= target) return
    // Still full of live entries (a flood): forget the oldest and refuse anything that old.
    const sorted = [...this.entries].sort((a, b) => a[1] - b[1])
    for (const [key, timestamp] of sorted.slice(0, this.entries.size - target)) {
      this.entries.delete(key)
      if (timestamp > this.floor) this.floor = timestamp
    }
  }
}
