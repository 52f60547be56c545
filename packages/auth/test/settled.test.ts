// The record of settled requests alone (settled.ts), over an in-memory device file: its bounds by
// age and count, what it writes, and a file it cannot read. attacks.test.ts (5d) runs it on real nodes.
import { describe, it, expect } from 'vitest'
import b4a from 'b4a'
import { SettledRequests, MAX_SETTLED_REQUESTS, REQUEST_MAX_AGE_MS, MAX_REQUEST_CLOCK_SKEW_MS, fresh } from '../src/settled.js'

function memoryFile() {
  const file = {
    bytes: null as Uint8Array | null,
    writes: 0,
    read: async () => file.bytes,
    write: async (b: Uint8Array) => {
      file.writes++
      file.bytes = b4a.from(b)
    }
  }
  return file
}
const digest = (i: number) => {
  const d = new Uint8Array(32)
  new DataView(d.buffer).setUint32(0, i)
  return d
}

describe('settled requests', () => {
  it('survive a reload from the file, are forgotten once their request is stale, and never exceed MAX_SETTLED_REQUESTS', async () => {
    let now = 1_800_000_000_000
    const file = memoryFile()
    const first = new SettledRequests(file, () => now)
    await first.load()
    first.add(digest(1), now)
    first.add(digest(2), now - REQUEST_MAX_AGE_MS + 1000) // stale in 1 s
    await first.flushed()
    const again = new SettledRequests(file, () => now)
    await again.load()
    expect(again.has(digest(1)) && again.has(digest(2))).toBe(true)
    expect(again.has(digest(3))).toBe(false)
    now += 2000
    expect(again.has(digest(2))).toBe(false) // its request is refused as stale from now on
    expect(fresh(now - REQUEST_MAX_AGE_MS - 2000 + 1000, now)).toBe(false)
    // A flood of settled requests: the count stays bounded, the file with it; the soonest-stale go first.
    for (let i = 10; i < 10 + 3 * MAX_SETTLED_REQUESTS; i++) again.add(digest(i), now)
    await again.flushed()
    expect(again.size).toBe(MAX_SETTLED_REQUESTS)
    expect(again.has(digest(1))).toBe(false)
    expect(again.has(digest(10 + 3 * MAX_SETTLED_REQUESTS - 1))).toBe(true)
    expect(file.bytes!.byteLength).toBeLessThan(MAX_SETTLED_REQUESTS * 48)
    expect(file.writes).toBeLessThan(10) // coalesced: one write per burst, not one per request
    // A createdAt far ahead is kept only as long as the furthest a fresh one could be.
    const ahead = new SettledRequests(memoryFile(), () => now)
    ahead.add(digest(5), now + 10 * REQUEST_MAX_AGE_MS)
    now += MAX_REQUEST_CLOCK_SKEW_MS + REQUEST_MAX_AGE_MS + 1
    expect(ahead.has(digest(5))).toBe(false)
  })

  it('a file it cannot decode starts an empty record and says so (loadError)', async () => {
    for (const bytes of [b4a.from([2, 0]), b4a.from([1, 1, 0]), b4a.from([1, 0, 9])]) {
      const file = memoryFile()
      file.bytes = bytes
      const record = new SettledRequests(file)
      await record.load()
      expect(record.size).toBe(0)
      expect(record.loadError).toBeInstanceOf(Error)
    }
  })
})
