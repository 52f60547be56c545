import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import b4a from 'b4a'
import { fileStorage } from '@hypha/storage-file'
import { HyphaNode, type HyphaNodeOptions } from '@hypha/node-core'
import { tcpServer, tcpClient } from '@hypha/transport-tcp'
import { rootSecret, eventually, startNode } from '@hypha/adapter-tests'
import { cleanupsAfterEach, freePort } from '@hypha/test-utils'
import { count, expectAll, holdsAll, writeEntries } from './fixtures.js'

// Several always-on nodes for one account, real nodes over real TCP on 127.0.0.1. Each always-on
// node announces (sealed with the member key) the writer cores it keeps, so an announcement made
// to one reaches them all however they are connected: a device that meets only the farthest one
// reads every writer's entries while the origin, the other writer and the nearer nodes are gone.

const cleanups = cleanupsAfterEach(afterEach)
let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret()
})

const HOST = '127.0.0.1'
const FAST = { initialDelayMs: 20, maxDelayMs: 200 }
const DEADLINE = 30_000
const start = (options: HyphaNodeOptions) => startNode(options, cleanups)
const dial = (port: number) => tcpClient({ port, host: HOST, reconnect: FAST })
const hex = (b: Uint8Array) => b4a.toString(b, 'hex')

/**
 * The origin, a second writer (the phone) and three always-on nodes, connected as `links` says
 * (pairs of always-on indexes: the second dials the first's TCP server). The origin dials A1, the
 * phone dials `phoneTo`. Both writers write `n` entries; resolves once every always-on node holds
 * both oplogs whole.
 */
async function setUp(links: Array<[number, number]>, phoneTo: number, n: number) {
  const ports: [number, number, number] = [await freePort(), await freePort(), await freePort()]
  const origin = await start({ role: 'origin', rootSecret: root, transports: [dial(ports[0])] })
  const alwaysOn: HyphaNode[] = []
  for (let i = 0; i < 3; i++) {
    const dials = links.filter(([, from]) => from === i).map(([to]) => dial(ports[to]!))
    alwaysOn.push(
      await start({
        role: 'always-on',
        memberCredential: origin.memberCredential,
        transports: [tcpServer({ port: ports[i]!, host: HOST }), ...dials]
      })
    )
  }
  const phone = await start({ role: 'read-only', rootSecret: root, databaseKey: origin.key, transports: [dial(ports[phoneTo]!)] })
  await origin.addWriter(phone.writerKey!)
  await eventually(() => phone.writable, 'the phone becomes a writer', DEADLINE)

  await writeEntries(origin, 'o/', n)
  await writeEntries(phone, 'p/', n)
  // Each writer's entries reach the other through the always-on nodes (the writers are not linked).
  await eventually(async () => (await count(origin, 'p/')) === n, "the origin has the phone's entries", DEADLINE)
  await eventually(async () => (await count(phone, 'o/')) === n, "the phone has the origin's entries", DEADLINE)
  for (const [i, node] of alwaysOn.entries()) {
    for (const writer of [origin, phone]) {
      await eventually(() => holdsAll(node, writer), `A${i + 1} holds the ${writer === origin ? 'origin' : 'phone'}'s oplog`, DEADLINE)
    }
  }
  return { ports, origin, phone, alwaysOn: alwaysOn as [HyphaNode, HyphaNode, HyphaNode] }
}

describe('several always-on nodes for one account', { timeout: 120_000 }, () => {
  it('a chain origin—A1—A2—A3: a new device that meets only A3 gets every writer\'s entries with the origin and the phone offline', async () => {
    const N = 300
    // A2 dials A1, A3 dials A2: each always-on node is linked to its neighbours only.
    const { ports, origin, phone, alwaysOn } = await setUp([[0, 1], [1, 2]], 0, N)
    const [, a2, a3] = alwaysOn
    // The phone's core reached A2 and A3 only through the always-on nodes' own announcements.
    for (const node of [a2, a3]) {
      expect(node.seeded().map((c) => hex(c.key)).sort()).toEqual([hex(origin.key), hex(phone.writerKey!)].sort())
    }
    expect(a3.ephemeral.peers.filter((p) => p.opened)).toHaveLength(1) // A2 only

    const writerKeys = [origin.writerKey!, phone.writerKey!]
    await origin.close()
    await phone.close()

    // A fresh device of the account (new storage, given no database key): it looks the database
    // up, and only A3 can answer.
    const fresh = await start({ role: 'read-only', rootSecret: root, lookupTimeoutMs: DEADLINE, transports: [dial(ports[2])] })
    expect(hex(fresh.key)).toBe(hex(a3.key))
    await eventually(async () => (await count(fresh, 'o/')) === N, "the origin's entries from A3", DEADLINE)
    await eventually(async () => (await count(fresh, 'p/')) === N, "the phone's entries from A3", DEADLINE)
    await expectAll(fresh, 'o/', N)
    await expectAll(fresh, 'p/', N)
    expect((await fresh.writers()).map((w) => hex(w.key)).sort()).toEqual(writerKeys.map(hex).sort())
    expect(fresh.ephemeral.peers.filter((p) => p.opened)).toHaveLength(1) // A3 only
  })

  it('a triangle: the new device keeps syncing when an always-on node is killed mid-sync', async () => {
    const N = 1000
    // Every pair linked; the origin dials A1, the phone A2.
    const { ports, origin, phone, alwaysOn } = await setUp([[0, 1], [0, 2], [1, 2]], 1, N)
    const [a1] = alwaysOn
    const databaseKey = origin.key
    await origin.close()
    await phone.close()

    const fresh = new HyphaNode({ role: 'read-only', rootSecret: root, databaseKey, transports: ports.map(dial) })
    cleanups.push(() => fresh.close())
    // A1 goes as soon as the device applied its first entries: the rest must come from A2 and A3.
    await fresh.ready()
    let before = 0
    await eventually(async () => (before = (await fresh.list({ gte: 'o/', lt: 'p/\xff' })).length) > 0, 'the first entries', DEADLINE)
    await a1.close()

    await eventually(async () => (await count(fresh, 'o/')) === N, "the origin's entries from A2 and A3", DEADLINE)
    await eventually(async () => (await count(fresh, 'p/')) === N, "the phone's entries from A2 and A3", DEADLINE)
    await expectAll(fresh, 'o/', N)
    await expectAll(fresh, 'p/', N)
    // Not an assertion (timing): how far the device was when A1 went.
    console.log(`triangle: ${before} of ${2 * N} entries applied when A1 was killed`)
  })
})

describe('an always-on node restarted from disk', { timeout: 60_000 }, () => {
  it('keeps and announces again the cores it kept, with no member online', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hypha-kept-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const [port, port2] = [await freePort(), await freePort()]
    const origin = await start({ role: 'origin', rootSecret: root, transports: [dial(port)] })
    const credential = origin.memberCredential
    const startA1 = async () =>
      start({
        role: 'always-on',
        memberCredential: credential,
        storage: await fileStorage(dir),
        transports: [tcpServer({ port, host: HOST })]
      })
    let a1 = await startA1()
    const phone = await start({ role: 'read-only', rootSecret: root, databaseKey: origin.key, transports: [dial(port)] })
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, 'the phone becomes a writer', DEADLINE)
    await writeEntries(phone, 'p/', 100)
    await eventually(() => holdsAll(a1, phone), "A1 holds the phone's oplog", DEADLINE)
    const kept = [hex(origin.key), hex(phone.writerKey!)].sort()
    await origin.close()
    await phone.close()
    await a1.close()

    a1 = await startA1()
    expect(a1.seeded().map((core) => hex(core.key)).sort()).toEqual(kept)
    // A second always-on node that meets only A1 learns the phone's core from A1 alone.
    const a2 = await start({
      role: 'always-on',
      memberCredential: credential,
      transports: [tcpServer({ port: port2, host: HOST }), dial(port)]
    })
    await eventually(() => a2.seeded().map((core) => hex(core.key)).sort().join() === kept.join(), 'A2 keeps what A1 kept', DEADLINE)
    const fresh = await start({ role: 'read-only', rootSecret: root, databaseKey: a1.key, transports: [dial(port2)] })
    await eventually(async () => (await count(fresh, 'p/')) === 100, "the phone's entries through A2", DEADLINE)
    await expectAll(fresh, 'p/', 100)
  })
})
