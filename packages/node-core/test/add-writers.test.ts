// addWriter's group commit (membership.ts GroupedAppends): calls made together go into one
// Autobase append, on a real node (real Autobase, RAM storage). The appends are counted on the
// node's own Autobase (a counting wrapper around its real append, nothing replaced).
import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import { cleanupsAfterEach } from '@hypha/test-utils'
import { HyphaNode, type HyphaNodeOptions } from '../src/index.js'
import { autobaseOf } from '../src/debug.js'
import { rootSecret, connect, eventually, startNode, expectCode } from './fixtures/helpers.js'

let root: Uint8Array
beforeAll(() => {
  root = rootSecret()
})

const cleanups = cleanupsAfterEach(afterEach)
const node = (options: HyphaNodeOptions) => startNode(options, cleanups)
const hex = (b: Uint8Array) => b4a.toString(b, 'hex')
const key = (n: number) => new Uint8Array(32).fill(n)

/**
 * Records the number of blocks of every append the node's Autobase makes; with `gate`, each
 * append starts only once the gate resolved (so a test can hold one in flight).
 */
function countAppends(db: HyphaNode, gate?: () => Promise<void>): number[] {
  const base = autobaseOf(db)
  const appends: number[] = []
  const append = base.append.bind(base)
  base.append = async (value: unknown) => {
    appends.push(Array.isArray(value) ? value.length : 1)
    if (gate) await gate()
    return append(value)
  }
  return appends
}

describe('addWriter calls made together', () => {
  it('go into one append, and each device is in the registry under its name', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const appends = countAppends(origin)
    await Promise.all([1, 2, 3, 4, 5].map((n) => origin.addWriter(key(n), { name: `device ${n}` })))
    expect(appends).toEqual([5])
    const devices = await origin.devices()
    for (const n of [1, 2, 3, 4, 5]) {
      const d = devices.find((x) => hex(x.writerKey) === hex(key(n)))
      expect(d).toMatchObject({ name: `device ${n}`, active: true })
      expect(hex(d!.addedBy!)).toBe(hex(origin.key))
    }
    // One alone is still one append of its own.
    await origin.addWriter(key(6))
    expect(appends).toEqual([5, 1])
  })

  it('a call made while an append is being written goes into the next one', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const appends = countAppends(origin, () => held)
    const first = origin.addWriter(key(1))
    // The first append is held in flight; two more calls meanwhile wait for it, then go in together.
    await eventually(() => appends.length === 1, 'the first append to start')
    const later = [origin.addWriter(key(2)), origin.addWriter(key(3))]
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(appends).toEqual([1])
    release()
    await Promise.all([first, ...later])
    expect(appends).toEqual([1, 2])
    for (const n of [1, 2, 3]) expect(await origin.isWriter(key(n))).toBe(true)
  })

  it('a bad argument throws for its own call only; the others are written', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const good = origin.addWriter(key(1))
    await expectCode(origin.addWriter(new Uint8Array(31)), 'ERR_INVALID_ARGUMENT')
    await good
    expect(await origin.isWriter(key(1))).toBe(true)
  })

  it('a replica applies the grouped adds and the added device becomes writable', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    cleanups.push(connect(origin, phone))
    await origin.put('hello', 'world')
    await eventually(async () => (await phone.get('hello')) === 'world', 'the phone to sync')
    await Promise.all([origin.addWriter(key(1)), origin.addWriter(phone.writerKey!, { name: 'Phone' }), origin.addWriter(key(2))])
    await eventually(() => phone.writable, 'the phone to become writable')
    expect((await phone.writers()).length).toBe(4)
  })

  it('every call of a group rejects with the append\'s error (here: not a writer)', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    const calls = [phone.addWriter(key(1)), phone.addWriter(key(2))]
    for (const call of calls) await expectCode(call, 'ERR_NOT_WRITABLE')
  })
})
