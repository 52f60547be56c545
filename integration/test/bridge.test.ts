import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { WebSocket } from 'ws'
import b4a from 'b4a'
import createTestnet from 'hyperdht/testnet'
import { collect, nextEvent, cleanupsAfterEach, freePort } from '@hypha/test-utils'
import type { Relayed, SecureMessage } from '@hypha/secure-channel'
import type { HyphaNodeOptions } from '@hypha/node-core'
import { webSocketClient } from '@hypha/transport-websocket'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { tcpServer, tcpClient } from '@hypha/transport-tcp'
import { hyperswarmTransport } from '@hypha/transport-hyperswarm'
import { rootSecret, eventually, startNode as startNodeWith } from '@hypha/adapter-tests'

// An always-on node bridging three transports, everything on 127.0.0.1: the origin dials its TCP
// server, a phone its WebSocket server, a tablet meets it on a Hyperswarm testnet. No full node
// has a transport in common with another, so everything between them goes through the always-on
// node, which holds no key: it stores ciphertext and relays sealed envelopes. It is given only the
// origin's member credential, so it meets the account's nodes on the lookup topic and tells the tablet (a new
// device given no database key) which database to open.

const cleanups = cleanupsAfterEach(afterEach)

let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret()
})

const startNode = (options: HyphaNodeOptions) => startNodeWith(options, cleanups)

const hex = (b: Uint8Array | null) => (b === null ? null : b4a.toString(b, 'hex'))
const DEADLINE = 30_000

describe('an always-on node with TCP, WebSocket and Hyperswarm', { timeout: 90_000 }, () => {
  it('bridges data, added writers and secure-channel messages between nodes on different transports', async () => {
    const testnet = await createTestnet(3, { host: '127.0.0.1' })
    cleanups.push(() => testnet.destroy())
    const hyperswarm = () => hyperswarmTransport({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })

    // The origin first (its TCP client re-dials until the always-on node listens): the always-on
    // node needs its member credential.
    const port = await freePort()
    const origin = await startNode({
      role: 'origin',
      rootSecret: root,
      transports: [tcpClient({ port, host: '127.0.0.1', reconnect: { initialDelayMs: 20, maxDelayMs: 200 } })]
    })
    const ws = webSocketServer({ port: 0, host: '127.0.0.1' })
    const blind = await startNode({
      role: 'always-on',
      memberCredential: origin.memberCredential,
      transports: [tcpServer({ port, host: '127.0.0.1' }), ws, hyperswarm()]
    })
    expect(hex(blind.key)).toBe(hex(origin.key))
    expect(hex(blind.topic)).toBe(hex(origin.topic))
    const seeded = collect<Uint8Array>(blind, 'seeded')
    const relayed = collect<Relayed>(blind.channel, 'relayed')

    const phone = await startNode({
      role: 'read-only',
      rootSecret: root,
      databaseKey: origin.key,
      transports: [webSocketClient({ url: `ws://127.0.0.1:${ws.port}`, WebSocket: WebSocket as any })]
    })
    // The tablet looks the database up: only the always-on node (over Hyperswarm) can answer.
    const tablet = await startNode({ role: 'read-only', rootSecret: root, lookupTimeoutMs: DEADLINE, transports: [hyperswarm()] })
    expect(hex(tablet.key)).toBe(hex(origin.key))

    // The origin's data reaches the nodes on the two other transports.
    await origin.put('from/origin', 'hello everyone')
    for (const node of [phone, tablet]) {
      await eventually(async () => (await node.get('from/origin')) === 'hello everyone', 'origin data bridged', DEADLINE)
    }

    // Each full node is connected to the always-on node only, over its own transport.
    const expected = [
      [origin, 'tcp'],
      [phone, 'websocket'],
      [tablet, 'hyperswarm']
    ] as const
    for (const [node, transport] of expected) {
      expect(node.connections.map((c) => c.info.transport)).toEqual([transport])
      expect(node.connections.map((c) => hex(c.stream.remotePublicKey))).toEqual([hex(blind.noiseKeyPair.publicKey)])
    }
    expect(blind.connections.map((c) => c.info.transport).sort()).toEqual(['hyperswarm', 'tcp', 'websocket'])

    // A writer added on the phone (WebSocket) writes; the TCP and Hyperswarm nodes get it. The
    // always-on node learnt the phone's core from an announcement: nobody called seed().
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, 'phone writable through the always-on node', DEADLINE)
    await phone.put('from/phone', 'written on the phone')
    for (const node of [origin, tablet]) {
      await eventually(async () => (await node.get('from/phone')) === 'written on the phone', 'phone data bridged', DEADLINE)
    }
    expect(seeded.map(hex)).toContain(hex(phone.writerKey))
    expect(blind.seeded().map((c) => hex(c.key)).sort()).toEqual([hex(origin.key), hex(phone.writerKey)].sort())

    // A sealed message from the tablet reaches the others, relayed blind by the always-on node.
    await eventually(
      () => blind.ephemeral.peers.length === 3 && [origin, phone, tablet].every((n) => n.ephemeral.peers.length === 1),
      'ephemeral channels open',
      DEADLINE
    )
    const atOrigin = nextEvent<[SecureMessage]>(origin.channel, 'message')
    const atPhone = nextEvent<[SecureMessage]>(phone.channel, 'message')
    const sent = tablet.channel.send(b4a.from('seen by laptop and phone'), { contentType: 'text/plain' })
    for (const [message] of await Promise.all([atOrigin, atPhone])) {
      expect(b4a.toString(message.payload)).toBe('seen by laptop and phone')
      expect(hex(message.sender)).toBe(hex(tablet.channel.publicKey))
      expect(hex(message.id)).toBe(hex(sent.id))
    }
    expect(blind.channel.canDecrypt).toBe(false)
    expect(blind.channel.stats.delivered).toBe(0)
    expect(relayed.map((r) => [hex(r.id), r.peers])).toEqual([[hex(sent.id), 2]])
  })
})
