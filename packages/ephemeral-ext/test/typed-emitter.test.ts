// TypedEmitter is the `events` EventEmitter under a declared, event-typed surface: these check the
// runtime is that emitter (every declared member exists and behaves) and the types reject misuse.
import { EventEmitter } from 'events'
import { describe, expect, it } from 'vitest'
import { TypedEmitter } from '@hypha/ephemeral-ext'

interface ClockEvents {
  tick: [count: number, label: string]
  stop: []
}

class Clock extends TypedEmitter<ClockEvents> {}

describe('TypedEmitter', () => {
  it('is the events EventEmitter at run time', () => {
    const clock = new Clock()
    expect(clock).toBeInstanceOf(EventEmitter)
    // Every member the declaration promises is a function of the runtime emitter.
    for (const member of ['addListener', 'on', 'once', 'prependListener', 'prependOnceListener', 'removeListener', 'off', 'removeAllListeners', 'emit', 'listenerCount', 'listeners', 'rawListeners', 'eventNames', 'setMaxListeners', 'getMaxListeners'] as const) {
      expect(typeof clock[member]).toBe('function')
    }
  })

  it('delivers typed arguments and counts listeners', () => {
    const clock = new Clock()
    const seen: string[] = []
    const onTick = (count: number, label: string): void => {
      seen.push(`${label}${count}`)
    }
    clock.on('tick', onTick).once('stop', () => seen.push('stop'))
    expect(clock.listenerCount('tick')).toBe(1)
    expect(clock.eventNames()).toEqual(['tick', 'stop'])
    expect(clock.emit('tick', 1, 't')).toBe(true)
    expect(clock.emit('stop')).toBe(true)
    expect(clock.emit('stop')).toBe(false)
    clock.off('tick', onTick)
    expect(clock.emit('tick', 2, 't')).toBe(false)
    expect(seen).toEqual(['t1', 'stop'])
  })

  it('rejects unknown events and wrong listeners at compile time', () => {
    const clock = new Clock()
    // @ts-expect-error: no such event
    clock.on('tock', () => {})
    // @ts-expect-error: 'tick' passes a number first
    clock.on('tick', (count: string) => count)
    // @ts-expect-error: 'tick' needs its arguments
    clock.emit('tick')
    expect(clock.listenerCount('tick')).toBe(1)
  })
})
