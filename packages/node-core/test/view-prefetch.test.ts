import { describe, it, expect, afterEach } from 'vitest'
import { cleanupsAfterEach, nextEvent } from '@hypha/test-utils'
import { type HyphaNodeOptions } from '../src/index.js'
import { autobaseOf } from '../src/debug.js'
import { rootSecret, connect, eventually, startNode } from './fixtures/helpers.js'

const cleanups = cleanupsAfterEach(afterEach)
const node = (options: HyphaNodeOptions) => startNode(options, cleanups)

const COUNT = 400
const keyOf = (i: number) => `k/${String(i).padStart(4, '0')}`

/** The Hypercore session under the node's Autobase view (the Hyperbee's blocks). */
const viewCore = (n: Parameters<typeof autobaseOf>[0]) => autobaseOf(n)!.view.core.getBackingCore().session

/** How many of the core's blocks this node holds. */
async function held(core: any): Promise<number> {
  let n = 0
  for (let i = 0; i < core.length; i++) if (await core.has(i)) n++
  return n
}

/**
 * An origin with COUNT entries written in 40 appends (enough system blocks for Autobase to
 * fast-forward a new node), and a read-only node connected to it that fast-forwarded: it holds
 * the view's length but few of its blocks.
 */
async function fastForwarded(label: string) {
  const root = rootSecret(label)
  const origin = await node({ role: 'origin', rootSecret: root })
  for (let i = 0; i < COUNT; i += 10) {
    await origin.batch(Array.from({ length: 10 }, (_, j) => ({ type: 'put' as const, key: keyOf(i + j), value: `v${i + j}` })))
  }
  await origin.update()
  const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
  const forwarded = nextEvent(autobaseOf(phone)!, 'fast-forward')
  cleanups.push(connect(origin, phone))
  await forwarded
  await eventually(async () => {
    await phone.update()
    return (await phone.get(keyOf(COUNT - 1))) !== null
  }, 'the last entry readable')
  const core = viewCore(phone)
  expect(core.length).toBe(viewCore(origin).length)
  expect(await held(core)).toBeLessThan(core.length / 2)
  return { origin, phone, core }
}

describe('listing a view this node does not hold yet', () => {
  it('a whole list() fetches the missing view blocks as one range: every entry, then the whole view is here', async () => {
    const { phone, core } = await fastForwarded('prefetch: whole')
    const entries = await phone.list()
    expect(entries.map((e) => e.key)).toEqual(Array.from({ length: COUNT }, (_, i) => keyOf(i)))
    expect(entries.map((e) => e.value)).toEqual(Array.from({ length: COUNT }, (_, i) => `v${i}`))
    // Hyperbee alone never reads block 0 (its header) nor history: only the range brings them.
    await eventually(() => core.contiguousLength === core.length, 'the whole view downloaded')
  })

  it('a bounded range fetches only what its walk reads; a listing left early stops, and a later one lists all', async () => {
    const { phone, core } = await fastForwarded('prefetch: bounded')
    const some = await phone.list({ prefix: 'k/001' })
    expect(some.map((e) => e.key)).toEqual(Array.from({ length: 10 }, (_, i) => keyOf(10 + i)))
    expect(await held(core)).toBeLessThan(core.length / 2)
    expect(core.contiguousLength).toBe(0)

    for await (const entry of phone.entries()) {
      expect(entry.key).toBe(keyOf(0))
      break
    }
    expect((await phone.list()).length).toBe(COUNT)
  })
})
