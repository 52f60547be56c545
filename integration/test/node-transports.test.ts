import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import * as datachannel from 'node-datachannel/polyfill'
import b4a from 'b4a'
import createTestnet from 'hyperdht/testnet'
import { nextEvent, cleanupsAfterEach, freePort } from '@hypha/test-utils'
import { HyphaNode, TransportError, type Transport, type HyphaNodeOptions } from '@hypha/node-core'
import { webSocketClient } from '@hypha/transport-websocket'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { tcpServer, tcpClient } from '@hypha/transport-tcp'
import { hyperswarmTransport } from '@hypha/transport-hyperswarm'
import { webRtcTransport, candidateAddress, signalCandidates, type Signal } from '@hypha/transport-webrtc'
import { signallingServer } from '@hypha/transport-webrtc/signalling-server'
import { nodeDatachannelWrtc } from '@hypha/transport-webrtc/node-datachannel'
import type { SecureMessage } from '@hypha/secure-channel'
import { rootSecret, eventually, startNode as startNodeWith } from '@hypha/adapter-tests'

// Two real nodes (origin + read-only from one root secret) on each transport, everything on
// 127.0.0.1: servers bind there, WebRTC binds ICE there and passes only 127.0.0.1 candidates, the
// Hyperswarm DHTs (and the testnet) are bound there. The read-only node is a new device given no
// database key: it meets the origin on the account's lookup topic and learns the key from it.

const only127 = (candidate: string): boolean => candidateAddress(candidate) === '127.0.0.1'
const wrtc = nodeDatachannelWrtc(datachannel, { bindAddress: '127.0.0.1' })

const cleanups = cleanupsAfterEach(afterEach)

let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret()
})

/** How to give two nodes one transport: the origin's transports first, then the read-only node's. */
interface TransportCase {
  name: string
  setup(): Promise<{
    origin(): Transport[]
    /** Called after the origin started (its servers have their ports). */
    readOnly(originTransports: Transport[]): Transport[]
    /** Checks only loopback was used, beyond each connection's remote address. */
    check?(): void
  }>
}

const cases: TransportCase[] = [
  {
    name: 'tcp',
    async setup() {
      return {
        origin: () => [tcpServer({ port: 0, host: '127.0.0.1' })],
        readOnly: ([server]) => [tcpClient({ port: (server as ReturnType<typeof tcpServer>).port!, host: '127.0.0.1' })]
      }
    }
  },
  {
    name: 'websocket',
    async setup() {
      return {
        origin: () => [webSocketServer({ port: 0, host: '127.0.0.1' })],
        readOnly: ([server]) => [
          webSocketClient({ url: `ws://127.0.0.1:${(server as ReturnType<typeof webSocketServer>).port}`, WebSocket: WebSocket as any })
        ]
      }
    }
  },
  {
    name: 'webrtc',
    async setup() {
      const signalling = await signallingServer({ port: 0, host: '127.0.0.1' })
      cleanups.push(() => signalling.close())
      const candidates: string[] = []
      signalling.on('relay', (relayed) => candidates.push(...signalCandidates(relayed.signal as Signal)))
      const transport = () =>
        webRtcTransport({ signallingUrl: signalling.url, wrtc, WebSocket: WebSocket as any, candidateFilter: only127 })
      return {
        origin: () => [transport()],
        readOnly: () => [transport()],
        check() {
          expect(candidates.length).toBeGreaterThan(0)
          expect(candidates.map(candidateAddress)).toEqual(candidates.map(() => '127.0.0.1'))
        }
      }
    }
  },
  {
    name: 'hyperswarm',
    async setup() {
      const testnet = await createTestnet(3, { host: '127.0.0.1' })
      cleanups.push(() => testnet.destroy())
      const transport = () => hyperswarmTransport({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })
      return { origin: () => [transport()], readOnly: () => [transport()] }
    }
  }
]

const startNode = (options: HyphaNodeOptions) => startNodeWith(options, cleanups)

const hex = (b: Uint8Array | null) => (b === null ? null : b4a.toString(b, 'hex'))
const text = (s: string) => b4a.from(s)

describe.each(cases)('two real nodes over $name', { timeout: 60_000 }, ({ name, setup }) => {
  it('replicate both ways once the read-only node is added, and exchange secure-channel messages', async () => {
    const transports = await setup()
    const origin = await startNode({ role: 'origin', rootSecret: root, transports: transports.origin() })
    await origin.put('from/origin', 'hello')
    const phone = await startNode({
      role: 'read-only',
      rootSecret: root,
      lookupTimeoutMs: 30_000,
      transports: transports.readOnly([...origin.transports])
    })
    expect(hex(phone.key)).toBe(hex(origin.key))
    expect(hex(phone.topic)).toBe(hex(origin.topic))

    // Data the origin wrote reaches the read-only node over this transport.
    await eventually(async () => (await phone.get('from/origin')) === 'hello', `origin data over ${name}`, 30_000)
    expect(phone.writable).toBe(false)

    // The read-only node becomes a writer; what it writes reaches the origin.
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, `phone writable over ${name}`, 30_000)
    await phone.put('from/phone', 'hi back')
    await eventually(async () => (await origin.get('from/phone')) === 'hi back', `phone data over ${name}`, 30_000)

    // The only connection is this transport's, between these two nodes, on loopback.
    for (const [self, other] of [[origin, phone], [phone, origin]] as const) {
      expect(self.connections.map((c) => c.info.transport)).toEqual([name])
      expect(self.connections.map((c) => hex(c.stream.remotePublicKey))).toEqual([hex(other.noiseKeyPair.publicKey)])
      for (const { info } of self.connections) expect(info.remote).toMatch(/^(ws:\/\/)?127\.0\.0\.1:\d+/)
    }
    transports.check?.()

    // Secure-channel messages, both ways, from the verified sender.
    await eventually(() => origin.ephemeral.peers.length === 1 && phone.ephemeral.peers.length === 1, 'ephemeral open')
    const atPhone = nextEvent<[SecureMessage]>(phone.channel, 'message')
    expect(origin.channel.send(text('ping'), { contentType: 'text/plain' }).peers).toBe(1)
    const [ping] = await atPhone
    expect(b4a.toString(ping.payload)).toBe('ping')
    // Envelopes are signed with the device's own channel key pair (not its Noise key pair).
    expect(hex(ping.sender)).toBe(hex(origin.channel.publicKey))
    expect(hex(origin.channel.publicKey)).not.toBe(hex(origin.noiseKeyPair.publicKey))

    const atOrigin = nextEvent<[SecureMessage]>(origin.channel, 'message')
    phone.channel.send(text('pong'))
    const [pong] = await atOrigin
    expect(b4a.toString(pong.payload)).toBe('pong')
    expect(hex(pong.sender)).toBe(hex(phone.channel.publicKey))
  })
})

describe('transport-error', () => {
  it('a node re-emits what its TCP and WebSocket transports report (a refused dial) as transport-error', async () => {
    const port = await freePort() // nothing listens there
    const tcp = tcpClient({ port, reconnect: { initialDelayMs: 20, maxDelayMs: 50 } })
    const ws = webSocketClient({ url: `ws://127.0.0.1:${port}`, WebSocket: WebSocket as any, reconnect: { initialDelayMs: 20, maxDelayMs: 50 } })
    const node = new HyphaNode({ role: 'origin', rootSecret: root, transports: [tcp, ws] })
    cleanups.push(() => node.close())
    const seen = new Map<string, unknown>()
    node.on('transport-error', (err, transport) => seen.set(transport.name, err))
    await node.ready()
    await eventually(() => seen.has('tcp') && seen.has('websocket'), 'an error from each transport')
    for (const name of ['tcp', 'websocket']) expect(seen.get(name)).toMatchObject({ name: 'TransportError', code: 'ERR_CONNECTION' })
  })

  it('and what its WebRTC transport reports (a signalling server that sends garbage) as transport-error', async () => {
    // A hostile signalling server: it lets the node join, then sends a frame that is not JSON.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    server.on('connection', (socket) => {
      socket.on('message', () => {
        socket.send(JSON.stringify({ type: 'peers', peers: [] }))
        socket.send('not json')
      })
    })
    await new Promise((resolve) => server.once('listening', resolve))
    const { port } = server.address() as { port: number }
    const rtc = webRtcTransport({ signallingUrl: `ws://127.0.0.1:${port}`, wrtc, WebSocket: WebSocket as any, candidateFilter: only127 })
    const node = new HyphaNode({ role: 'origin', rootSecret: root, transports: [rtc] })
    cleanups.push(() => node.close())
    const reported = nextEvent<[unknown, Transport]>(node, 'transport-error')
    await node.ready()
    const [error, transport] = await reported
    expect(transport).toBe(rtc)
    expect(error).toMatchObject({ name: 'TransportError', code: 'ERR_BAD_SIGNAL' })
  })

  it('and what its Hyperswarm transport reports (a peer that resets its connection) as transport-error', async () => {
    const testnet = await createTestnet(3, { host: '127.0.0.1' })
    cleanups.push(() => testnet.destroy())
    const swarm = hyperswarmTransport({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })
    const node = new HyphaNode({ role: 'origin', rootSecret: root, transports: [swarm] })
    cleanups.push(() => node.close())
    await node.ready()

    // A raw DHT peer dials the node's swarm by its key, then resets the UDX stream under the Noise
    // stream (no clean close): the node's side of the connection fails.
    const dht: any = testnet.createNode() // hyperdht's declarations here lack connect()
    const connected = nextEvent(node, 'connection')
    const reported = nextEvent<[unknown, Transport]>(node, 'transport-error')
    const conn = dht.connect(node.noiseKeyPair.publicKey)
    conn.on('error', () => {})
    await connected
    conn.rawStream.destroy()
    const [error, transport] = await reported
    expect(transport).toBe(swarm)
    expect(error).toBeInstanceOf(TransportError)
    expect(error).toMatchObject({ name: 'TransportError', code: 'ERR_CONNECTION', cause: { code: 'ECONNRESET' } })
  })
})
