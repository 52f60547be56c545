// close() while reads wait on a peer: a node that fast-forwarded to the origin's view fetches view
// blocks on demand, and once its only peer is gone such a fetch would wait for ever. close() must
// end it (the read rejects ERR_CLOSED) and must itself resolve.
import { describe, it, expect, afterEach } from 'vitest'
import { cleanupsAfterEach, settle } from '@hypha/test-utils'
import type { HyphaNodeOptions } from '../src/index.js'
import { autobaseOf } from '../src/debug.js'
import { rootSecret, connect, eventually, startNode, expectCode } from './fixtures/helpers.js'

const cleanups = cleanupsAfterEach(afterEach)
const node = (options: HyphaNodeOptions) => startNode(options, cleanups)
const ENTRIES = 2_000
const BATCH = 50
const key = (i: number) => `k/${String(i).padStart(5, '0')}`

/** Settles `promise` into a state string, or 'pending' after `ms`. */
async function stateAfter(promise: Promise<unknown>, ms: number): Promise<string> {
  return Promise.race([
    promise.then(() => 'resolved', () => 'rejected'),
    settle(ms).then(() => 'pending')
  ])
}

describe('close() with reads waiting on a peer that has gone', () => {
  it('ends the reads (ERR_CLOSED) and resolves', async () => {
    const root = rootSecret('close: reads in flight')
    const origin = await node({ role: 'origin', rootSecret: root })
    // Enough entries that the reader fast-forwards to the origin's view instead of applying the oplog.
    // (Autobase fast-forwards when the origin's system core is long enough: one block per append.)
    for (let i = 0; i < ENTRIES; i += BATCH) {
      await origin.batch(Array.from({ length: BATCH }, (_, j) => ({ type: 'put' as const, key: key(i + j), value: 'x'.repeat(100) })))
    }
    const reader = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    const disconnect = connect(origin, reader)
    // The newest key is readable once the reader has the view's tip; the oldest blocks are still the origin's.
    await eventually(async () => (await reader.get(key(ENTRIES - 1)).catch(() => null)) !== null, 'the reader to get the view')
    const view = autobaseOf(reader).view.core
    expect(view.length).toBeGreaterThan(ENTRIES)
    const held = view.getBackingCore().session // the Hypercore under the view
    expect(held.contiguousLength).toBeLessThan(view.length) // fast-forwarded: blocks are missing
    disconnect()

    // The first key's leaf block is not here, and nobody can send it: the read waits.
    const read = reader.get(key(0))
    expect(await stateAfter(read, 300)).toBe('pending')

    const closed = reader.close()
    expect(await stateAfter(closed, 10_000)).toBe('resolved')
    expect(await stateAfter(read, 1_000)).toBe('rejected')
    await expectCode(read, 'ERR_CLOSED')
  }, 60_000)
})
