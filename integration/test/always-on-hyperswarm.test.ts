import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import createTestnet from 'hyperdht/testnet'
import type { HyphaNode, HyphaNodeOptions } from '@hypha/node-core'
import { hyperswarmTransport } from '@hypha/transport-hyperswarm'
import { tcpServer, tcpClient } from '@hypha/transport-tcp'
import { rootSecret, eventually, startNode } from '@hypha/adapter-tests'
import { cleanupsAfterEach, freePort } from '@hypha/test-utils'
import { count, expectAll, holdsAll, writeEntries } from './fixtures.js'

// Two always-on nodes of one account that are given no address of anything: every node (the
// origin, the phone, both always-on nodes, the new device) is on Hyperswarm only, on a local DHT
// testnet bound to 127.0.0.1. The always-on nodes find each other and the writers on the account's
// topic, keep both writers' cores, and either one alone serves a new device everything while the
// writers and the other always-on node are offline. And both ways at once: a configured TCP address
// and Hyperswarm, so two connections between the same pair.

const cleanups = cleanupsAfterEach(afterEach)
let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret()
})

const DEADLINE = 30_000
const hex = (b: Uint8Array) => b4a.toString(b, 'hex')

/** A local DHT testnet on 127.0.0.1, a Hyperswarm transport on it, and nodes started on that alone. */
async function swarmNetwork() {
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  cleanups.push(() => testnet.destroy())
  const swarm = () => hyperswarmTransport({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })
  const start = (options: HyphaNodeOptions) => startNode({ ...options, transports: [swarm()] }, cleanups)
  return { swarm, start }
}

describe('always-on nodes on Hyperswarm', { timeout: 120_000 }, () => {
  it('find each other and the writers on the topic; one alone serves a new device with the writers and the other node offline', async () => {
    const N = 200
    const { swarm, start } = await swarmNetwork()

    const origin = await start({ role: 'origin', rootSecret: root })
    const phone = await start({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, 'the phone becomes a writer', DEADLINE)
    const a1 = await start({ role: 'always-on', memberCredential: origin.memberCredential })
    const a2 = await start({ role: 'always-on', memberCredential: origin.memberCredential })
    // Nobody was given an address: all four found each other on the topic.
    await eventually(() => [origin, phone, a1, a2].every((n) => n.ephemeral.peers.filter((p) => p.opened).length === 3), 'a full mesh of four', DEADLINE)

    await writeEntries(origin, 'o/', N)
    await writeEntries(phone, 'p/', N)
    const writerKeys = [origin.writerKey!, phone.writerKey!].map(hex).sort()
    for (const [name, node] of [['A1', a1], ['A2', a2]] as const) {
      for (const writer of [origin, phone]) {
        await eventually(() => holdsAll(node, writer), `${name} holds the ${writer === origin ? 'origin' : 'phone'}'s oplog`, DEADLINE)
      }
      expect(node.seeded().map((c) => hex(c.key)).sort()).toEqual(writerKeys)
    }

    const databaseKey = origin.key
    await origin.close()
    await phone.close()
    await a1.close()

    const fresh = await start({ role: 'read-only', rootSecret: root, databaseKey })
    await eventually(async () => (await count(fresh, 'o/')) === N, "the origin's entries from A2", DEADLINE)
    await eventually(async () => (await count(fresh, 'p/')) === N, "the phone's entries from A2", DEADLINE)
    await expectAll(fresh, 'o/', N)
    await expectAll(fresh, 'p/', N)
    expect((await fresh.writers()).map((w) => hex(w.key)).sort()).toEqual(writerKeys)
    expect(fresh.ephemeral.peers.filter((p) => p.opened).map((p) => hex(p.remotePublicKey!))).toEqual([hex(a2.noiseKeyPair.publicKey)])
  })

  it('a second always-on node started after the writers went offline keeps every core from the first alone, then serves a new device by itself', async () => {
    const N = 200
    const { swarm, start } = await swarmNetwork()

    const origin = await start({ role: 'origin', rootSecret: root })
    const a1 = await start({ role: 'always-on', memberCredential: origin.memberCredential })
    const phone = await start({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, 'the phone becomes a writer', DEADLINE)
    await writeEntries(origin, 'o/', N)
    await writeEntries(phone, 'p/', N)
    for (const writer of [origin, phone]) await eventually(() => holdsAll(a1, writer), "A1 holds the writer's oplog", DEADLINE)
    const credential = origin.memberCredential
    const writerKeys = [origin.writerKey!, phone.writerKey!].map(hex).sort()
    await origin.close()
    await phone.close()

    // A2 meets only A1 (the only node left on the topic): both cores come from A1's announcement.
    const a2 = await start({ role: 'always-on', memberCredential: credential })
    await eventually(() => a2.seeded().map((c) => hex(c.key)).sort().join() === writerKeys.join(), 'A2 keeps both writers\' cores', DEADLINE)
    await eventually(() => a2.seeded().every((c) => c.contiguousLength > 0 && c.contiguousLength === a1.seeded().find((k) => hex(k.key) === hex(c.key))!.contiguousLength), 'A2 holds them whole', DEADLINE)
    await a1.close()

    // A fresh device given no database key: it looks the database up, and only A2 can answer.
    const fresh = await start({ role: 'read-only', rootSecret: root, lookupTimeoutMs: DEADLINE })
    expect(hex(fresh.key)).toBe(hex(a2.key))
    await eventually(async () => (await count(fresh, 'o/')) === N, "the origin's entries from A2", DEADLINE)
    await eventually(async () => (await count(fresh, 'p/')) === N, "the phone's entries from A2", DEADLINE)
    await expectAll(fresh, 'o/', N)
    await expectAll(fresh, 'p/', N)
  })

  it('always-on nodes linked both by a configured TCP address and on Hyperswarm (two connections between them) serve a Hyperswarm-only device', async () => {
    const N = 200
    const { swarm } = await swarmNetwork()
    const start = (options: HyphaNodeOptions) => startNode(options, cleanups)
    const port = await freePort()
    const dial = () => tcpClient({ port, host: '127.0.0.1', reconnect: { initialDelayMs: 20, maxDelayMs: 200 } })

    // The origin is on Hyperswarm only, the phone dials A1's address only; A2 does both.
    const origin = await start({ role: 'origin', rootSecret: root, transports: [swarm()] })
    const a1 = await start({ role: 'always-on', memberCredential: origin.memberCredential, transports: [tcpServer({ port, host: '127.0.0.1' }), swarm()] })
    const a2 = await start({ role: 'always-on', memberCredential: origin.memberCredential, transports: [dial(), swarm()] })
    const phone = await start({ role: 'read-only', rootSecret: root, databaseKey: origin.key, transports: [dial()] })
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, 'the phone becomes a writer', DEADLINE)
    await eventually(
      () => a2.connections.filter((c) => hex(c.stream.remotePublicKey!) === hex(a1.noiseKeyPair.publicKey)).map((c) => c.info.transport).sort().join() === 'hyperswarm,tcp',
      'A2 linked to A1 both ways',
      DEADLINE
    )
    await writeEntries(origin, 'o/', N)
    await writeEntries(phone, 'p/', N)
    for (const node of [a1, a2]) for (const writer of [origin, phone]) await eventually(() => holdsAll(node, writer), "an always-on node holds a writer's oplog", DEADLINE)
    await origin.close()
    await phone.close()
    await a1.close()

    const fresh = await start({ role: 'read-only', rootSecret: root, lookupTimeoutMs: DEADLINE, transports: [swarm()] })
    await eventually(async () => (await count(fresh, 'o/')) === N, "the origin's entries from A2", DEADLINE)
    await eventually(async () => (await count(fresh, 'p/')) === N, "the phone's entries from A2", DEADLINE)
    await expectAll(fresh, 'o/', N)
    await expectAll(fresh, 'p/', N)
  })
})
