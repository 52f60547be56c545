import { describe, it, expect } from 'vitest'
import { SeenFilter } from '@hypha/secure-channel'

const SKEW = 30_000

describe('SeenFilter', () => {
  it('remembers keys and forgets expired ones when full', () => {
    const filter = new SeenFilter(10, 1000, SKEW)
    for (let i = 0; i < 10; i++) filter.add('s', `old${i}`, 0, 0)
    expect(filter.has('s', 'old3')).toBe(true)
    filter.add('s', 'new', 5000, 5000) // over the limit: the old ones are past the window
    expect(filter.has('s', 'old3')).toBe(false)
    expect(filter.has('s', 'new')).toBe(true)
    expect(filter.floorOf('s')).toBe(0) // nothing live was forgotten
  })

  it('under a flood of live entries from one sender it stays bounded and raises that sender\'s floor', () => {
    const now = 100_000
    const filter = new SeenFilter(100, 60_000, SKEW)
    for (let i = 0; i < 1000; i++) filter.add('flooder', `k${i}`, now - 50_000 + i, now)
    expect(filter.size).toBeLessThanOrEqual(100)
    expect(filter.has('flooder', 'k999')).toBe(true)
    expect(filter.has('flooder', 'k0')).toBe(false)
    // Every forgotten key's timestamp is at or below the sender's floor: it counts as expired, not new.
    for (let i = 0; i < 1000; i++) {
      if (!filter.has('flooder', `k${i}`)) expect(now - 50_000 + i).toBeLessThanOrEqual(filter.floorOf('flooder'))
    }
    // Nobody else's floor moved.
    expect(filter.floorOf('member')).toBe(0)
  })

  it('a flood stamped 29 s in the future never moves any floor past now − skew (one key or a key per envelope)', () => {
    const now = 1_000_000
    const filter = new SeenFilter(1000, 150_000, SKEW)
    filter.add('member', 'm0', now - 1000, now - 1000)
    for (let i = 0; i < 20_000; i++) {
      // A stranger with a fresh key per envelope, and one with a single key.
      filter.add(i % 2 ? 'stranger' : `stranger${i}`, `j${i}`, now + 29_000, now)
      expect(filter.size).toBeLessThanOrEqual(1000)
    }
    expect(filter.floor).toBeLessThanOrEqual(now - SKEW)
    expect(filter.floorOf('member')).toBeLessThanOrEqual(now - SKEW)
    expect(filter.floorOf('stranger')).toBeLessThanOrEqual(now - SKEW)
    expect(filter.floorOf('someone new')).toBeLessThanOrEqual(now - SKEW)
  })

  it('many one-envelope senders: bounded, and the floor still stays behind now − skew', () => {
    const now = 1_000_000
    const filter = new SeenFilter(50, 150_000, SKEW)
    for (let i = 0; i < 500; i++) filter.add(`s${i}`, 'id', now - 60_000 + i, now)
    expect(filter.size).toBeLessThanOrEqual(50)
    expect(filter.floor).toBeLessThanOrEqual(now - SKEW)
    expect(filter.has('s499', 'id')).toBe(true)
    // The oldest were forgotten; they are older than the floor so a replay is refused as expired.
    expect(filter.has('s0', 'id')).toBe(false)
    expect(now - 60_000).toBeLessThanOrEqual(filter.floorOf('s0'))
  })
})
