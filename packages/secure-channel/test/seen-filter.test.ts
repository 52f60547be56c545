import { describe, it, expect } from 'vitest'
import { SeenFilter } from '@hypha/secure-channel'

describe('SeenFilter', () => {
  it('remembers keys and forgets expired ones when full', () => {
    const filter = new SeenFilter(10, 1000)
    for (let i = 0; i < 10; i++) filter.add(`old${i}`, 0, 0)
    expect(filter.has('old3')).toBe(true)
    filter.add('new', 5000, 5000) // over the limit: the old ones are past the window
    expect(filter.has('old3')).toBe(false)
    expect(filter.has('new')).toBe(true)
    expect(filter.floor).toBe(0) // nothing live was forgotten
  })

  it('under a flood of live entries it stays bounded and raises the floor past what it forgot', () => {
    const filter = new SeenFilter(100, 60_000)
    for (let i = 0; i < 1000; i++) filter.add(`k${i}`, 1000 + i, 2000)
    expect(filter.size).toBeLessThanOrEqual(100)
    expect(filter.has('k999')).toBe(true)
    expect(filter.has('k0')).toBe(false)
    // Every forgotten key's timestamp is at or below the floor, so it counts as expired, not new.
    expect(filter.floor).toBeGreaterThanOrEqual(1000 + 899)
    for (let i = 0; i < 1000; i++) {
      if (!filter.has(`k${i}`)) expect(1000 + i).toBeLessThanOrEqual(filter.floor)
    }
  })
})
