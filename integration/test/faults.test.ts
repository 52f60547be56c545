import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { HyphaNode, memoryStorage, type Entry, type HyphaNodeOptions } from '@hypha/node-core'
import { tcpServer, tcpClient } from '@hypha/transport-tcp'
import { fileStorage } from '@hypha/storage-file'
import { connectNodes as connect } from '@hypha/test-utils'
import { rootSecret, eventually, startNode } from '@hypha/adapter-tests'
import { cleanupsAfterEach, freePort } from '@hypha/test-utils'

// Faults that must lose nothing: partitions, a node restarted from disk in the middle of a sync,
// the always-on relay killed and restarted in the middle of replication. Real nodes, real storage,
// real TCP on 127.0.0.1.

const cleanups = cleanupsAfterEach(afterEach)

let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret()
})

const HOST = '127.0.0.1'
const FAST = { initialDelayMs: 20, maxDelayMs: 200 }

const start = (options: HyphaNodeOptions) => startNode(options, cleanups)

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hypha-faults-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}


const summary = (entries: Entry[]) => entries.map((e) => `${e.key}=${String(e.value)}`)

async function writeEntries(node: HyphaNode, prefix: string, count: number, batch = 250): Promise<void> {
  for (let i = 0; i < count; i += batch) {
    const ops = []
    for (let j = i; j < Math.min(count, i + batch); j++) {
      ops.push({ type: 'put' as const, key: `${prefix}${String(j).padStart(6, '0')}`, value: `v${j}` })
    }
    await node.batch(ops)
  }
}

/** Every entry under `prefix` is there exactly once with its value. */
async function expectAll(node: HyphaNode, prefix: string, count: number): Promise<void> {
  const entries = await node.list({ gte: prefix, lt: prefix + '\xff' })
  expect(entries).toHaveLength(count)
  entries.forEach((e, i) => {
    expect(e.key).toBe(`${prefix}${String(i).padStart(6, '0')}`)
    expect(e.value).toBe(`v${i}`)
  })
}

async function listCount(node: HyphaNode, prefix: string): Promise<number> {
  await node.update()
  return (await node.list({ gte: prefix, lt: prefix + '\xff' })).length
}

describe('partitions', () => {
  it('two writers partitioned both write, reconnect, and converge to the same view', async () => {
    const origin = await start({ role: 'origin', rootSecret: root })
    const phone = await start({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    let disconnect = connect(origin, phone)
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, 'the phone to become a writer')

    disconnect() // the partition
    await origin.batch([
      { type: 'put', key: 'shared', value: 'from the laptop' },
      { type: 'put', key: 'laptop-only', value: 'L' }
    ])
    await phone.batch([
      { type: 'put', key: 'shared', value: 'from the phone' },
      { type: 'put', key: 'phone-only', value: 'P' }
    ])
    await phone.del('laptop-only') // a delete of something it has never seen: no effect once ordered
    expect(await origin.get('phone-only')).toBeNull()
    expect(await phone.get('laptop-only')).toBeNull()

    disconnect = connect(origin, phone)
    cleanups.push(disconnect)
    await eventually(async () => {
      await Promise.all([origin.update(), phone.update()])
      const [a, b] = await Promise.all([origin.list(), phone.list()])
      return a.length > 0 && JSON.stringify(summary(a)) === JSON.stringify(summary(b))
    }, 'both views to converge')
    const view = summary(await origin.list())
    expect(view).toContain('phone-only=P')
    expect(view.filter((e) => e.startsWith('shared='))).toHaveLength(1) // one winner, the same on both
  })
})

describe('restarts', () => {
  it('a node restarted from disk in the middle of a sync resumes and converges', async () => {
    const origin = await start({ role: 'origin', rootSecret: root })
    await writeEntries(origin, 'e/', 3000)
    const dir = await tempDir()

    const first = new HyphaNode({ role: 'read-only', rootSecret: root, databaseKey: origin.key, storage: await fileStorage(dir) })
    await first.ready()
    const disconnect = connect(origin, first)
    // Stop as soon as the sync has started (one key readable) — a read fetches blocks on demand,
    // so the rest of the view is not here yet.
    await eventually(async () => {
      await first.update()
      return (await first.get('e/000000')) === 'v0'
    }, 'the sync to start')
    disconnect()
    await first.close()

    // Reopened from its directory: its device record holds the database key.
    const again = await start({ role: 'read-only', rootSecret: root, storage: await fileStorage(dir) })
    expect(Buffer.from(again.key).equals(Buffer.from(origin.key))).toBe(true)
    expect(await again.get('e/000000')).toBe('v0') // what it had synced survived the restart, offline
    cleanups.push(connect(origin, again))
    await eventually(async () => (await listCount(again, 'e/')) === 3000, 'the restarted node to converge')
    await expectAll(again, 'e/', 3000)
  })
})

describe('the always-on relay', () => {
  it('killed and restarted in the middle of replication: every entry arrives once', async () => {
    const port = await freePort()
    const relayDir = await tempDir()
    // The origin first (its client re-dials until the relay is up): the database key is its writer key.
    const origin = await start({
      role: 'origin',
      rootSecret: root,
      transports: [tcpClient({ port, host: HOST, reconnect: FAST })]
    })
    const databaseKey = origin.key
    const startRelay = async () => {
      const relay = new HyphaNode({
        role: 'always-on',
        memberCredential: origin.memberCredential,
        storage: await fileStorage(relayDir),
        transports: [tcpServer({ port, host: HOST })]
      })
      await relay.ready()
      return relay
    }
    let relay = await startRelay()
    cleanups.push(() => relay.close()) // whichever relay runs at the end
    const reader = await start({
      role: 'read-only',
      rootSecret: root,
      databaseKey,
      storage: memoryStorage(),
      transports: [tcpClient({ port, host: HOST, reconnect: FAST })]
    })
    await writeEntries(origin, 'r/', 2000)
    await eventually(async () => {
      await reader.update()
      return (await reader.get('r/000000')) === 'v0'
    }, 'replication to start')

    await relay.close() // killed mid-replication
    await writeEntries(origin, 's/', 500) // written while there is no relay
    relay = await startRelay() // back, from its own disk, on the same port

    await eventually(async () => (await listCount(reader, 'r/')) === 2000, 'the first batch through the new relay')
    await eventually(async () => (await listCount(reader, 's/')) === 500, 'the entries written during the outage')
    await expectAll(reader, 'r/', 2000)
    await expectAll(reader, 's/', 500)
  })
})
