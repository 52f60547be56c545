// The membership gate on every connection (member-gate.ts), on real nodes over real Noise streams:
// a stranger who knows the database key (and so the discovery key) but not the member key gets
// nothing on its connection — no block, no lookup answer, no ephemeral message — and is closed.
import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import RAM from 'random-access-memory'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { collect, cleanupsAfterEach } from '@hypha/test-utils'
import c from 'compact-encoding'
import { EphemeralExtension, muxerOf } from '@hypha/ephemeral-ext'
import {
  HyphaNode,
  HyphaNodeError,
  MAX_UNPROVEN_BYTES,
  deriveAccountKeys,
  memberGate,
  type HyphaNodeOptions
} from '../src/index.js'
import { rootSecret, connect, eventually, startNode } from './fixtures/helpers.js'

const cleanups = cleanupsAfterEach(afterEach)
const root = rootSecret()
const node = (options: HyphaNodeOptions) => startNode(options, cleanups)

/**
 * A peer that knows the database key and the account's lookup topic and speaks every protocol a
 * member does — replication of the database core, the database's ephemeral channel, the lookup
 * channel — on a real Noise stream to `target`. With `memberKey` it runs the gate with that key
 * first (another account's, to show a wrong proof); without, it sends no proof at all.
 */
function stranger(target: HyphaNode, options: { memberKey?: Uint8Array } = {}) {
  const a = new NoiseSecretStream(true, undefined, { keyPair: NoiseSecretStream.keyPair() })
  const b = new NoiseSecretStream(false, undefined, { keyPair: NoiseSecretStream.keyPair() })
  a.on('error', () => {})
  a.rawStream.pipe(b.rawStream).pipe(a.rawStream)
  const store = new Corestore(RAM.reusable())
  const core = store.get({ key: target.key })
  const ephemeral = new EphemeralExtension({ discoveryKey: target.discoveryKey })
  const lookup = new EphemeralExtension({ discoveryKey: lookupDiscoveryKey() })
  const received: string[] = []
  ephemeral.on('message', (m) => received.push(m.contentType))
  lookup.on('message', (m) => received.push(m.contentType))
  let closed = false
  a.once('close', () => (closed = true))
  const speak = () => {
    store.replicate(a)
    ephemeral.attach(a)
    lookup.attach(a)
    core.ready().then(() => core.download({ start: 0, end: -1 }), () => {})
  }
  const gate = options.memberKey ? memberGate(a, options.memberKey) : null
  if (gate) gate.then(speak, () => {})
  else speak()
  target.addConnection(b, { transport: 'test', isInitiator: false })
  cleanups.push(async () => {
    a.destroy()
    b.destroy()
    ephemeral.close()
    lookup.close()
    await store.close()
  })
  return { stream: a, core, ephemeral, received, gate, closed: () => closed }
}

/** The lookup channel's id: the discovery key of the account's lookup topic (lookup.ts). */
function lookupDiscoveryKey(): Uint8Array {
  return Hypercore.discoveryKey(deriveAccountKeys(root).lookupTopic)
}

describe('the membership gate', { timeout: 30_000 }, () => {
  it('a stranger without a proof gets no block, no lookup answer and no message, and is closed at the timeout', async () => {
    const origin = await node({ role: 'origin', rootSecret: root, memberProofTimeoutMs: 1_500 })
    await origin.put('secret', 'for members')
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential, memberProofTimeoutMs: 1_500 })
    const member = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    cleanups.push(connect(origin, blind), connect(member, blind))
    await eventually(() => blind.seeded()[0]!.contiguousLength > 0, 'the always-on node to hold the origin core')

    for (const target of [origin, blind]) {
      const refused = collect<HyphaNodeError>(target, 'peer-refused')
      const connections = collect(target, 'connection')
      const s = stranger(target)
      // Members talk meanwhile: the stranger hears none of it.
      origin.channel.send(b4a.from('members only'))
      await eventually(() => s.closed(), 'the stranger to be closed')
      expect(refused).toHaveLength(1)
      expect(refused[0]!).toBeInstanceOf(HyphaNodeError)
      expect(refused[0]!.code).toBe('ERR_MEMBER_PROOF_TIMEOUT')
      expect(connections).toHaveLength(0)
      expect(s.core.contiguousLength).toBe(0)
      expect(s.received).toEqual([]) // neither the locator answer nor any ephemeral message
    }
    // The members never noticed.
    expect(blind.ephemeral.peers.filter((p) => p.opened)).toHaveLength(2)
  })

  it("a wrong proof (another account's member key) is refused at once with ERR_NOT_A_MEMBER, on both sides", async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const refused = collect<HyphaNodeError>(origin, 'peer-refused')
    const s = stranger(origin, { memberKey: deriveAccountKeys(rootSecret('someone else')).memberKey })
    // The stranger's side finds the node's proof wrong too: the node ends the connection only once its proof is out.
    const error = await s.gate!.then(() => null, (err: HyphaNodeError) => err)
    expect(error?.code).toBe('ERR_NOT_A_MEMBER')
    await eventually(() => refused.length === 1, 'the refusal')
    expect(refused[0]!.code).toBe('ERR_NOT_A_MEMBER')
    expect(s.closed()).toBe(true)
    expect(s.core.contiguousLength).toBe(0)
  })

  it('two accounts’ nodes both report ERR_NOT_A_MEMBER, the dialler too (not a bare close): it can tell it reached another account', async () => {
    for (let i = 0; i < 5; i++) {
      const a = await node({ role: 'origin', rootSecret: root })
      const b = await node({ role: 'origin', rootSecret: rootSecret(`someone else ${i}`) })
      const atA = collect<HyphaNodeError>(a, 'peer-refused')
      const atB = collect<HyphaNodeError>(b, 'peer-refused')
      connect(b, a) // b dials a
      await eventually(() => atA.length === 1 && atB.length === 1, 'both refusals')
      expect([atA[0]!.code, atB[0]!.code]).toEqual(['ERR_NOT_A_MEMBER', 'ERR_NOT_A_MEMBER'])
    }
  })

  it(`a peer sending over ${MAX_UNPROVEN_BYTES} bytes before proving is closed at once`, async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const refused = collect<HyphaNodeError>(origin, 'peer-refused')
    const s = stranger(origin)
    // Well-formed Protomux messages on a channel the node never pairs: Protomux would hold them all.
    const channel = muxerOf(s.stream).createChannel({ protocol: 'anything' })!
    const message = channel.addMessage({ encoding: c.raw })
    channel.open()
    for (let i = 0; i < 20; i++) message.send(b4a.alloc(8 * 1024, i))
    await eventually(() => s.closed(), 'the stranger to be closed')
    expect(refused.map((e) => e.code)).toEqual(['ERR_NOT_A_MEMBER'])
  })

  it('caps connections at the gate by closing the one there longest, so members still get in; caps connections in all', async () => {
    const origin = await node({ role: 'origin', rootSecret: root, maxUnprovenConnections: 2, maxConnections: 3 })
    const refused = collect<HyphaNodeError>(origin, 'peer-refused')
    const [s1, s2, s3] = [stranger(origin), stranger(origin), stranger(origin)]
    // The third made room by closing the first.
    await eventually(() => s1!.closed(), 'the first stranger closed')
    expect(refused.map((e) => e.code)).toEqual(['ERR_TOO_MANY_CONNECTIONS'])
    expect([s2!.closed(), s3!.closed()]).toEqual([false, false])

    // Members connect while strangers hold every place at the gate: each closes the oldest stranger.
    const member = () => node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    for (const [i, m] of [await member(), await member(), await member()].entries()) {
      cleanups.push(connect(m, origin))
      await eventually(() => origin.connections.length === i + 1, `member ${i + 1} connected`)
    }
    expect([s2!.closed(), s3!.closed()]).toEqual([true, true])
    // Three connections in all: the next is refused, whoever it is.
    const before = refused.length
    cleanups.push(connect(await member(), origin))
    await eventually(() => refused.length === before + 1, 'the fourth refused')
    expect(refused.every((e) => e.code === 'ERR_TOO_MANY_CONNECTIONS')).toBe(true)
    expect(origin.connections).toHaveLength(3)
  })

  it('checks its options', () => {
    const base = { role: 'origin' as const, rootSecret: root }
    for (const bad of [{ memberProofTimeoutMs: 0 }, { maxConnections: 0 }, { maxUnprovenConnections: 1.5 }, { maxConnections: '8' }]) {
      expect(() => new HyphaNode({ ...base, ...(bad as object) })).toThrow(HyphaNodeError)
    }
  })
})
