import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import { memoryStorage, type HyphaNodeOptions } from '../src/index.js'
import { rootSecret, startNode } from './fixtures/helpers.js'
import { cleanupsAfterEach } from '@hypha/test-utils'

let root: Uint8Array
beforeAll(async () => {
  root = rootSecret()
})

const cleanups = cleanupsAfterEach(afterEach)

const open = (options: HyphaNodeOptions) => startNode(options, cleanups)

const hex = (b: Uint8Array | null) => (b === null ? null : b4a.toString(b, 'hex'))

describe('memory storage', () => {
  // Reopening one memory adapter (entries and identity kept) is in the shared storage suite: integration/test/storage-memory.test.ts.
  it('is the default: a fresh one per node, so a new device and (as an origin) a new database', async () => {
    const storage = memoryStorage()
    const first = await open({ role: 'origin', rootSecret: root, storage })
    await first.put('k', 'v')
    const fresh = await open({ role: 'origin', rootSecret: root })
    expect(hex(fresh.key)).not.toBe(hex(first.key))
    expect(hex(fresh.noiseKeyPair.publicKey)).not.toBe(hex(first.noiseKeyPair.publicKey))
    expect(await fresh.get('k')).toBeNull()
  })
})
