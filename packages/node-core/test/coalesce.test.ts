import { describe, it, expect } from 'vitest'
import { coalesced } from '../src/index.js'

describe('coalesced', () => {
  it('runs once, then once more for any number of triggers during the run', async () => {
    let runs = 0
    let release: () => void = () => {}
    const trigger = coalesced(async () => {
      runs++
      if (runs === 1) await new Promise<void>((resolve) => (release = resolve))
    })
    const first = trigger()
    const during = [trigger(), trigger(), trigger()]
    release()
    await Promise.all([first, ...during])
    expect(runs).toBe(2)
    await trigger()
    expect(runs).toBe(3)
  })

  it('passes a failed run to onError and still makes the queued run; stopped() ends the loop', async () => {
    const errors: unknown[] = []
    let runs = 0
    let stopped = false
    const trigger = coalesced(
      async () => {
        runs++
        if (runs === 1) {
          void trigger()
          throw new Error('first')
        }
      },
      { onError: (err) => errors.push(err), stopped: () => stopped }
    )
    await trigger()
    expect(runs).toBe(2)
    expect((errors[0] as Error).message).toBe('first')
    stopped = true
    await trigger()
    expect(runs).toBe(2)
  })
})
