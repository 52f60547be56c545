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
  it('is the default, and one adapter can be reopened within the process', async () => {
    const storage = memoryStorage()
    const first = await open({ role: 'origin', rootSecret: root, storage })
    await first.put('k', 'v')
    await first.close()
    const again = await open({ role: 'origin', rootSecret: root, storage })
    expect(hex(again.key)).toBe(hex(first.key))
    expect(hex(again.writerKey)).toBe(hex(first.writerKey))
    expect(await again.get('k')).toBe('v')
    // The default storage is a fresh memory storage: a new device, and (as an origin) a new database.
    const fresh = await open({ role: 'origin', rootSecret: root })
    expect(hex(fresh.key)).not.toBe(hex(first.key))
    expect(await fresh.get('k')).toBeNull()
  })
})
