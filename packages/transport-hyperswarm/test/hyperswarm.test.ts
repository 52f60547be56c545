import { describe, it, expect } from 'vitest'
import b4a from 'b4a'
import createTestnet from 'hyperdht/testnet'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { nextEvent, until } from '@hypha/test-utils'
import { cleanups, createPeer, track, type Peer } from '@hypha/adapter-tests'
import { hyperswarmTransport, type HyperswarmTransport } from '../src/index.js'
import { TransportError, type ConnectionInfo, type TransportContext } from '@hypha/node-core'

// A local DHT testnet on 127.0.0.1, and every swarm's DHT bound to 127.0.0.1 (docs/design.md: with
// defaults, connections time out here and the machine's eth0 address must never be used).

async function startTestnet() {
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  cleanups.push(() => testnet.destroy())
  return testnet
}

type TestPeer = Peer & { transport: HyperswarmTransport }

/** A shared-suite test peer (RAM corestore, ephemeral channel, Noise key pair) on a started swarm. */
async function startPeer(topic: Uint8Array, bootstrap: Array<{ host: string; port: number }>): Promise<TestPeer> {
  const peer = await createPeer(topic)
  const transport = track(hyperswarmTransport({ bootstrap, host: '127.0.0.1' }))
  await transport.start(peer.context)
  return { ...peer, transport }
}

const hex = (bytes: Uint8Array): string => b4a.toString(bytes, 'hex')

function remoteKeys(peer: TestPeer): string[] {
  return peer.ephemeral.peers.map((p) => hex(p.remotePublicKey!)).sort()
}

/** Public keys announced on `topic`, as a fresh DHT client on the testnet sees them. */
async function announced(testnet: Awaited<ReturnType<typeof createTestnet>>, topic: Uint8Array): Promise<Set<string>> {
  const dht: any = testnet.createNode()
  const keys = new Set<string>()
  for await (const reply of dht.lookup(topic)) for (const peer of reply.peers) keys.add(hex(peer.publicKey))
  return keys
}

describe('hyperswarmTransport', { timeout: 30_000 }, () => {
  // The contract every transport keeps (replication, hand-over after Noise, stop, …) is in suite.test.ts.
  it('three swarms all connect; stop() unannounces and closes its connections', async () => {
    const testnet = await startTestnet()
    const discoveryKey = crypto.getRandomValues(new Uint8Array(32))
    const a = await startPeer(discoveryKey, testnet.bootstrap)
    const b = await startPeer(discoveryKey, testnet.bootstrap)
    const c = await startPeer(discoveryKey, testnet.bootstrap)
    await until(() => [a, b, c].every((p) => p.ephemeral.peers.length === 2), 20_000, 'a full mesh of three')

    await a.core.append(b4a.from('from a'))
    const atC = c.store.get({ key: a.core.key })
    expect(b4a.toString(await atC.get(0))).toBe('from a')
    const received = Promise.all([nextEvent(a.ephemeral, 'message'), nextEvent(b.ephemeral, 'message')])
    expect(c.ephemeral.broadcast(b4a.from('hi all'))).toBe(2)
    await received

    const keyA = hex(a.context.keyPair.publicKey)
    expect(await announced(testnet, discoveryKey)).toContain(keyA)

    // a stops: the others lose their connection to it, and it is no longer announced on the topic.
    const closedAtB = nextEvent(b.transport, 'disconnect')
    const closedAtC = nextEvent(c.transport, 'disconnect')
    await a.transport.stop()
    await Promise.all([closedAtB, closedAtC])
    expect(a.transport.connections).toEqual([])
    expect(remoteKeys(b)).toEqual([hex(c.context.keyPair.publicKey)])
    expect(remoteKeys(c)).toEqual([hex(b.context.keyPair.publicKey)])
    const left = await announced(testnet, discoveryKey)
    expect(left).not.toContain(keyA)
    expect(left).toContain(hex(b.context.keyPair.publicKey))
  })

  it('reports with TransportError like every transport: start guards, a throwing onConnection (ERR_HANDLER)', async () => {
    const testnet = await startTestnet()
    const topic = crypto.getRandomValues(new Uint8Array(32))
    const good = await startPeer(topic, testnet.bootstrap)
    await expect(good.transport.start(good.context)).rejects.toMatchObject({ name: 'TransportError', code: 'ERR_ALREADY_STARTED' })

    // A node whose onConnection throws: the connection is closed and reported, the transport keeps going.
    const broken = hyperswarmTransport({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })
    cleanups.push(() => broken.stop())
    const reported = nextEvent<[TransportError, ConnectionInfo]>(broken, 'connection-error')
    const closed = nextEvent<[ConnectionInfo]>(broken, 'disconnect')
    const context: TransportContext = {
      topic,
      keyPair: NoiseSecretStream.keyPair(),
      onConnection() {
        throw new Error('node bug')
      }
    }
    await broken.start(context)
    const [error, info] = await reported
    expect(error).toBeInstanceOf(TransportError)
    expect(error.code).toBe('ERR_HANDLER')
    expect((error.cause as Error).message).toBe('node bug')
    expect(info.transport).toBe('hyperswarm')
    await closed

    // A DHT handed over to a transport is destroyed by its stop(): it cannot be started again.
    const dht: any = testnet.createNode()
    const once = hyperswarmTransport({ dht })
    await once.start({ ...context, keyPair: NoiseSecretStream.keyPair(), onConnection: () => {} })
    await once.stop()
    await expect(once.start(context)).rejects.toMatchObject({ name: 'TransportError', code: 'ERR_DHT_DESTROYED' })
  })
})
