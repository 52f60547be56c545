import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { mkdtemp, rm, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import b4a from 'b4a'
import { HyphaNode, HyphaNodeError, memoryStorage, DEVICE_RECORD_FILE, type HyphaNodeOptions } from '../src/index.js'
import { rootSecret, connect, eventually } from './fixtures/helpers.js'
import { cleanupsAfterEach } from '@hypha/test-utils'

let root: Uint8Array
beforeAll(async () => {
  root = rootSecret()
})

const cleanups = cleanupsAfterEach(afterEach)

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hypha-node-core-'))
  cleanups.unshift(() => rm(dir, { recursive: true, force: true })) // removed after the nodes close
  return dir
}

async function open(options: HyphaNodeOptions): Promise<HyphaNode> {
  const node = new HyphaNode(options)
  cleanups.push(() => node.close())
  await node.ready()
  return node
}

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
