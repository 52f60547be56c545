import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import c from 'compact-encoding'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { EphemeralExtension, PROTOCOL, muxerOf, encodeFrame, type EphemeralError, type EphemeralMessage } from '@hypha/ephemeral-ext'
import { SecureChannel, SECURE_CONTENT_TYPE, createKeyPair, type Rejection } from '@hypha/secure-channel'
import { deriveAccountKeys, memberGate } from '@hypha/node-core'
import {
  deriveRootSecret,
  AUTH_CONTENT_TYPE,
  decodeAuthMessage,
  encodeAuthMessage,
  type Account,
  type AuthMessageError
} from '@hypha/auth'
import { createStore, until, settle, collect, cleanupsAfterEach } from '@hypha/test-utils'
import { accountFixtures } from './fixtures.js'

// Bad input at every layer, from a hostile peer on a real connection to a real node with a real
// database: random, truncated, oversized and bit-flipped frames. Nothing may crash or reject
// unhandled (vitest fails the run on either), every frame must be reported, and the database must
// be exactly as it was. Fixed seeds, so a failure reproduces.

const KDF = { iterations: 1, memoryKiB: 64 }
const PERSON = 'fuzz@example.com'
const PASSPHRASE = 'fuzzing passphrase for hypha'
const N = Number(process.env.FUZZ_CASES ?? 1500)

const cleanups = cleanupsAfterEach(afterEach)
const { origin, device } = accountFixtures(cleanups)

function rng(seed: number) {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
}

function mutate(base: Uint8Array, rand: () => number, kind: number): Uint8Array {
  switch (kind % 4) {
    case 0: {
      const out = new Uint8Array(Math.floor(rand() * 400))
      for (let i = 0; i < out.length; i++) out[i] = Math.floor(rand() * 256)
      return out
    }
    case 1:
      return base.subarray(0, Math.floor(rand() * base.byteLength))
    case 2: {
      const out = b4a.from(base)
      const flips = 1 + Math.floor(rand() * 3)
      for (let i = 0; i < flips; i++) {
        const bit = Math.floor(rand() * out.byteLength * 8)
        out[bit >> 3]! ^= 1 << (bit & 7)
      }
      return out
    }
    default:
      return b4a.concat([base, new Uint8Array(1 + Math.floor(rand() * 40000)).fill(Math.floor(rand() * 256))])
  }
}

/** The person's origin node, plus a hostile peer connected to it that speaks the ephemeral protocol raw. */
async function setup() {
  const laptop = await origin({ passphrase: PASSPHRASE, name: PERSON })
  await laptop.node.batch([
    { type: 'put', key: 'a', value: 'alpha' },
    { type: 'put', key: 'b', value: 'beta' }
  ])
  const before = JSON.stringify(await snapshot(laptop))

  const { store } = await createStore()
  cleanups.push(() => store.close())
  // Someone who has the passphrase: the worst case. It passes the node's membership gate.
  const { channelKey, memberKey } = deriveAccountKeys(await deriveRootSecret(PASSPHRASE, PERSON, KDF))
  // Two connections: one for raw frames, one for a proper extension (a muxer pairs one channel
  // per protocol and database with the remote).
  const connection = async () => {
    const a = new NoiseSecretStream(true)
    const b = new NoiseSecretStream(false, undefined, { keyPair: laptop.node.noiseKeyPair })
    a.rawStream.pipe(b.rawStream).pipe(a.rawStream)
    a.on('error', () => {})
    const admitted = laptop.node.connections.length + 1
    laptop.node.addConnection(b, { transport: 'in-process', isInitiator: false })
    cleanups.push(() => a.destroy())
    // Through the node's membership gate first: until then the node pairs no channel of ours.
    await memberGate(a, memberKey)
    await until(() => laptop.node.connections.length === admitted, 10_000, 'the node to admit the hostile peer')
    return store.replicate(a)
  }
  const rawConnection = await connection()
  const replication = await connection()
  // Raw frames on the ephemeral protocol, below any validation of ours.
  const channel = muxerOf(rawConnection).createChannel({ protocol: PROTOCOL, id: laptop.node.discoveryKey })!
  const raw = channel.addMessage<Uint8Array>({ encoding: c.raw })
  channel.open()
  // And a proper extension + secure channel for well-formed envelopes (it holds the channel key:
  // the worst case, someone who has the passphrase).
  const ephemeral = new EphemeralExtension({ discoveryKey: laptop.node.discoveryKey, maxPayloadBytes: 64 * 1024 })
  cleanups.push(() => ephemeral.close())
  const peer = ephemeral.attach(replication)
  // The node's envelope limit, not the 64 KiB above: envelopes are padded up to the sender's limit,
  // and the node refuses what is over its own (secure-channel README, padding).
  const maxEnvelopeBytes = laptop.node.channel.maxEnvelopeBytes
  // Membership is proven per connection at the gate, as the node does: no secure-channel proof.
  const secure = new SecureChannel({ ephemeral, channelKey, memberKey, keyPair: createKeyPair(), maxEnvelopeBytes, requireMemberProof: false })
  cleanups.push(() => secure.close())
  await until(() => peer.opened && channel.opened && laptop.node.ephemeral.peers.length === 2, 10_000, 'the hostile peer to connect')
  return { laptop, raw, ephemeral, secure, before }
}

async function snapshot(account: Account) {
  const entries = (await account.node.list()).map((e) => [e.key, e.value])
  const writers = (await account.writers()).map((w) => b4a.toString(w.key, 'hex'))
  return { entries, writers, invalidOps: account.node.invalidOps }
}

describe(`fuzz: ${N} hostile frames per layer`, () => {
  it('ephemeral frames: every one reported or delivered, the database untouched', async () => {
    const { laptop, raw, before } = await setup()
    const bad = collect<EphemeralError>(laptop.node.ephemeral, 'bad-message')
    const good = collect<EphemeralMessage>(laptop.node.ephemeral, 'message')
    const rand = rng(1)
    const base = encodeFrame({ contentType: 'text/plain', payload: b4a.from('hello') })
    for (let i = 0; i < N; i++) raw.send(mutate(base, rand, i))
    raw.send(encodeFrame({ contentType: 'end', payload: new Uint8Array(0) }))
    await until(() => bad.length + good.length === N + 1, 30_000, 'every frame to be accounted for')
    console.log(`ephemeral: ${N} frames, ${bad.length} reported as bad, ${good.length - 1} well-formed`)
    expect(bad.length).toBeGreaterThan(N / 2)
    expect(JSON.stringify(await snapshot(laptop))).toBe(before)
  })

  it('secure-channel envelopes: every mutated one rejected, none delivered, the database untouched', async () => {
    const { laptop, ephemeral, secure, before } = await setup()
    const rejected = collect<Rejection>(laptop.node.channel, 'rejected')
    const delivered = collect(laptop.node.channel, 'message')
    // A real envelope to mutate, captured from the hostile side's own sealing.
    const sent: Uint8Array[] = []
    const broadcast = ephemeral.broadcast.bind(ephemeral)
    // With no per-channel proof (the gate proved the connection) the channel broadcasts.
    ephemeral.broadcast = (payload, options) => {
      if (options?.contentType === SECURE_CONTENT_TYPE) sent.push(payload)
      return broadcast(payload, options)
    }
    secure.send(b4a.from('genuine'), { contentType: 'text/plain' })
    await until(() => delivered.length === 1)
    // Envelopes over the node's ephemeral limit never reach its channel: that layer reports them.
    const oversized = collect<EphemeralError>(laptop.node.ephemeral, 'bad-message')
    const rand = rng(2)
    let injected = 0
    for (let i = 0; i < N; i++) {
      const frame = mutate(sent[0]!, rand, i)
      if (frame.byteLength > ephemeral.maxPayloadBytes) continue // the ephemeral layer's own limit
      if (frame.byteLength > 0 && i % 4 === 2 && frame[0] !== sent[0]![0] && b4a.equals(frame.subarray(1), sent[0]!.subarray(1))) {
        continue // only the unsigned ttl byte flipped: a legitimate duplicate, not a mutation
      }
      broadcast(frame, { contentType: SECURE_CONTENT_TYPE })
      injected++
    }
    await until(() => rejected.length + oversized.length === injected, 30_000, 'every envelope to be rejected')
    const reasons = rejected.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.reason]: (acc[r.reason] ?? 0) + 1 }), {})
    console.log(`secure-channel: ${injected} envelopes, all rejected:`, reasons, `oversized: ${oversized.length}`)
    expect(delivered).toHaveLength(1)
    expect(JSON.stringify(await snapshot(laptop))).toBe(before)
  })

  it('auth messages inside valid envelopes: undecodable ones reported, no writer added, the database untouched', async () => {
    const { laptop, secure, before } = await setup()
    const bad = collect<AuthMessageError>(laptop, 'bad-message')
    const prompts = collect(laptop, 'authorisation-request')
    const rand = rng(3)
    const base = encodeAuthMessage({
      type: 'request',
      requestId: b4a.alloc(16, 1),
      nodeName: 'Fuzzer',
      writerKey: b4a.alloc(32, 2),
      createdAt: Date.now(),
      commitment: b4a.alloc(32, 4),
      channelProof: b4a.alloc(64, 5)
    })
    let undecodable = 0
    let decodable = 0
    for (let i = 0; i < N; i++) {
      const payload = mutate(base, rand, i)
      // Larger payloads are refused by the node's ephemeral limit (the first test covers that).
      if (payload.byteLength > laptop.node.channel.maxPayloadBytes) continue
      try {
        decodeAuthMessage(payload)
        decodable++
      } catch {
        undecodable++
      }
      secure.send(payload, { contentType: AUTH_CONTENT_TYPE })
    }
    await until(() => bad.length === undecodable, 30_000, 'every undecodable message to be reported')
    await settle(200)
    console.log(`auth: ${undecodable + decodable} messages, ${undecodable} reported as bad, ${decodable} well-formed, ${prompts.length} prompts`)
    expect(bad).toHaveLength(undecodable)
    expect(prompts.length).toBeLessThanOrEqual(decodable) // a well-formed request may prompt; nothing else does
    expect(JSON.stringify(await snapshot(laptop))).toBe(before) // prompts are never approved here
  })

  it('the node still works afterwards: a real device is authorised', async () => {
    const { laptop } = await setup()
    const phone = await device('Phone', [laptop], { passphrase: PASSPHRASE, name: PERSON })
    const prompt = new Promise<any>((resolve) => laptop.once('authorisation-request', resolve))
    const request = phone.requestAuthorisation({ retryMs: 200 })
    await (await prompt).approve()
    await request.done
    expect(phone.writable).toBe(true)
  })
})
