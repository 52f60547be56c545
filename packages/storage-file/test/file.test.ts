import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { mkdtemp, rm, readdir, mkdir, symlink } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import b4a from 'b4a'
import { HyphaNode, HyphaNodeError, DEVICE_RECORD_FILE, type HyphaNodeOptions } from '@hypha/node-core'
import { cleanupsAfterEach, connectNodes as connect } from '@hypha/test-utils'
import { rootSecret, eventually, startNode } from '@hypha/adapter-tests'
import { fileStorage } from '../src/index.js'

let root: Uint8Array
beforeAll(async () => {
  root = rootSecret()
})

const cleanups = cleanupsAfterEach(afterEach)

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hypha-storage-file-'))
  cleanups.unshift(() => rm(dir, { recursive: true, force: true })) // removed after the nodes close
  return dir
}

const open = (options: HyphaNodeOptions) => startNode(options, cleanups)

const hex = (b: Uint8Array | null) => (b === null ? null : b4a.toString(b, 'hex'))

describe('file storage', () => {
  it('keeps every entry and both writers (origin and an added one) across a close and reopen', async () => {
    const originDir = await tempDir()
    const phoneDir = await tempDir()
    let origin = await open({ role: 'origin', rootSecret: root, storage: await fileStorage(originDir) })
    let phone = await open({ role: 'read-only', rootSecret: root, databaseKey: origin.key, storage: await fileStorage(phoneDir) })
    const databaseKey = origin.key
    const noiseKeys = [hex(origin.noiseKeyPair.publicKey), hex(phone.noiseKeyPair.publicKey)]
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
    // Each directory holds its device: Corestore's primary key and the device record.
    for (const dir of [originDir, phoneDir]) expect(await readdir(dir)).toEqual(expect.arrayContaining(['primary-key', DEVICE_RECORD_FILE]))

    // Reopen from the same directories, with no peers at all and no database key: each device
    // comes back as it was (whatever role it is opened with).
    origin = await open({ role: 'read-only', rootSecret: root, storage: await fileStorage(originDir) })
    phone = await open({ role: 'read-only', rootSecret: root, storage: await fileStorage(phoneDir) })
    expect(origin.role).toBe('origin')
    expect(phone.role).toBe('read-only')
    expect(hex(origin.key)).toBe(hex(databaseKey))
    expect(hex(phone.key)).toBe(hex(databaseKey))
    expect([hex(origin.noiseKeyPair.publicKey), hex(phone.noiseKeyPair.publicKey)]).toEqual(noiseKeys)
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
    await open({ role: 'origin', rootSecret: root, storage: await fileStorage(dir) })
    const second = new HyphaNode({ role: 'origin', rootSecret: root, storage: await fileStorage(dir) })
    second.on('error', () => {})
    // ready() rejects with a HyphaNodeError only; the lock error is its cause.
    const err = await second.ready().then(() => null, (e: Error) => e)
    expect(err).toBeInstanceOf(HyphaNodeError)
    expect((err as HyphaNodeError).code).toBe('ERR_STORAGE')
    expect(((err as HyphaNodeError).cause as { code?: string } | undefined)?.code).toBe('ELOCKED')
    await second.close().catch(() => {})
  })

  it('of two nodes opening one empty directory at once, the second is refused (ELOCKED): one database, the first keeps its writes', async () => {
    // Before primary-key was locked, both opened and each made a database of its own; the device
    // record written last won, and the other node's acknowledged writes were gone on reopening.
    const dir = await tempDir()
    const nodes = [await fileStorage(dir), await fileStorage(dir)].map((storage) => {
      const node = new HyphaNode({ role: 'origin', rootSecret: root, storage })
      node.on('error', () => {})
      cleanups.push(() => node.close())
      return node
    })
    const results = await Promise.allSettled(nodes.map((node) => node.ready()))
    const opened = nodes.filter((_, i) => results[i]!.status === 'fulfilled')
    expect(opened).toHaveLength(1)
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(refused.reason).toBeInstanceOf(HyphaNodeError)
    expect(refused.reason.code).toBe('ERR_STORAGE')
    expect((refused.reason.cause as { code?: string } | undefined)?.code).toBe('ELOCKED')

    const first = opened[0]!
    await first.put('kept', 'yes')
    const key = hex(first.key)
    await first.close()
    const again = await open({ role: 'read-only', rootSecret: root, storage: await fileStorage(dir), lookupTimeoutMs: 1 })
    expect(hex(again.key)).toBe(key)
    expect(await again.get('kept')).toBe('yes')
  })

  // A real full disk without root: the writer core's data file is a link to /dev/full, where every
  // write fails with ENOSPC from the kernel (Linux).
  for (const kind of ['fileStorage(dir)', 'the directory path'] as const) {
    it.skipIf(!existsSync('/dev/full'))(`a full disk (${kind}): the put rejects with ERR_STORAGE, the kernel's ENOSPC as cause; with room again it writes on`, async () => {
      const dir = await tempDir()
      const storage = async () => (kind === 'fileStorage(dir)' ? await fileStorage(dir) : dir)
      const first = new HyphaNode({ role: 'origin', rootSecret: root, storage: await storage() })
      await first.ready()
      await first.close()
      // The origin's writer core is the database core: its files are under its discovery key.
      const id = hex(first.discoveryKey)!
      const data = join(dir, 'cores', id.slice(0, 2), id.slice(2, 4), id, 'data')
      await mkdir(join(data, '..'), { recursive: true })
      await rm(data, { force: true })
      await symlink('/dev/full', data)

      const node = new HyphaNode({ role: 'origin', rootSecret: root, storage: await storage() })
      const errors: unknown[] = []
      node.on('error', (err) => errors.push(err))
      await node.ready()
      const err = await node.put('k', 'v').then(() => null, (e: unknown) => e)
      expect(err).toBeInstanceOf(HyphaNodeError)
      expect(err).toMatchObject({ code: 'ERR_STORAGE', cause: { code: 'ENOSPC' } })
      expect(errors).toEqual([err])
      await node.close()

      await rm(data)
      const again = await open({ role: 'origin', rootSecret: root, storage: await storage() })
      await again.put('after', 'room')
      expect(await again.get('after')).toBe('room')
    })
  }
})
