// One file on purpose (over 400 lines): every WebRTC test beyond the shared transport suite, all on
// one loopback signalling server and node-datachannel set-up, so the cases read side by side.
import { describe, it, expect, afterEach } from 'vitest'
import http from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { WebSocket } from 'ws'
import * as datachannel from 'node-datachannel/polyfill'
import b4a from 'b4a'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { EphemeralExtension, type EphemeralMessage } from '@hypha/ephemeral-ext'
import { createStore, nextEvent, until } from '@hypha/test-utils'
import {
  webRtcTransport,
  isLoopbackCandidate,
  candidateAddress,
  filterSignal,
  signalCandidates,
  joinProof,
  SIGNALLING_PROOF_PURPOSE,
  type WebRtcTransport,
  type WebRtcConnectionInfo,
  type Signal
} from '../src/index.js'
import { nodeDatachannelWrtc } from '../src/node-datachannel.js'
import { signallingServer, SignallingServer, type SignallingServerOptions, type RelayedSignal } from '../src/signalling-server.js'
import { TransportError, type ConnectionInfo, type TransportContext } from '@hypha/node-core'
import { memberProof } from '@hypha/node-core/transport'

// Everything here runs on 127.0.0.1: the signalling server listens there, ICE binds to 127.0.0.1
// only (node-datachannel's bindAddress), and only 127.0.0.1 candidates are sent or accepted. The
// machine's eth0 address must never be used. (@roamhq/wrtc cannot be confined like this: with
// candidates filtered it still sends checks from its eth0 socket to 127.0.0.1 and picks that pair.)
const only127 = (candidate: string): boolean => candidateAddress(candidate) === '127.0.0.1'
const wrtc = nodeDatachannelWrtc(datachannel, { bindAddress: '127.0.0.1' })

// The account's member key in these tests: every transport proves it when it joins (from its
// TransportContext, as HyphaNode passes it); the servers admit its holders only.
const MEMBER_KEY = new Uint8Array(32).fill(7)
const OTHER_KEY = new Uint8Array(32).fill(9)

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  // Reverse order: transports before the server they signal through, stores last.
  while (cleanups.length) await cleanups.pop()!()
})

interface TestPeer {
  store: any
  core: any
  ephemeral: EphemeralExtension
  context: TransportContext
  connections: Array<{ stream: any; info: ConnectionInfo }>
  transport: WebRtcTransport | null
  start(): Promise<WebRtcTransport>
}

async function startServer(): Promise<{ server: SignallingServer; relayed: RelayedSignal[] }> {
  const server = await signallingServer({ port: 0, host: '127.0.0.1', authorise: (join) => join.proves(MEMBER_KEY) })
  cleanups.push(() => server.close())
  const relayed: RelayedSignal[] = []
  server.on('relay', (message) => relayed.push(message))
  return { server, relayed }
}

/** A peer built from real parts: an in-memory Corestore, the ephemeral extension, a Noise key pair. */
async function createPeer(discoveryKey: Uint8Array, signallingUrl: string, memberKey: Uint8Array | null = MEMBER_KEY): Promise<TestPeer> {
  const { store, core } = await createStore()
  const ephemeral = new EphemeralExtension({ discoveryKey })
  const connections: TestPeer['connections'] = []
  const context: TransportContext = {
    topic: discoveryKey,
    keyPair: NoiseSecretStream.keyPair(),
    ...(memberKey ? { memberKey } : {}),
    onConnection(stream, info) {
      connections.push({ stream, info })
      store.replicate(stream)
      ephemeral.attach(stream)
    }
  }
  const peer: TestPeer = {
    store,
    core,
    ephemeral,
    context,
    connections,
    transport: null,
    async start() {
      const transport = webRtcTransport({
        signallingUrl,
        wrtc,
        WebSocket: WebSocket as any,
        candidateFilter: only127,
        reconnect: { initialDelayMs: 50 } // re-dial soon after a drop (a back-off start, not a test deadline)
      })
      peer.transport = transport
      cleanups.push(() => transport.stop())
      await transport.start(context)
      return transport
    }
  }
  cleanups.push(async () => {
    ephemeral.close()
    await store.close()
  })
  return peer
}

function randomDiscoveryKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32))
}

function remotePublicKeys(peer: TestPeer): string[] {
  return peer.ephemeral.peers.map((p) => b4a.toString(p.remotePublicKey!, 'hex')).sort()
}

function hex(bytes: Uint8Array): string {
  return b4a.toString(bytes, 'hex')
}

/** The join proof (hex) for a challenge (hex) the server sent. */
function proofFor(memberKey: Uint8Array, challenge: string, room: string, peer: string): string {
  return hex(joinProof(memberKey, b4a.from(challenge, 'hex'), room, peer))
}

/** Every ICE candidate that went through the signalling server. */
function relayedCandidates(relayed: RelayedSignal[]): string[] {
  return relayed.flatMap((r) => signalCandidates(r.signal as Signal))
}

describe('join proof', () => {
  it('is memberProof(member key, "hypha/signalling/1", challenge ‖ room bytes ‖ UTF-8 peer id), 32 bytes', () => {
    const challenge = new Uint8Array(32).fill(1)
    const room = 'ab'.repeat(32)
    const proof = joinProof(MEMBER_KEY, challenge, room, 'peer-1234')
    const message = b4a.concat([challenge, b4a.from(room, 'hex'), b4a.from('peer-1234')])
    expect(hex(proof)).toBe(hex(memberProof(MEMBER_KEY, SIGNALLING_PROOF_PURPOSE, message)))
    expect(SIGNALLING_PROOF_PURPOSE).toBe('hypha/signalling/1')
    expect(proof.byteLength).toBe(32)
    // Every part counts.
    const others = [
      joinProof(OTHER_KEY, challenge, room, 'peer-1234'),
      joinProof(MEMBER_KEY, new Uint8Array(32).fill(2), room, 'peer-1234'),
      joinProof(MEMBER_KEY, challenge, 'cd'.repeat(32), 'peer-1234'),
      joinProof(MEMBER_KEY, challenge, room, 'peer-1235')
    ]
    expect(new Set([proof, ...others].map(hex)).size).toBe(5)
  })
})

describe('candidate filtering', () => {
  const lo = 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0'
  const eth0 = 'candidate:2 1 udp 2122194687 10.1.2.3 50001 typ host generation 0'

  it('reads addresses and keeps only loopback candidates, trickled or in an SDP', () => {
    expect(candidateAddress(lo)).toBe('127.0.0.1')
    expect(candidateAddress('a=' + eth0)).toBe('10.1.2.3')
    expect(candidateAddress('not a candidate')).toBeNull()
    expect(isLoopbackCandidate(lo)).toBe(true)
    expect(isLoopbackCandidate(eth0)).toBe(false)
    expect(isLoopbackCandidate('candidate:4 1 udp 1 ::1 5 typ host')).toBe(true)
    expect(isLoopbackCandidate('candidate:3 1 udp 1 abcd.local 5 typ host')).toBe(false)

    const sdpIn = ['v=0', 'a=' + lo, 'a=' + eth0, 'a=end-of-candidates', ''].join('\r\n')
    const filtered = filterSignal({ type: 'offer', sdp: sdpIn }, isLoopbackCandidate) as Signal
    expect(signalCandidates(filtered)).toEqual([lo])
    expect(filtered.type === 'offer' && filtered.sdp.includes('a=end-of-candidates')).toBe(true)
    expect(filterSignal({ type: 'candidate', candidate: { candidate: eth0, sdpMLineIndex: 0 } }, isLoopbackCandidate)).toBeNull()
    expect(filterSignal({ type: 'candidate', candidate: { candidate: lo, sdpMLineIndex: 0 } }, isLoopbackCandidate)).not.toBeNull()
  })
})

describe('webRtcTransport', { timeout: 30_000 }, () => {
  // The contract every transport keeps (replication, hand-over after Noise, stop, …) is in suite.test.ts.
  it('two Node peers connect over loopback only; the newer joiner dials', async () => {
    const { server, relayed } = await startServer()
    const a = await createPeer(randomDiscoveryKey(), server.url)
    const b = await createPeer(a.context.topic, server.url)

    const openA = nextEvent(a.ephemeral, 'peer-open')
    const openB = nextEvent(b.ephemeral, 'peer-open')
    await a.start()
    await b.start()
    await Promise.all([openA, openB])

    // One connection per pair; the newer joiner (b) initiated.
    expect(a.connections.map((c) => c.info.isInitiator)).toEqual([false])
    expect(b.connections.map((c) => c.info.isInitiator)).toEqual([true])
    expect(remotePublicKeys(a)).toEqual([hex(b.context.keyPair.publicKey)])

    // Loopback only: every candidate exchanged, and the address each side actually connected to.
    const candidates = relayedCandidates(relayed)
    expect(candidates.length).toBeGreaterThan(0)
    expect(candidates.map(candidateAddress)).toEqual(candidates.map(() => '127.0.0.1'))
    for (const { info } of [...a.connections, ...b.connections]) {
      expect(info.remote).toMatch(/^127\.0\.0\.1:\d+$/)
      expect((info as WebRtcConnectionInfo).local).toMatch(/^127\.0\.0\.1:\d+$/)
    }
  })

  it('a later joiner connects to both; a peer that leaves is dropped and reconnected when it re-joins', async () => {
    const { server, relayed } = await startServer()
    const a = await createPeer(randomDiscoveryKey(), server.url)
    const b = await createPeer(a.context.topic, server.url)
    const c = await createPeer(a.context.topic, server.url)
    await a.core.append(b4a.from('from a'))

    const ab = Promise.all([nextEvent(a.ephemeral, 'peer-open'), nextEvent(b.ephemeral, 'peer-open')])
    await a.start()
    await b.start()
    await ab

    await c.start()
    await until(() => c.ephemeral.peers.length === 2 && a.ephemeral.peers.length === 2 && b.ephemeral.peers.length === 2, 15_000, 'c connected to a and b')
    expect(c.connections.map((x) => x.info.isInitiator)).toEqual([true, true])
    expect(remotePublicKeys(c)).toEqual([hex(a.context.keyPair.publicKey), hex(b.context.keyPair.publicKey)].sort())

    const replica = c.store.get({ key: a.core.key })
    expect(b4a.toString(await replica.get(0))).toBe('from a')
    const atA = nextEvent(a.ephemeral, 'message')
    const atB = nextEvent(b.ephemeral, 'message')
    expect(c.ephemeral.broadcast(b4a.from('hi from c'))).toBe(2)
    await Promise.all([atA, atB])

    // c leaves: a and b drop their connection to it.
    const cId = c.transport!.peerId
    const closedAtA = nextEvent(a.transport!, 'peer-close', (id) => id === cId)
    const closedAtB = nextEvent(b.transport!, 'peer-close', (id) => id === cId)
    await c.transport!.stop()
    await Promise.all([closedAtA, closedAtB])
    expect(a.transport!.peerIds).toEqual([b.transport!.peerId])
    expect(b.transport!.peerIds).toEqual([a.transport!.peerId])

    // c re-joins (a new transport, new room id): both connect to it again.
    await c.start()
    await until(() => c.ephemeral.peers.length === 2 && a.ephemeral.peers.length === 2 && b.ephemeral.peers.length === 2, 15_000, 'c reconnected')
    expect(a.transport!.connectedPeerIds.sort()).toEqual([b.transport!.peerId, c.transport!.peerId].sort())

    const candidates = relayedCandidates(relayed)
    expect(candidates.length).toBeGreaterThan(0)
    expect(candidates.map(candidateAddress)).toEqual(candidates.map(() => '127.0.0.1'))
  })

  it('re-dials a dropped connection while both peers stay in the room', async () => {
    const { server } = await startServer()
    const a = await createPeer(randomDiscoveryKey(), server.url)
    const b = await createPeer(a.context.topic, server.url)
    const opened = Promise.all([nextEvent(a.ephemeral, 'peer-open'), nextEvent(b.ephemeral, 'peer-open')])
    await a.start()
    await b.start()
    await opened

    // a's node closes the connection (as on a network drop): b, which dialled, dials again.
    const reopened = Promise.all([nextEvent(a.ephemeral, 'peer-open'), nextEvent(b.ephemeral, 'peer-open')])
    a.connections[0]!.stream.destroy()
    await reopened
    expect(a.connections).toHaveLength(2)
    expect(b.connections.map((c) => c.info.isInitiator)).toEqual([true, true])
    expect(a.transport!.connectedPeerIds).toEqual([b.transport!.peerId])

    const atA = nextEvent<[EphemeralMessage]>(a.ephemeral, 'message')
    expect(b.ephemeral.broadcast(b4a.from('again'))).toBe(1)
    expect(b4a.toString((await atA)[0].payload)).toBe('again')
  })

  it('drops a peer that disappears mid-handshake, without unhandled errors', async () => {
    const { server } = await startServer()
    const discoveryKey = randomDiscoveryKey()
    // A raw signalling client joins first, then vanishes as soon as the real peer's offer arrives.
    const ghost = new WebSocket(server.url)
    cleanups.push(() => ghost.terminate())
    const [challenge] = await nextEvent<[Buffer]>(ghost, 'message')
    const proof = proofFor(MEMBER_KEY, JSON.parse(challenge.toString()).challenge, hex(discoveryKey), 'ghost-peer-1')
    ghost.send(JSON.stringify({ type: 'join', room: hex(discoveryKey), peer: 'ghost-peer-1', proof }))
    await nextEvent(ghost, 'message')

    const a = await createPeer(discoveryKey, server.url)
    // (node-datachannel may trickle a candidate before the offer: wait for the offer itself.)
    const offered = nextEvent<[Buffer]>(ghost, 'message', (data) => JSON.parse(data.toString()).signal?.type === 'offer')
    const transport = await a.start()
    expect(transport.peerIds).toEqual(['ghost-peer-1'])
    expect(JSON.parse((await offered)[0].toString())).toMatchObject({ type: 'signal', from: transport.peerId, to: 'ghost-peer-1' })

    const closed = nextEvent<[string, Error | null]>(transport, 'peer-close')
    ghost.terminate()
    const [id, error] = await closed
    expect(id).toBe('ghost-peer-1')
    expect((error as { code?: string } | null)?.code).toBe('ERR_PEER_LEFT')
    expect(transport.peerIds).toEqual([])
    expect(a.connections).toEqual([])
  })

  it('start() rejects with a typed error when the signalling server is unreachable', async () => {
    // A port that was just free on loopback: nothing listens there.
    const probe = http.createServer().listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const { port } = probe.address() as AddressInfo
    await new Promise((resolve) => probe.close(resolve))

    const a = await createPeer(randomDiscoveryKey(), `ws://127.0.0.1:${port}/hypha-signal`)
    await expect(a.start()).rejects.toMatchObject({ code: 'ERR_SIGNALLING_UNREACHABLE' })
  })

  it('start guards and bad options fail with TransportError, as on every transport', async () => {
    const { server } = await startServer()
    const a = await createPeer(randomDiscoveryKey(), server.url)
    const transport = await a.start()
    await expect(transport.start(a.context)).rejects.toMatchObject({ name: 'TransportError', code: 'ERR_ALREADY_STARTED' })
    expect(() => webRtcTransport({ signallingUrl: 'http://127.0.0.1:1' })).toThrow(TransportError)
    expect(() => webRtcTransport({ signallingUrl: server.url, handshakeTimeoutMs: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    expect(() => webRtcTransport({ signallingUrl: server.url, reconnect: { factor: 0.5 } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    // Node 20 has no global WebSocket: without the option, start() says which part is missing.
    const noWebSocket = webRtcTransport({ signallingUrl: server.url, wrtc })
    await expect(noWebSocket.start(a.context)).rejects.toMatchObject({ name: 'TransportError', code: 'ERR_NO_WEBSOCKET' })
    expect(() => webRtcTransport({ signallingUrl: server.url, memberKey: new Uint8Array(16) })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
  })

  it('start() rejects with ERR_NOT_A_MEMBER without the room\'s member key; the option overrides the context\'s', async () => {
    const room = randomDiscoveryKey()
    const server = await signallingServer({ port: 0, host: '127.0.0.1', rooms: [[hex(room), MEMBER_KEY]] })
    cleanups.push(() => server.close())
    const rejected: string[] = []
    server.on('rejected', (err) => rejected.push(err.code))

    const noKey = await createPeer(room, server.url, null)
    await expect(noKey.start()).rejects.toMatchObject({ name: 'TransportError', code: 'ERR_NOT_A_MEMBER' })
    const wrongKey = await createPeer(room, server.url, OTHER_KEY)
    await expect(wrongKey.start()).rejects.toMatchObject({ code: 'ERR_NOT_A_MEMBER' })
    // The right key for another room is no key for this one.
    const otherRoom = await createPeer(randomDiscoveryKey(), server.url)
    await expect(otherRoom.start()).rejects.toMatchObject({ code: 'ERR_NOT_A_MEMBER' })
    expect(rejected).toEqual(['ERR_NOT_A_MEMBER', 'ERR_NOT_A_MEMBER', 'ERR_NOT_A_MEMBER'])
    expect(server.roomSize(hex(room))).toBe(0)

    // A member joins; the option's key wins over the context's.
    const member = await createPeer(room, server.url, OTHER_KEY)
    const transport = webRtcTransport({ signallingUrl: server.url, wrtc, WebSocket: WebSocket as any, memberKey: MEMBER_KEY })
    cleanups.push(() => transport.stop())
    await transport.start(member.context)
    expect(server.roomSize(hex(room))).toBe(1)
  })
})

describe('signallingServer', () => {
  /** A signalling server attached to an HTTP server that also serves other paths. */
  async function sharedServer(options: Omit<SignallingServerOptions, 'server'> = { authorise: (join) => join.proves(MEMBER_KEY) }) {
    const httpServer = http.createServer((_req, res) => res.end('page'))
    httpServer.listen(0, '127.0.0.1')
    await once(httpServer, 'listening')
    cleanups.push(() => new Promise((resolve) => { httpServer.closeAllConnections(); httpServer.close(resolve) }))
    const server = await signallingServer({ server: httpServer, ...options })
    cleanups.push(() => server.close())
    const rejected: TransportError[] = []
    server.on('rejected', (err) => rejected.push(err))
    return { server, rejected, url: server.url }
  }

  interface Client {
    ws: WebSocket
    /** Hex of the server's challenge (its first frame). */
    challenge: string
    messages: any[]
    next(): Promise<any>
    closed: Promise<number>
    /** Sends a join with a proof under `memberKey` (none: no proof). */
    join(room: string, peer: string, memberKey?: Uint8Array): void
  }

  async function client(url: string): Promise<Client> {
    const ws = new WebSocket(url)
    cleanups.push(() => ws.terminate())
    const messages: any[] = []
    const waiting: Array<(m: any) => void> = []
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString())
      const w = waiting.shift()
      if (w) w(m)
      else messages.push(m)
    })
    ws.on('error', () => {})
    const closed = once(ws, 'close').then(([code]) => code as number)
    await once(ws, 'open')
    const next = () => (messages.length ? Promise.resolve(messages.shift()) : new Promise((resolve) => waiting.push(resolve)))
    const first = await next()
    expect(first).toMatchObject({ type: 'challenge', challenge: expect.stringMatching(/^[0-9a-f]{64}$/) })
    const challenge: string = first.challenge
    return {
      ws,
      challenge,
      messages,
      next,
      closed,
      join(room, peer, memberKey) {
        const proof = memberKey ? { proof: proofFor(memberKey, challenge, room, peer) } : {}
        ws.send(JSON.stringify({ type: 'join', room, peer, ...proof }))
      }
    }
  }

  async function joined(url: string, room: string, peer: string, memberKey: Uint8Array = MEMBER_KEY) {
    const c = await client(url)
    c.join(room, peer, memberKey)
    expect((await c.next()).type).toBe('peers')
    return c
  }

  it('shares an HTTP server: serves its path, leaves the page alone, tells joiners who is there', async () => {
    const { url, server } = await sharedServer()
    const page = await fetch(url.replace('ws://', 'http://').replace('/hypha-signal', '/'))
    expect(await page.text()).toBe('page')

    const room = 'ab'.repeat(32)
    const x = await joined(url, room, 'peer-xxxx')
    const y = await client(url)
    y.join(room, 'peer-yyyy', MEMBER_KEY)
    expect(await y.next()).toEqual({ type: 'peers', peers: ['peer-xxxx'] })
    expect(server.roomSize(room)).toBe(2)

    // A forged `from` is ignored: the server stamps the sender's id.
    y.ws.send(JSON.stringify({ type: 'signal', to: 'peer-xxxx', from: 'peer-zzzz', signal: { type: 'offer', sdp: 'v=0' } }))
    expect(await x.next()).toEqual({ type: 'signal', from: 'peer-yyyy', to: 'peer-xxxx', signal: { type: 'offer', sdp: 'v=0' } })

    y.ws.close()
    expect(await x.next()).toEqual({ type: 'left', peer: 'peer-yyyy' })
  })

  it('rejects bad input by closing that socket, and keeps serving everyone else', async () => {
    const { url, rejected } = await sharedServer({ maxMessageBytes: 4096, authorise: (join) => join.proves(MEMBER_KEY) })
    const room1 = '11'.repeat(32)
    const room2 = '22'.repeat(32)

    const notJson = await client(url)
    notJson.ws.send('{not json')
    expect(await notJson.closed).toBe(4400)

    const tooBig = await joined(url, room1, 'peer-big1')
    tooBig.ws.send(JSON.stringify({ type: 'signal', to: 'peer-none', signal: { type: 'offer', sdp: 'x'.repeat(8192) } }))
    expect(await tooBig.closed).toBe(1009)

    const early = await client(url)
    early.ws.send(JSON.stringify({ type: 'signal', to: 'peer-xxxx', signal: {} }))
    expect(await early.closed).toBe(4400)

    const badRoom = await client(url)
    badRoom.join('not-hex', 'peer-0000')
    expect(await badRoom.closed).toBe(4400)

    const x = await joined(url, room1, 'peer-xxxx')
    const dup = await client(url)
    dup.join(room1, 'peer-xxxx', MEMBER_KEY)
    expect(await dup.closed).toBe(4409)

    // A signal to a member of another room is not delivered; the sender is told.
    const y = await joined(url, room2, 'peer-yyyy')
    const z = await joined(url, room2, 'peer-zzzz')
    x.ws.send(JSON.stringify({ type: 'signal', to: 'peer-yyyy', signal: { type: 'offer', sdp: 'from room1' } }))
    expect(await x.next()).toEqual({ type: 'error', code: 'ERR_UNKNOWN_PEER', peer: 'peer-yyyy' })
    // The server handled x's message before replying, so had it been relayed it would reach y
    // before this one from its own room.
    z.ws.send(JSON.stringify({ type: 'signal', to: 'peer-yyyy', signal: { type: 'answer', sdp: 'from room2' } }))
    expect(await y.next()).toEqual({ type: 'signal', from: 'peer-zzzz', to: 'peer-yyyy', signal: { type: 'answer', sdp: 'from room2' } })

    expect(rejected.map((e) => e.code)).toEqual([
      'ERR_BAD_SIGNAL',
      'ERR_MESSAGE_TOO_LARGE',
      'ERR_NOT_JOINED',
      'ERR_BAD_SIGNAL',
      'ERR_DUPLICATE_PEER',
      'ERR_UNKNOWN_PEER'
    ])
    // x, the room-1 member, still works after all that.
    expect(x.ws.readyState).toBe(WebSocket.OPEN)
  })

  it("refuses strangers' joins (no proof, a wrong key, another socket's proof, an unknown room) with 4403; they learn no peer id", async () => {
    const room = 'ab'.repeat(32)
    const otherRoom = 'cd'.repeat(32)
    const { url, server, rejected } = await sharedServer({ rooms: [[room, MEMBER_KEY]] })
    expect(server.open).toBe(false)
    const x = await joined(url, room, 'peer-xxxx')
    const strangers: Client[] = []
    const refuse = async (send: (c: Client) => void) => {
      const c = await client(url)
      strangers.push(c)
      send(c)
      expect(await c.closed).toBe(4403)
    }
    await refuse((c) => c.join(room, 'peer-s001'))
    await refuse((c) => c.join(room, 'peer-s002', OTHER_KEY))
    // x's id without a proof: refused as a stranger (4403), not as a duplicate (4409) that would confirm the id.
    await refuse((c) => c.join(room, 'peer-xxxx'))
    // A proof made for another socket's challenge (or another id) is worth nothing here.
    await refuse((c) => c.ws.send(JSON.stringify({ type: 'join', room, peer: 'peer-s003', proof: proofFor(MEMBER_KEY, x.challenge, room, 'peer-s003') })))
    await refuse((c) => c.ws.send(JSON.stringify({ type: 'join', room, peer: 'peer-s004', proof: proofFor(MEMBER_KEY, c.challenge, room, 'peer-s005') })))
    await refuse((c) => c.ws.send(JSON.stringify({ type: 'join', room, peer: 'peer-s006', proof: 'zz' })))
    // The member key of one room opens no other.
    await refuse((c) => c.join(otherRoom, 'peer-s007', MEMBER_KEY))

    // Not one stranger got a frame past its challenge; the member saw none of them.
    for (const c of strangers) expect(c.messages).toEqual([])
    expect(x.messages).toEqual([])
    expect(rejected.map((e) => e.code)).toEqual(Array(7).fill('ERR_NOT_A_MEMBER'))
    expect(server.roomSize(room)).toBe(1)
    expect(server.roomSize(otherRoom)).toBe(0)

    // A member still joins and is told who is there.
    const y = await client(url)
    y.join(room, 'peer-yyyy', MEMBER_KEY)
    expect(await y.next()).toEqual({ type: 'peers', peers: ['peer-xxxx'] })
  })

  it('the room limit counts proven members only: strangers cannot fill the room', async () => {
    const room = 'ef'.repeat(32)
    const { url, server, rejected } = await sharedServer({ rooms: [[room, MEMBER_KEY]], maxRoomSize: 2 })
    for (let i = 0; i < 5; i++) {
      const stranger = await client(url)
      stranger.join(room, `peer-str${i}`, i % 2 ? OTHER_KEY : undefined)
      expect(await stranger.closed).toBe(4403)
    }
    expect(server.roomSize(room)).toBe(0)
    await joined(url, room, 'peer-mem1')
    await joined(url, room, 'peer-mem2')
    const third = await client(url)
    third.join(room, 'peer-mem3', MEMBER_KEY)
    expect(await third.closed).toBe(4429)
    expect(rejected.map((e) => e.code)).toEqual([...Array(5).fill('ERR_NOT_A_MEMBER'), 'ERR_ROOM_FULL'])
  })

  /** Opens a socket the server refuses at the upgrade; resolves with the HTTP status it answered. */
  async function refusedStatus(url: string): Promise<number> {
    const ws = new WebSocket(url)
    ws.on('error', () => {}) // terminate() below, while connecting
    const [, res] = await once(ws, 'unexpected-response')
    ws.terminate()
    return (res as http.IncomingMessage).statusCode!
  }

  it('caps sockets that have not joined: a flood beyond maxPendingSockets is refused (503) while members keep signalling and join', async () => {
    const room = '56'.repeat(32)
    const { url, server, rejected } = await sharedServer({ rooms: [[room, MEMBER_KEY]], maxPendingSockets: 4 })
    const x = await joined(url, room, 'peer-xxxx') // joined members do not count
    const y = await client(url) // a member that connected before the flood: pending, 1 of 4
    const idle: Client[] = []
    for (let i = 0; i < 3; i++) idle.push(await client(url))
    for (let i = 0; i < 20; i++) expect(await refusedStatus(url)).toBe(503)
    expect(rejected.map((e) => e.code)).toEqual(Array(20).fill('ERR_TOO_MANY_PENDING'))

    // The member that got in before the flood still joins, and signals reach the members.
    y.join(room, 'peer-yyyy', MEMBER_KEY)
    expect(await y.next()).toEqual({ type: 'peers', peers: ['peer-xxxx'] })
    y.ws.send(JSON.stringify({ type: 'signal', to: 'peer-xxxx', signal: { type: 'offer', sdp: 'v=0' } }))
    expect(await x.next()).toEqual({ type: 'signal', from: 'peer-yyyy', to: 'peer-xxxx', signal: { type: 'offer', sdp: 'v=0' } })
    // Its join freed a place: one more socket gets in, the next is refused again.
    const z = await client(url)
    expect(await refusedStatus(url)).toBe(503)
    z.join(room, 'peer-zzzz', MEMBER_KEY)
    expect(await z.next()).toEqual({ type: 'peers', peers: ['peer-xxxx', 'peer-yyyy'] })
    // Idle sockets that go away free their places too.
    for (const c of idle) c.ws.terminate()
    await until(() => joined(url, room, 'peer-wwww').then(() => true, () => false))
    expect(server.roomSize(room)).toBe(4)
    expect(() => new SignallingServer({ maxPendingSockets: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
  })

  it('closes a socket that has not joined within joinTimeoutMs (4408), also one whose authorise never answers', async () => {
    const room = '78'.repeat(32)
    const slowRoom = '9a'.repeat(32)
    const { url, rejected } = await sharedServer({
      rooms: [[room, MEMBER_KEY]],
      authorise: () => new Promise<boolean>(() => {}), // never settles
      joinTimeoutMs: 1500 // long enough for the member to join on a busy machine
    })
    const member = await joined(url, room, 'peer-memb')
    const idle = await client(url)
    const waiting = await client(url)
    waiting.join(slowRoom, 'peer-slow', MEMBER_KEY)
    expect(await idle.closed).toBe(4408)
    expect(await waiting.closed).toBe(4408)
    expect(waiting.messages).toEqual([])
    expect(rejected.map((e) => e.code)).toEqual(['ERR_JOIN_TIMEOUT', 'ERR_JOIN_TIMEOUT'])
    expect(member.ws.readyState).toBe(WebSocket.OPEN) // the timeout is for joining only
  })

  it('decodes frames as strict UTF-8: a malformed one closes that socket with 1007 (ERR_BAD_SIGNAL)', async () => {
    const room = 'bc'.repeat(32)
    const { url, rejected } = await sharedServer({ rooms: [[room, MEMBER_KEY]] })
    const x = await joined(url, room, 'peer-xxxx')
    const y = await joined(url, room, 'peer-yyyy')
    // 0xff never occurs in UTF-8; a lenient decoder would relay it to x as U+FFFD.
    const bad = Buffer.concat([Buffer.from('{"type":"signal","to":"peer-xxxx","signal":{"type":"offer","sdp":"'), Buffer.from([0xff]), Buffer.from('"}}')])
    y.ws.send(bad, { binary: false })
    expect(await y.closed).toBe(1007)
    const before = await client(url)
    before.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false }) // a truncated 2-byte sequence, before any join
    expect(await before.closed).toBe(1007)
    expect(rejected.map((e) => e.code)).toEqual(['ERR_BAD_SIGNAL', 'ERR_BAD_SIGNAL'])
    expect(x.messages).toEqual([{ type: 'left', peer: 'peer-yyyy' }])
  })

  it('authorise may answer with a Promise: resolved true admits, false or a rejection refuses (4403); each account\'s room has its own limit', async () => {
    const roomA = 'a1'.repeat(32)
    const roomB = 'b2'.repeat(32)
    const keys = new Map([[roomA, MEMBER_KEY], [roomB, OTHER_KEY]])
    const { url, server, rejected } = await sharedServer({
      maxRoomSize: 2,
      // A server for many accounts that looks each room's key up (a database, here a timer).
      authorise: async (join) => {
        await new Promise((resolve) => setTimeout(resolve, 20))
        if (join.peer.startsWith('peer-boom')) throw new Error('lookup failed')
        const key = keys.get(join.room)
        return key !== undefined && join.proves(key)
      }
    })
    await joined(url, roomA, 'peer-a001', MEMBER_KEY)
    await joined(url, roomA, 'peer-a002', MEMBER_KEY)
    const refuse = async (room: string, peer: string, key: Uint8Array | undefined, code: number) => {
      const c = await client(url)
      c.join(room, peer, key)
      expect(await c.closed).toBe(code)
      expect(c.messages).toEqual([])
    }
    await refuse(roomA, 'peer-a003', MEMBER_KEY, 4429) // account A's room is full...
    await joined(url, roomB, 'peer-b001', OTHER_KEY) // ...account B's is not
    await refuse(roomB, 'peer-b002', MEMBER_KEY, 4403) // A's key opens only A's room
    await refuse(roomB, 'peer-b003', undefined, 4403)
    await refuse(roomB, 'peer-boom1', OTHER_KEY, 4403) // a rejection is a refusal
    expect(rejected.map((e) => e.code)).toEqual(['ERR_ROOM_FULL', 'ERR_NOT_A_MEMBER', 'ERR_NOT_A_MEMBER', 'ERR_HANDLER', 'ERR_NOT_A_MEMBER'])
    expect([server.roomSize(roomA), server.roomSize(roomB)]).toEqual([2, 1])

    // A second join or a signal while the first waits for authorise closes the socket, as after a join.
    const eager = await client(url)
    eager.join(roomB, 'peer-b004', OTHER_KEY)
    eager.join(roomB, 'peer-b005', OTHER_KEY)
    expect(await eager.closed).toBe(4400)
    expect(server.roomSize(roomB)).toBe(1)
  })

  it('an authorise answer that comes late counts only for a socket still there, and a key added meanwhile decides instead', async () => {
    const room = 'c3'.repeat(32)
    const answers: Array<(admitted: boolean) => void> = []
    const { url, server } = await sharedServer({ authorise: () => new Promise<boolean>((resolve) => answers.push(resolve)) })
    const gone = await client(url)
    gone.join(room, 'peer-gone', MEMBER_KEY)
    await until(() => answers.length === 1)
    gone.ws.terminate()
    await gone.closed
    const outdated = await client(url)
    outdated.join(room, 'peer-old1', OTHER_KEY)
    await until(() => answers.length === 2)
    server.addRoom(room, MEMBER_KEY) // the room's key is MEMBER_KEY now, whatever authorise says
    answers[0]!(true)
    answers[1]!(true)
    expect(await outdated.closed).toBe(4403)
    // Neither left a member behind (a dead socket in the room would hold its id and a place).
    expect(server.roomSize(room)).toBe(0)
    await joined(url, room, 'peer-gone', MEMBER_KEY)
    expect(server.roomSize(room)).toBe(1)
  })

  it('with no member key it is open (tests, dev); adding a room key drops the members that cannot prove it', async () => {
    const room = '12'.repeat(32)
    const { url, server, rejected } = await sharedServer({})
    expect(server.open).toBe(true)
    const stranger = await joined(url, room, 'peer-strg', OTHER_KEY)
    const member = await client(url)
    member.join(room, 'peer-memb', MEMBER_KEY)
    expect(await member.next()).toEqual({ type: 'peers', peers: ['peer-strg'] })
    const elsewhere = await joined(url, '34'.repeat(32), 'peer-else')

    server.addRoom(room, MEMBER_KEY)
    expect(server.open).toBe(false)
    expect(await stranger.closed).toBe(4403)
    expect(await elsewhere.closed).toBe(4403) // a room the server now has no key for
    expect(await member.next()).toEqual({ type: 'left', peer: 'peer-strg' })
    expect(member.ws.readyState).toBe(WebSocket.OPEN)
    expect(server.roomSize(room)).toBe(1)
    expect(rejected.map((e) => e.code)).toEqual(['ERR_NOT_A_MEMBER', 'ERR_NOT_A_MEMBER'])
    expect(() => server.addRoom('not-a-room', MEMBER_KEY)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(() => server.addRoom(room, new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
  })
})
