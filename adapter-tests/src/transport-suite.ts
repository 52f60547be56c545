// The contract every Hypha transport keeps, as one vitest suite each transport package runs with
// its own setup (as automerge-repo's network adapters each run its shared network tests).
import { describe, expect, it } from 'vitest'
import b4a from 'b4a'
import { HyphaNode, MAX_VALUE_BYTES, type Transport } from '@hypha/node-core'
import { nextEvent, settle, until } from '@hypha/test-utils'
import { cleanups, createPair, track, type Peer } from './transport-peer.js'
import { expectEphemeralBothWays } from './exchange.js'
import { eventually, rootSecret, startNode } from './nodes.js'

export type Cleanups = Array<() => unknown>

/** Two fresh, unstarted transports that reach each other once started on one topic. */
export interface TransportPair {
  /** Started first (a server, say). */
  first(): Transport
  /** Made once `first` has started (a client may need its port). */
  second(first: Transport): Transport
}

export interface TransportSetup {
  /** The transport's name: what `transport.name` and `ConnectionInfo.transport` must say. */
  name: string
  /**
   * A pair for one test. Anything else it opens (a signalling server, a DHT testnet) it pushes
   * onto `cleanups`, which run (in reverse) after the test, after the transports stopped.
   */
  pair(cleanups: Cleanups): Promise<TransportPair>
  /** What `ConnectionInfo.remote` of this setup's connections must look like, on both sides. */
  remote?: RegExp
  /**
   * How long to wait before concluding that nothing more happens (no re-dial after stop()): a
   * few times the setup's longest re-dial delay. Default 500 ms.
   */
  quietMs?: number
  /** A server that can stop and start again on the same port, and a re-dialling client of it. */
  redial?: {
    server(port: number): Transport & { readonly port: number | null }
    client(port: number): Transport
  }
  /**
   * An unstarted transport that, once started, reports an error (a refused dial, a hostile
   * signalling server), and the `code` of that error. Without it the transport-error test is skipped.
   */
  provokeError?(cleanups: Cleanups): Promise<{ transport: Transport; code: string }>
}

const hex = (bytes: Uint8Array | null | undefined) => (bytes ? b4a.toString(bytes, 'hex') : null)

/** Every Error a transport emits, whatever the event (the suite does not know the transport's event names). */
function errorsEmittedBy(transport: Transport): unknown[] {
  const seen: unknown[] = []
  const target = transport as unknown as { emit(event: string, ...args: unknown[]): boolean }
  const emit = target.emit
  target.emit = function (event, ...args) {
    if (args[0] instanceof Error) seen.push(args[0])
    return emit.call(this, event, ...args)
  }
  return seen
}

interface Connected {
  a: Peer
  b: Peer
  remoteCore: any
  first: Transport
  second: Transport
}

/** Peer a owns a core and starts `first`; peer b reads the core by key and starts `second`. */
async function connect(setup: TransportSetup): Promise<Connected> {
  const { a, b, remoteCore } = await createPair()
  const pair = await setup.pair(cleanups)
  const first = track(pair.first())
  await first.start(a.context)
  const second = track(pair.second(first))
  await second.start(b.context)
  await until(() => a.ephemeral.peers.length === 1 && b.ephemeral.peers.length === 1, 30_000, `a ${setup.name} connection`)
  return { a, b, remoteCore, first, second }
}

export function runTransportTests(setup: TransportSetup): void {
  describe(`transport contract: ${setup.name}`, { timeout: 60_000 }, () => {
    it('replicates a Corestore core and carries ephemeral messages both ways', async () => {
      const { a, remoteCore, b } = await connect(setup)
      await a.core.append([b4a.from('hello'), b4a.from('world')])
      expect(b4a.toString(await remoteCore.get(1))).toBe('world')
      await expectEphemeralBothWays(a, b)
    })

    it("hands a connection to onConnection only after the Noise handshake, with the peer's key", async () => {
      const { a, b } = await connect(setup)
      for (const [self, other] of [[a, b], [b, a]] as const) {
        expect(self.connections.length).toBeGreaterThan(0)
        // The remote key was already known at hand-over, and it is the key of the peer at hand.
        for (const c of self.connections) expect(hex(c.remoteKeyAtHandOver)).toBe(hex(other.keyPair.publicKey))
      }
    })

    it("names itself in ConnectionInfo; exactly one side initiated", async () => {
      const { a, b, first, second } = await connect(setup)
      expect(first.name).toBe(setup.name)
      expect(second.name).toBe(setup.name)
      for (const { info } of [...a.connections, ...b.connections]) {
        expect(info.transport).toBe(setup.name)
        if (setup.remote) expect(info.remote).toMatch(setup.remote)
      }
      expect(a.connections[0]!.info.isInitiator).toBe(!b.connections[0]!.info.isInitiator)
    })

    it('start() twice rejects with ERR_ALREADY_STARTED, and the first start keeps working', async () => {
      const { a, b, remoteCore } = await createPair()
      const pair = await setup.pair(cleanups)
      const first = track(pair.first())
      await first.start(a.context)
      const again = await first.start(a.context).then(() => null, (err: unknown) => err)
      expect(again).toBeInstanceOf(Error)
      expect((again as { code?: string }).code).toBe('ERR_ALREADY_STARTED')
      const second = track(pair.second(first))
      await second.start(b.context)
      await expect(second.start(b.context)).rejects.toMatchObject({ code: 'ERR_ALREADY_STARTED' })

      await a.core.append(b4a.from('still one transport'))
      expect(b4a.toString(await remoteCore.get(0))).toBe('still one transport')
    })

    for (const side of ['first', 'second'] as const) {
      it(`stop() on the ${side} closes its connections, and no connection is made after it resolves`, async () => {
        const { a, b, first, second } = await connect(setup)
        const [stopped, self, other] = side === 'first' ? [first, a, b] : [second, b, a]
        await stopped.stop()
        for (const c of self.connections) expect(c.stream.destroyed).toBe(true)
        await until(() => other.connections.every((c) => c.stream.destroyed), 10_000, 'the other side to see the close')

        const counts = [a.connections.length, b.connections.length]
        await settle(setup.quietMs ?? 500) // a re-dial (or a late accept) would have landed by now
        expect([a.connections.length, b.connections.length]).toEqual(counts)
        expect(self.connections.every((c) => c.stream.destroyed)).toBe(true)
        expect(a.ephemeral.peers.length + b.ephemeral.peers.length).toBe(0)
      })
    }

    // Registered only for transports with a server to restart (not for peer-to-peer ones), so
    // nothing shows as skipped.
    if (setup.redial) it('re-dials a server that restarts on the same port, and catches up', async () => {
      const { server, client } = setup.redial!
      const { a, b, remoteCore } = await createPair()
      const server1 = server(0)
      await server1.start(a.context)
      const port = server1.port!
      const dialer = track(client(port))
      const reported = errorsEmittedBy(dialer)
      await dialer.start(b.context)
      await a.core.append(b4a.from('before'))
      expect(b4a.toString(await remoteCore.get(0))).toBe('before')

      await server1.stop()
      await until(() => b.connections[0]!.stream.destroyed, 10_000, 'the client to lose its connection')
      // It keeps dialling the closed port, reporting each failure, and does not crash.
      await until(() => reported.length > 0, 10_000, 'a failed re-dial reported')
      await a.core.append(b4a.from('while offline'))

      const server2 = track(server(port))
      await server2.start(a.context)
      expect(b4a.toString(await remoteCore.get(1))).toBe('while offline')
      expect(b.connections).toHaveLength(2)
      await expectEphemeralBothWays(a, b)
    })

    if (setup.provokeError) it("a HyphaNode re-emits what the transport reports as 'transport-error'", async () => {
      const { transport, code } = await setup.provokeError!(cleanups)
      const reported = errorsEmittedBy(transport)
      const node = new HyphaNode({ role: 'origin', rootSecret: rootSecret('transport suite: errors'), transports: [transport] })
      cleanups.push(() => node.close())
      const seen = nextEvent<[unknown, Transport]>(node, 'transport-error', (err) => (err as { code?: string })?.code === code, 30_000)
      await node.ready()
      const [error, from] = await seen
      expect(from).toBe(transport)
      expect(error).toBeInstanceOf(Error)
      expect(reported).toContain(error) // the very error the transport emitted, not a wrapper
    })

    it('replicates the largest value the API accepts (4 MiB) and a small one after it, on one connection', async () => {
      const root = rootSecret(`transport suite: large values over ${setup.name}`)
      const pair = await setup.pair(cleanups)
      const first = pair.first()
      const origin = await startNode({ role: 'origin', rootSecret: root, transports: [first] }, cleanups)
      await origin.put('before', 'small')
      const second = pair.second(first)
      const reader = await startNode({ role: 'read-only', rootSecret: root, lookupTimeoutMs: 30_000, transports: [second] }, cleanups)
      await eventually(async () => (await reader.get('before')) === 'small', `the first value over ${setup.name}`, 30_000)
      // From here on the connection that is up must carry everything.
      const handedOver: string[] = []
      const dropped: string[] = []
      for (const [side, transport] of [['first', first], ['second', second]] as const) {
        transport.on('connection', () => handedOver.push(side))
        transport.on('disconnect', () => dropped.push(`${side}: disconnect`))
        transport.on('connection-error', (error: { code?: string; message?: string }) => dropped.push(`${side}: ${error.code} ${error.message}`))
      }

      const large = new Uint8Array(MAX_VALUE_BYTES)
      for (let i = 0; i < large.byteLength; i++) large[i] = (i * 7) & 0xff
      await origin.put('large', large)
      await origin.put('after', 'small')
      await eventually(async () => (await reader.get('after')) === 'small', `the value after the large one over ${setup.name}`, 45_000)
      const got = await reader.get('large')
      expect(got instanceof Uint8Array && b4a.equals(got, large)).toBe(true)
      expect(dropped).toEqual([])
      expect(handedOver).toEqual([])
      expect(reader.connections).toHaveLength(1)
    })

    it('syncStatus reports the peer over this transport, and a node that caught up is synced', async () => {
      const root = rootSecret(`transport suite: sync ${setup.name}`)
      const pair = await setup.pair(cleanups)
      const first = pair.first()
      const origin = await startNode({ role: 'origin', rootSecret: root, transports: [first] }, cleanups)
      await origin.batch(Array.from({ length: 50 }, (_, i) => ({ type: 'put' as const, key: `sync/${i}`, value: `v${i}` })))
      expect(origin.syncStatus().state).toBe('offline')
      const phone = await startNode(
        { role: 'read-only', rootSecret: root, databaseKey: origin.key, transports: [pair.second(first)] },
        cleanups
      )
      const status = await phone.synced({ timeoutMs: 30_000 })
      // Synced means readable: every entry is there with nothing more awaited.
      expect(await phone.list({ prefix: 'sync/' })).toHaveLength(50)
      expect(status.state).toBe('synced')
      expect(status.peers.map((p) => [p.transport, hex(p.remotePublicKey)])).toEqual([[setup.name, hex(origin.noiseKeyPair.publicKey)]])
      if (setup.remote) expect(status.peers[0]!.remote).toMatch(setup.remote)
      const db = status.cores.find((c) => hex(c.key) === hex(origin.key))
      expect(db).toMatchObject({ peers: 1, synced: true })
      expect(db!.applied).toBe(db!.remoteLength)
      expect(db!.remoteLength).toBeGreaterThanOrEqual(50)

      // The origin sees the phone over the same transport; the phone leaving makes it offline.
      await until(() => origin.syncStatus().synced, 30_000, 'the origin synced')
      expect(origin.syncStatus().peers.map((p) => [p.transport, hex(p.remotePublicKey)])).toEqual([[setup.name, hex(phone.noiseKeyPair.publicKey)]])
      const offline = nextEvent<[{ state: string }]>(origin, 'sync-status', (s) => s.state === 'offline', 30_000)
      await phone.close()
      await offline
    })

    it('two HyphaNodes of one account meet over it and replicate entries both ways', async () => {
      const root = rootSecret(`transport suite: ${setup.name}`)
      const pair = await setup.pair(cleanups)
      const first = pair.first()
      const origin = await startNode({ role: 'origin', rootSecret: root, transports: [first] }, cleanups)
      await origin.put('from/origin', 'hello')
      // A new device of the account, given no database key: it meets the origin on the account's
      // lookup topic over this transport and learns the key there.
      const phone = await startNode(
        { role: 'read-only', rootSecret: root, lookupTimeoutMs: 30_000, transports: [pair.second(first)] },
        cleanups
      )
      expect(hex(phone.key)).toBe(hex(origin.key))
      await eventually(async () => (await phone.get('from/origin')) === 'hello', `origin's entry over ${setup.name}`, 30_000)
      expect(phone.writable).toBe(false)

      await origin.addWriter(phone.writerKey!)
      await eventually(() => phone.writable, `phone writable over ${setup.name}`, 30_000)
      await phone.put('from/phone', 'hi back')
      await eventually(async () => (await origin.get('from/phone')) === 'hi back', `phone's entry over ${setup.name}`, 30_000)

      // The only connection is this transport's, between these two nodes' Noise keys.
      for (const [self, other] of [[origin, phone], [phone, origin]] as const) {
        expect(self.connections.map((c) => c.info.transport)).toEqual([setup.name])
        expect(self.connections.map((c) => hex(c.stream.remotePublicKey))).toEqual([hex(other.noiseKeyPair.publicKey)])
      }

      // Secure-channel messages both ways, from the verified sender.
      await eventually(() => origin.ephemeral.peers.length === 1 && phone.ephemeral.peers.length === 1, 'ephemeral open')
      type Message = { payload: Uint8Array; sender: Uint8Array }
      const atPhone = nextEvent<[Message]>(phone.channel, 'message')
      expect(origin.channel.send(b4a.from('ping')).peers).toBe(1)
      const [ping] = await atPhone
      expect(b4a.toString(ping.payload)).toBe('ping')
      expect(hex(ping.sender)).toBe(hex(origin.channel.publicKey))
      const atOrigin = nextEvent<[Message]>(origin.channel, 'message')
      phone.channel.send(b4a.from('pong'))
      const [pong] = await atOrigin
      expect(b4a.toString(pong.payload)).toBe('pong')
      expect(hex(pong.sender)).toBe(hex(phone.channel.publicKey))
    })
  })
}
