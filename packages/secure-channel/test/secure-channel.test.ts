// One file on purpose (over 400 lines): every SecureChannel behaviour (send, relay, limits, member
// proof, stats) on the same in-process Noise pairs, so the receive checks can be read in order.
import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import {
  SecureChannel,
  SecureChannelError,
  SECURE_CONTENT_TYPE,
  createKeyPair,
  createChannelKey,
  createMemberKey,
  decodeEnvelope,
  openEnvelope,
  sealEnvelope,
  withTtl,
  DEFAULT_MAX_ENVELOPES_PER_SECOND,
  DEFAULT_ENVELOPE_BURST,
  DEFAULT_MAX_EXCESS_ENVELOPES,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  type PeerDropped,
  type RejectionReason
} from '@hypha/secure-channel'
import { until, settle, collect } from '@hypha/test-utils'
import { Net, MEMBER_KEY, craft, sealRaw, reasons, text, str, type TestNode } from './helpers.js'

let net: Net
afterEach(async () => {
  await net?.destroy()
})

describe('between two keyed nodes', () => {
  it('delivers, authenticated by the sender key, with content type', async () => {
    net = new Net()
    const a = await net.node('A')
    const b = await net.node('B')
    await net.connect(a, b)
    const sent = a.channel.send(text('hello B'), { contentType: 'text/plain' })
    expect(sent.peers).toBe(1)
    await until(() => b.messages.length === 1)
    const [m] = b.messages
    expect(str(m!.payload)).toBe('hello B')
    expect(m!.contentType).toBe('text/plain')
    expect(b4a.equals(m!.sender, a.keyPair!.publicKey)).toBe(true)
    expect(b4a.equals(m!.id, sent.id)).toBe(true)
    expect(m!.recipient).toBeNull()
    expect(a.messages).toHaveLength(0) // no echo to the sender
  })

  it('works over a real TCP socket', async () => {
    net = new Net()
    const a = await net.node('A')
    const b = await net.node('B')
    await net.connect(a, b, 'tcp')
    a.channel.send(text('over tcp'))
    b.channel.send(text('and back'))
    await until(() => b.messages.length === 1 && a.messages.length === 1)
    expect(str(b.messages[0]!.payload)).toBe('over tcp')
    expect(str(a.messages[0]!.payload)).toBe('and back')
  })

  it('addressed messages are delivered only to their recipient', async () => {
    net = new Net()
    const a = await net.node('A')
    const b = await net.node('B')
    const c = await net.node('C')
    await net.connect(a, b)
    await net.connect(b, c)
    a.channel.send(text('for C'), { to: c.keyPair!.publicKey })
    await until(() => c.messages.length === 1)
    await settle()
    expect(b.messages).toHaveLength(0)
    expect(b.channel.stats.notForUs).toBe(1)
    expect(b4a.equals(c.messages[0]!.recipient!, c.keyPair!.publicKey)).toBe(true)
  })
})

describe('through a relay without the key', () => {
  it('delivers both ways to nodes connected only through the relay, and the relay reads nothing', async () => {
    net = new Net()
    const a = await net.node('A')
    const relay = await net.node('relay', { keyless: true })
    const b = await net.node('B')
    await net.connect(a, relay, 'tcp')
    await net.connect(relay, b, 'tcp')
    expect(a.ephemeral.peers).toHaveLength(1) // A and B have no connection of their own
    expect(b.ephemeral.peers).toHaveLength(1)

    const secret = 'the secret marker 1f4a'
    a.channel.send(text(secret + ' from A'))
    b.channel.send(text(secret + ' from B'))
    await until(() => a.messages.length === 1 && b.messages.length === 1, 10_000, 'relayed delivery')
    expect(str(b.messages[0]!.payload)).toBe(secret + ' from A')
    expect(str(a.messages[0]!.payload)).toBe(secret + ' from B')

    expect(relay.channel.canDecrypt).toBe(false)
    expect(relay.messages).toHaveLength(0)
    expect(relay.relayed.map((r) => r.peers)).toEqual([1, 1])
    expect(relay.relayed.every((r) => r.bytes > secret.length)).toBe(true)
    // Everything the relay saw: headers it can parse, ciphertext it cannot open.
    expect(relay.frames).toHaveLength(2)
    for (const frame of relay.frames) {
      expect(b4a.toString(frame, 'latin1')).not.toContain('secret marker')
      const envelope = decodeEnvelope(frame)
      expect(openEnvelope(envelope, createChannelKey())).toBeNull()
      expect(openEnvelope(envelope, b4a.alloc(32))).toBeNull()
      expect(openEnvelope(envelope, net.channelKey)).not.toBeNull() // the frame is real, only the key is missing
    }
    expect(() => relay.channel.send(text('x'))).toThrow(expect.objectContaining({ code: 'ERR_NO_KEY' }))
  })

  it('forwards the frame with its ttl one lower, and leaves the bytes it received as they came', async () => {
    net = new Net()
    const { a, relay, c } = await net.line()
    a.channel.send(text('hop'))
    await until(() => c.messages.length === 1, 10_000, 'relayed delivery')
    // The relay sets the ttl in the received frame only while it hands it to its connections (no
    // copy per forward), then puts it back: its other listeners still see what arrived.
    const received = relay.frames[0]!
    const forwarded = c.frames[0]!
    expect(received[0]).toBe(a.channel.maxHops)
    expect(forwarded[0]).toBe(a.channel.maxHops - 1)
    expect(b4a.equals(forwarded.subarray(1), received.subarray(1))).toBe(true)
    expect(relay.relayed).toEqual([expect.objectContaining({ ttl: a.channel.maxHops - 1, peers: 1 })])
  })

  it('two paths deliver one message once (deduplicated)', async () => {
    net = new Net()
    const a = await net.node('A')
    const r1 = await net.node('R1', { keyless: true })
    const r2 = await net.node('R2', { keyless: true })
    const b = await net.node('B')
    await net.connect(a, r1)
    await net.connect(a, r2)
    await net.connect(r1, b)
    await net.connect(r2, b)
    a.channel.send(text('once'))
    await until(() => b.messages.length === 1 && reasons(b).length === 1)
    await settle(100)
    expect(b.messages).toHaveLength(1)
    expect(reasons(b)).toEqual(['duplicate'])
  })

  it('a ring of relays does not loop', async () => {
    net = new Net()
    const a = await net.node('A')
    const b = await net.node('B')
    const ring = [
      await net.node('R1', { keyless: true }),
      await net.node('R2', { keyless: true }),
      await net.node('R3', { keyless: true })
    ] as const
    await net.connect(ring[0], ring[1])
    await net.connect(ring[1], ring[2])
    await net.connect(ring[2], ring[0])
    await net.connect(a, ring[0])
    await net.connect(b, ring[1])

    for (let i = 0; i < 5; i++) a.channel.send(text(`m${i}`))
    await until(() => b.messages.length === 5)
    await settle(200)
    const framesSeen = ring.map((r) => r.frames.length)
    await settle(200)
    // Nothing still circulating: no relay has received anything new since.
    expect(ring.map((r) => r.frames.length)).toEqual(framesSeen)
    expect(b.messages.map((m) => str(m.payload))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    for (const r of ring) {
      expect(r.channel.stats.relayed).toBe(5) // each relay forwards each message once
      expect(r.frames.length).toBeLessThanOrEqual(5 * 3) // at most once from each neighbour
    }
  })

  it('the hop limit bounds how far a message travels', async () => {
    net = new Net()
    const a3 = await net.node('A3', { maxHops: 3 })
    const chain = [
      await net.node('R1', { keyless: true }),
      await net.node('R2', { keyless: true }),
      await net.node('R3', { keyless: true })
    ] as const
    const b = await net.node('B')
    await net.connect(a3, chain[0])
    await net.connect(chain[0], chain[1])
    await net.connect(chain[1], chain[2])
    await net.connect(chain[2], b)
    a3.channel.send(text('three hops are not enough'))
    await until(() => chain[2].frames.length === 1)
    await settle(100)
    expect(b.frames).toHaveLength(0)
    expect(b.messages).toHaveLength(0)

    const a4 = await net.node('A4', { maxHops: 4 })
    await net.connect(a4, chain[0])
    a4.channel.send(text('four hops are'))
    await until(() => b.messages.length === 1)
    expect(str(b.messages[0]!.payload)).toBe('four hops are')
  })
})

describe('every bad envelope is rejected and reported', () => {
  /** B is the victim; H is a hostile peer speaking the ephemeral protocol directly. */
  async function setup(options: { maxEnvelopeBytes?: number } = {}) {
    net = new Net()
    const a = await net.node('A')
    const b = await net.node('B', options)
    const c = await net.node('C')
    await net.connect(a, b)
    await net.connect(b, c) // C shows what B forwards
    const inject = await net.hostile(b)
    return { a, b, c, inject, attacker: createKeyPair() }
  }

  async function expectRejected(b: TestNode, c: TestNode, inject: () => void, reason: RejectionReason) {
    const before = b.rejected.length
    const framesAtC = c.frames.length
    inject()
    await until(() => b.rejected.length === before + 1, 5000, `rejection ${reason}`)
    expect(b.rejected[before]!.reason).toBe(reason)
    await settle(30)
    expect(b.messages).toHaveLength(0)
    expect(c.frames.length).toBe(framesAtC) // a rejected envelope is not forwarded
  }

  it('malformed, unsupported version, tampered, forged, wrong key, replayed, expired, future', async () => {
    const { a, b, c, inject, attacker } = await setup()
    const now = Date.now()
    const seal = (over: Partial<Parameters<typeof sealEnvelope>[0]> = {}) =>
      sealEnvelope({
        channelKey: net.channelKey,
        memberKey: net.memberKey,
        keyPair: attacker,
        contentType: 'text/plain',
        payload: text('hostile'),
        ttl: 4,
        timestamp: Date.now(),
        ...over
      })

    // Random bytes and truncations.
    await expectRejected(b, c, () => inject(b4a.concat([b4a.from([4, 3]), text('not an envelope')])), 'malformed')
    const good = seal()
    await expectRejected(b, c, () => inject(good.subarray(0, good.byteLength - 1)), 'malformed')
    await expectRejected(b, c, () => inject(b4a.concat([good, b4a.from([0])])), 'malformed')
    await expectRejected(b, c, () => inject(new Uint8Array(0)), 'malformed')
    // Version 1 (before member tags), version 2 (before padding) and version 4 are refused.
    for (const version of [1, 2, 4]) {
      const other = b4a.from(good)
      other[1] = version
      await expectRejected(b, c, () => inject(other), 'unsupported-version')
    }
    // Well made, signed and under the channel key, but tagged without the member key.
    await expectRejected(b, c, () => inject(seal({ memberKey: createMemberKey() })), 'not-a-member')

    // A real message from A, captured on the wire.
    a.channel.send(text('genuine'))
    await until(() => b.messages.length === 1)
    const captured = b.frames.at(-1)!
    b.messages.length = 0
    await until(() => c.messages.length === 1)

    // Replays: the same bytes, and the same bytes with another ttl.
    await expectRejected(b, c, () => inject(captured), 'duplicate')
    await expectRejected(b, c, () => inject(withTtl(captured, 1)), 'duplicate')

    // A tampered copy, not re-tagged: the member tag fails before anything else is looked at.
    const flippedCopy = b4a.from(captured)
    flippedCopy[flippedCopy.byteLength - 90]! ^= 1
    await expectRejected(b, c, () => inject(flippedCopy), 'not-a-member')
    // Tampered ciphertext of an unseen message, re-tagged by a member but not re-signed: the signature fails.
    const unseen = seal()
    const flippedEnv = decodeEnvelope(unseen)
    const flippedCt = b4a.from(flippedEnv.ciphertext)
    flippedCt[0]! ^= 1
    await expectRejected(b, c, () => inject(craft({ ...flippedEnv, ciphertext: flippedCt }, attacker, flippedEnv.signature)), 'bad-signature')
    // A garbage signature.
    const env = decodeEnvelope(captured)
    const fields = { ...env, ttl: 4 }
    const unseenFields = { ...decodeEnvelope(unseen), ttl: 4 }
    await expectRejected(b, c, () => inject(craft(unseenFields, attacker, b4a.alloc(64, 9))), 'bad-signature')
    // Replay with a fresh id, re-signed by the attacker as sender: the box key no longer matches.
    const freshId = craft({ ...fields, id: b4a.alloc(16, 5), sender: attacker.publicKey }, attacker)
    await expectRejected(b, c, () => inject(freshId), 'decrypt-failed')
    // Same with a fresh timestamp.
    const freshTime = craft({ ...fields, timestamp: now + 1, sender: attacker.publicKey }, attacker)
    await expectRejected(b, c, () => inject(freshTime), 'decrypt-failed')
    // Tampered ciphertext, re-signed by the attacker.
    const ct = b4a.from(env.ciphertext)
    ct[0]! ^= 1
    const tampered = craft({ ...fields, ciphertext: ct, sender: attacker.publicKey, id: b4a.alloc(16, 6) }, attacker)
    await expectRejected(b, c, () => inject(tampered), 'decrypt-failed')
    // Well-formed and signed, but under another channel key.
    await expectRejected(b, c, () => inject(seal({ channelKey: createChannelKey() })), 'decrypt-failed')
    // Sealed with the key and signed, but its content type is not UTF-8 (03 ed a0 80: a lone surrogate).
    await expectRejected(b, c, () => inject(sealRaw(net.channelKey, attacker, b4a.from('03eda080686980', 'hex'))), 'malformed')
    // Sealed with the key and signed, but without the padding (0x80, zeros) at its end.
    await expectRejected(b, c, () => inject(sealRaw(net.channelKey, attacker, b4a.from('01786869', 'hex'))), 'malformed')
    // Too old, and from too far in the future.
    // (past maxAgeMs + maxClockSkewMs, 12 minutes, and maxClockSkewMs, 10 minutes)
    await expectRejected(b, c, () => inject(seal({ timestamp: now - 13 * 60_000 })), 'expired')
    await expectRejected(b, c, () => inject(seal({ timestamp: now + 11 * 60_000 })), 'from-future')

    expect(b.channel.stats.rejected).toMatchObject({
      malformed: 6,
      'unsupported-version': 3,
      'not-a-member': 2,
      duplicate: 2,
      'bad-signature': 2,
      'decrypt-failed': 4,
      expired: 1,
      'from-future': 1
    })
    // B still works: a new genuine message goes through, and a valid one from the "attacker"
    // (who holds the channel key in this setup) is accepted, proving the rejections above were specific.
    a.channel.send(text('still fine'))
    inject(unseen)
    await until(() => b.messages.length === 2)
    expect(b.messages.map((m) => str(m.payload)).sort()).toEqual(['hostile', 'still fine'])
  })

  it('a keyless relay forwards on the member tag alone: a bad signature is caught where it is delivered, and a forged copy of a sender\'s id burns nothing', async () => {
    net = new Net()
    const { a, relay, c } = await net.line()
    const inject = await net.hostile(relay) // a member-key holder on the relay
    const genuine = sealEnvelope({ channelKey: net.channelKey, memberKey: net.memberKey, keyPair: a.keyPair!, contentType: 'text/plain', payload: text('genuine'), ttl: 4, timestamp: Date.now() })
    // The same sender and id as the genuine one, other bytes, a garbage signature, tagged by a member.
    const fields = { ...decodeEnvelope(genuine), ttl: 4 }
    const forged = craft({ ...fields, nonce: b4a.alloc(24, 3) }, a.keyPair!, b4a.alloc(64, 9))

    inject(forged)
    await until(() => c.rejected.length === 1, 5000, 'the forged copy rejected at C')
    expect(reasons(c)).toEqual(['bad-signature']) // the relay ran no ed25519 verify: C did
    expect(relay.channel.stats.rejected['bad-signature']).toBe(0)
    expect(relay.relayed).toHaveLength(1)

    // The genuine envelope with that sender and id still goes through the relay, once.
    inject(genuine)
    await until(() => c.messages.length === 1, 5000, 'the genuine message at C')
    expect(str(c.messages[0]!.payload)).toBe('genuine')
    inject(genuine)
    await until(() => relay.rejected.some((r) => r.reason === 'duplicate'), 5000, 'the replay refused at the relay')
    expect(c.messages).toHaveLength(1)
  })

  it('oversized envelopes are refused by the channel limit, and by the ephemeral limit below it', async () => {
    const { b, c, inject, attacker } = await setup({ maxEnvelopeBytes: 2048 })
    const big = sealEnvelope({
      channelKey: net.channelKey,
      memberKey: net.memberKey,
      keyPair: attacker,
      contentType: 'x',
      payload: new Uint8Array(4000),
      ttl: 4,
      timestamp: Date.now()
    })
    await expectRejected(b, c, () => inject(big), 'too-large')

    const badMessages: string[] = []
    b.ephemeral.on('bad-message', (err) => badMessages.push(err.code))
    const huge = new Uint8Array(b.ephemeral.maxPayloadBytes + 1000)
    inject(huge)
    await until(() => badMessages.length === 1)
    expect(badMessages).toEqual(['ERR_FRAME_TOO_LARGE'])
  })

  it('2,000 random and bit-flipped frames: all rejected, none delivered, nothing crashes', async () => {
    const { a, b, c, inject } = await setup()
    a.channel.send(text('seed frame'))
    await until(() => b.frames.length === 1)
    const base = b.frames[0]!
    let seed = 42
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32)
    const N = 2000
    for (let i = 0; i < N; i++) {
      let frame: Uint8Array
      if (i % 2 === 0) {
        frame = new Uint8Array(Math.floor(rand() * 400))
        for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(rand() * 256)
      } else {
        frame = b4a.from(base)
        const bit = 8 + Math.floor(rand() * (frame.length * 8 - 8)) // any bit but the unsigned ttl byte
        frame[bit >> 3]! ^= 1 << (bit & 7)
      }
      inject(frame)
    }
    await until(() => b.rejected.length === N, 20_000, `${N} rejections`)
    expect(b.messages).toHaveLength(1)
    expect(c.messages).toHaveLength(1)
    const counts = b.channel.stats.rejected
    expect(Object.values(counts).reduce((x, y) => x + y, 0)).toBe(N)
  })

  it('a stranger (no member key) gets nothing through a relay, and members run no crypto for it', async () => {
    net = new Net()
    const { a, relay, c } = await net.line()
    const inject = await net.hostile(relay)
    // The stranger has the code and its own channel key (it cannot have the account's), signs
    // properly, and tags with a key of its own.
    const stranger = createKeyPair()
    const strangerKey = createMemberKey()
    const N = 500
    for (let i = 0; i < N; i++) {
      inject(
        sealEnvelope({
          channelKey: createChannelKey(),
          memberKey: strangerKey,
          keyPair: stranger,
          contentType: 'x',
          payload: text(`junk ${i}`),
          ttl: 4,
          timestamp: Date.now()
        })
      )
    }
    await until(() => relay.channel.stats.rejected['not-a-member'] === N, 20_000, `${N} not-a-member at the relay`)
    a.channel.send(text('members still talk'))
    await until(() => c.messages.length === 1)
    expect(relay.channel.stats.relayed).toBe(1)
    expect(relay.relayed.every((r) => b4a.equals(r.sender, a.keyPair!.publicKey))).toBe(true)
    // C received exactly the member's envelope: nothing of the stranger's reached it.
    expect(c.frames).toHaveLength(1)
    expect(c.channel.stats.received).toBe(1)
    expect(c.channel.stats.rejected['decrypt-failed']).toBe(0)
  })
})

describe('sending', () => {
  it('refuses bad arguments with typed errors', async () => {
    net = new Net()
    const a = await net.node('A')
    expect(() => a.channel.send(new Uint8Array(a.channel.maxPayloadBytes + 1))).toThrow(
      expect.objectContaining({ code: 'ERR_PAYLOAD_TOO_LARGE' })
    )
    expect(() => a.channel.send('text' as unknown as Uint8Array)).toThrow(SecureChannelError)
    expect(() => a.channel.send(text('x'), { to: new Uint8Array(3) })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    expect(() => a.channel.send(text('x'), { contentType: 'é'.repeat(100) })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    expect(() => a.channel.send(text('x'), { contentType: 'text/\uD800' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    expect(a.channel.send(new Uint8Array(a.channel.maxPayloadBytes)).peers).toBe(0) // the limit itself fits
    a.channel.close()
    expect(() => a.channel.send(text('x'))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }))
  })

  it('a payload at the limit fits in the ephemeral frame and arrives', async () => {
    net = new Net()
    const a = await net.node('A')
    const b = await net.node('B')
    await net.connect(a, b)
    const payload = new Uint8Array(a.channel.maxPayloadBytes).fill(3)
    a.channel.send(payload, { contentType: 'x'.repeat(128), to: b.keyPair!.publicKey })
    await until(() => b.messages.length === 1)
    expect(b.messages[0]!.payload.byteLength).toBe(payload.byteLength)
  })

  it('validates its options', () => {
    const ephemeral = new EphemeralExtension({ discoveryKey: new Uint8Array(32) })
    const memberKey = MEMBER_KEY
    expect(() => new SecureChannel({ ephemeral, memberKey, channelKey: new Uint8Array(31), keyPair: createKeyPair() })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    expect(() => new SecureChannel({ ephemeral, memberKey, channelKey: createChannelKey() })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    for (const bad of [undefined, null, new Uint8Array(31), 'ab'.repeat(32)]) {
      expect(() => new SecureChannel({ ephemeral, memberKey: bad as unknown as Uint8Array })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
      )
    }
    expect(() => new SecureChannel({ ephemeral, memberKey, maxHops: 0 })).toThrow(SecureChannelError)
    expect(() => new SecureChannel({ ephemeral, memberKey, maxEnvelopeBytes: 100 })).toThrow(SecureChannelError)
    expect(new SecureChannel({ ephemeral, memberKey }).canDecrypt).toBe(false)
  })
})

// The floods below carry the member tag (MEMBER_KEY): a passphrase holder's flood, the case the
// tag cannot stop. A stranger's untagged envelopes are refused as not-a-member before any of this.
describe('a member key holder flooding the relay with envelopes stamped just under the skew (10 minutes) in the future', () => {
  it('does not stall members: the filter stays within its cap and a member\'s message is delivered', async () => {
    net = new Net()
    const { a, relay, c } = await net.line({ maxSeen: 1000, ...noRateLimit })
    const inject = await net.hostile(relay)
    // A passphrase holder without a device: its own key pair and a channel key of its own, but the
    // account's member key, so the relay's tag check passes these.
    const stranger = createKeyPair()
    const strangerKey = createChannelKey()
    const total = 20_000
    const future = Date.now() + DEFAULT_MAX_CLOCK_SKEW_MS - 1_000
    for (let i = 0; i < total; i++) {
      inject(
        sealEnvelope({ channelKey: strangerKey, memberKey: MEMBER_KEY, keyPair: stranger, contentType: 'x', payload: text('junk'), ttl: 1, timestamp: future })
      )
    }
    await until(() => relay.channel.stats.received >= total, 60_000, 'the flood to arrive')
    expect(relay.channel.stats.rejected.expired).toBe(0)
    expect(seenSize(relay)).toBeLessThanOrEqual(1000)

    a.channel.send(text('a prompt'))
    await until(() => c.messages.length === 1, 10_000, 'the member\'s message')
    expect(str(c.messages[0]!.payload)).toBe('a prompt')
    expect(relay.rejected.filter((r) => r.reason === 'expired')).toHaveLength(0)
  })

  it('envelopes further ahead than the skew are refused as from-future and never enter the filter', async () => {
    net = new Net()
    const relay = await net.node('R', { keyless: true, maxSeen: 100 })
    const inject = await net.hostile(relay)
    const stranger = createKeyPair()
    for (let i = 0; i < 50; i++) {
      inject(sealEnvelope({ channelKey: createChannelKey(), memberKey: MEMBER_KEY, keyPair: stranger, contentType: 'x', payload: text('j'), ttl: 1, timestamp: Date.now() + DEFAULT_MAX_CLOCK_SKEW_MS + 1_000 }))
    }
    await until(() => relay.channel.stats.rejected['from-future'] === 50, 10_000)
    expect(seenSize(relay)).toBe(0)
  })
})

const noRateLimit = { maxEnvelopesPerSecond: 1_000_000, envelopeBurst: 1_000_000 }
const seenSize = (node: TestNode) => (node.channel as unknown as { seen: { size: number } }).seen.size

describe('per-connection rate limit', () => {
  it('drops a flooding connection\'s excess, then the connection, while members get through', async () => {
    net = new Net()
    const t0 = Date.now()
    // A frozen clock: no tokens come back, so the counts below are exact.
    const limits = { maxEnvelopesPerSecond: 100, envelopeBurst: 100, maxExcessEnvelopes: 500, now: () => t0 }
    const { a, relay, c } = await net.line(limits)
    const inject = await net.hostile(relay)
    const dropped = collect<PeerDropped>(relay.channel, 'peer-dropped')
    const ephemeralDropped = collect(relay.ephemeral, 'peer-dropped')
    const stranger = createKeyPair()
    const strangerKey = createChannelKey()
    for (let i = 0; i < 2000; i++) {
      inject(sealEnvelope({ channelKey: strangerKey, memberKey: MEMBER_KEY, keyPair: stranger, contentType: 'x', payload: text('junk'), ttl: 2, timestamp: t0 }))
    }
    await until(() => dropped.length === 1, 30_000, 'the flooding connection to be dropped')
    expect(dropped[0]!.reason).toBe('rate-limited')
    expect(dropped[0]!.error).toBeInstanceOf(SecureChannelError)
    expect(dropped[0]!.error.code).toBe('ERR_RATE_LIMITED')
    expect(ephemeralDropped).toHaveLength(1)
    expect(relay.channel.stats.rejected['rate-limited']).toBe(501)
    expect(relay.channel.stats.droppedPeers).toBe(1)
    expect(relay.rejected.filter((r) => r.reason === 'rate-limited')).toHaveLength(501)
    // At most the burst of the stranger's envelopes was forwarded.
    expect(relay.channel.stats.relayed).toBeLessThanOrEqual(100)
    expect(relay.ephemeral.peers).toHaveLength(2)

    a.channel.send(text('still here'))
    await until(() => c.messages.length === 1, 10_000, 'the member\'s message')
    expect(str(c.messages[0]!.payload)).toBe('still here')
    await settle(50)
    expect(dropped).toHaveLength(1)
  })

  it('a relay forwards at most maxForwardedPerSecond from one connection, so a flood cannot use up the next node\'s budget', async () => {
    net = new Net()
    const t0 = Date.now()
    const limits = { maxEnvelopesPerSecond: 1000, envelopeBurst: 1000, maxForwardedPerSecond: 50, now: () => t0 }
    const relay = await net.node('R', { keyless: true, ...limits })
    const c = await net.node('C', { maxEnvelopesPerSecond: 100, envelopeBurst: 100, maxExcessEnvelopes: 100 })
    const a = await net.node('A')
    await net.connect(relay, c)
    await net.connect(a, relay)
    const inject = await net.hostile(relay)
    const stranger = createKeyPair()
    const strangerKey = createChannelKey()
    for (let i = 0; i < 500; i++) {
      inject(sealEnvelope({ channelKey: strangerKey, memberKey: MEMBER_KEY, keyPair: stranger, contentType: 'x', payload: text('junk'), ttl: 2, timestamp: t0 }))
    }
    await until(() => relay.channel.stats.received === 500, 30_000, 'the flood to reach the relay')
    expect(relay.channel.stats.relayed).toBe(50)
    expect(relay.channel.stats.forwardLimited).toBe(450)
    // The member's own connection has its own forwarding budget; C never hit its limit.
    a.channel.send(text('through'))
    await until(() => c.messages.length === 1, 10_000, 'the member\'s message')
    expect(c.channel.stats.rejected['rate-limited']).toBe(0)
  })

  it('validates the limits', () => {
    const ephemeral = new EphemeralExtension({ discoveryKey: b4a.alloc(32) })
    for (const bad of [{ maxEnvelopesPerSecond: 0 }, { envelopeBurst: 1.5 }, { maxExcessEnvelopes: -1 }]) {
      expect(() => new SecureChannel({ ephemeral, memberKey: MEMBER_KEY, ...bad })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    }
    const channel = new SecureChannel({ ephemeral, memberKey: MEMBER_KEY })
    expect(channel.limits).toEqual({
      maxEnvelopesPerSecond: DEFAULT_MAX_ENVELOPES_PER_SECOND,
      envelopeBurst: DEFAULT_ENVELOPE_BURST,
      maxExcessEnvelopes: DEFAULT_MAX_EXCESS_ENVELOPES,
      maxForwardedPerSecond: DEFAULT_MAX_ENVELOPES_PER_SECOND / 4
    })
  })
})
