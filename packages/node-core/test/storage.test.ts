import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { mkdtemp, rm, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import b4a from 'b4a'
import { HyphaNode, memoryStorage, type HyphaNodeOptions } from '../src/index.js'
import { fileStorage } from '../src/native.js'
import { rootSecret, connect, eventually } from './fixtures/helpers.js'
import { cleanupsAfterEach } from '@hypha/test-utils'

let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret()
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

describe('file storage', () => {
  it('keeps every entry and both writers (origin and an added one) across a close and reopen', async () => {
    const originDir = await tempDir()
    const phoneDir = await tempDir()
    let origin = await open({ role: 'origin', rootSecret: root, name: 'laptop', storage: await fileStorage(originDir) })
    let phone = await open({ role: 'read-only', rootSecret: root, name: 'phone', storage: await fileStorage(phoneDir) })
    const disconnect = connect(origin, phone)
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, 'phone writable')
    await origin.batch(Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: `o${i}`, value: `origin ${i}` })))
    await phone.put('p', b4a.from([1, 2, 3]))
    await eventually(async () => (await origin.get('p')) !== null && (await phone.get('o19')) !== null, 'both synced')
    const before = (await origin.list()).map((e) => [e.key, e.value])
    expect(before).toHaveLength(21)
    const phoneWriterKey = phone.writerKey
    disconnect()
    await origin.close()
    await phone.close()
    expect((await readdir(originDir)).length).toBeGreaterThan(0)

    // Reopen from the same directories, with no peers at all.
    origin = await open({ role: 'origin', rootSecret: root, name: 'laptop', storage: await fileStorage(originDir) })
    phone = await open({ role: 'read-only', rootSecret: root, name: 'phone', storage: await fileStorage(phoneDir) })
    expect(origin.writable).toBe(true)
    expect(phone.writable).toBe(true)
    expect(hex(phone.writerKey)).toBe(hex(phoneWriterKey))
    expect((await origin.list()).map((e) => [e.key, e.value])).toEqual(before)
    expect((await phone.list()).map((e) => [e.key, e.value])).toEqual(before)
    expect(await phone.isWriter(phone.writerKey!)).toBe(true)

    // And they carry on from where they were.
    await phone.put('after-reopen', 'yes')
    connect(origin, phone)
    await eventually(async () => (await origin.get('after-reopen')) === 'yes', 'write after reopen reaches origin')
  })

  it('refuses a second node on a directory that is open (the oplog is locked)', async () => {
    const dir = await tempDir()
    await open({ role: 'origin', rootSecret: root, name: 'laptop', storage: await fileStorage(dir) })
    const second = new HyphaNode({ role: 'origin', rootSecret: root, name: 'laptop', storage: await fileStorage(dir) })
    second.on('error', () => {})
    const err = await second.ready().then(() => null, (e: Error) => e)
    expect((err as { code?: string } | null)?.code).toBe('ELOCKED')
    await second.close().catch(() => {})
  })
})

describe('memory storage', () => {
  it('is the default, and one adapter can be reopened within the process', async () => {
    const storage = memoryStorage()
    const first = await open({ role: 'origin', rootSecret: root, name: 'laptop', storage })
    await first.put('k', 'v')
    await first.close()
    const again = await open({ role: 'origin', rootSecret: root, name: 'laptop', storage })
    expect(await again.get('k')).toBe('v')
    const fresh = await open({ role: 'origin', rootSecret: root, name: 'laptop' })
    expect(await fresh.get('k')).toBeNull()
  })
})
