import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import {
  SecureChannelError,
  MAX_PENDING_PER_PEER,
  MEMBER_PROOF_MESSAGE_BYTES,
  createKeyPair,
  createMemberKey,
  encodeMemberProof,
  memberProof,
  connectionBinding,
  sealEnvelope,
  type PeerDropped
} from '@hypha/secure-channel'
import { until, settle, collect } from '@hypha/test-utils'
import { Net, MEMBER_KEY, reasons, text, str } from './helpers.js'

let net: Net
afterEach(async () => {
  await net?.destroy()
})

describe('membership proof per connection', () => {
  it('members prove themselves to each other on connect; a message sent before the proofs arrive waits for them', async () => {
    net = new Net()
    const a = await net.node('A')
    const b = await net.node('B')
    const provenAtB = collect(b.channel, 'peer-proven')
    await net.connect(a, b, 'memory', { proven: false })
    // Sent as soon as both sides are open: the proof may not have verified yet, then it is queued.
    const sent = a.channel.send(text('right away'))
    expect(sent.peers).toBe(1)
    await until(() => b.messages.length === 1)
    expect(str(b.messages[0]!.payload)).toBe('right away')
    expect(a.channel.stats.provenPeers).toBe(1)
    expect(b.channel.stats.provenPeers).toBe(1)
    expect(provenAtB).toHaveLength(1)
    expect(b.channel.stats.rejected['unproven-peer']).toBe(0)
  })

  it('the proof is bound to the connection: both Noise keys and its handshake hash', async () => {
    net = new Net()
    const a = await net.node('A')
    const b = await net.node('B')
    const conn = await net.connect(a, b, 'tcp')
    const pa = a.ephemeral.peers[0]!
    const pb = b.ephemeral.peers[0]!
    const ba = connectionBinding(pa)!
    const bb = connectionBinding(pb)!
    expect(b4a.equals(ba.handshakeHash, bb.handshakeHash)).toBe(true)
    expect(b4a.equals(ba.publicKey, bb.remotePublicKey)).toBe(true)
    expect(b4a.equals(ba.publicKey, conn.a.publicKey)).toBe(true)
    const fromA = encodeMemberProof(MEMBER_KEY, pa, false)!
    expect(fromA.byteLength).toBe(MEMBER_PROOF_MESSAGE_BYTES)
    expect(b4a.equals(fromA.subarray(1), memberProof(MEMBER_KEY, ba.publicKey, ba.remotePublicKey, ba.handshakeHash))).toBe(true)
    // The other direction differs (no reflection), and so does any other connection's.
    expect(b4a.equals(fromA.subarray(1), encodeMemberProof(MEMBER_KEY, pb, false)!.subarray(1))).toBe(false)
  })

  it('a stranger (no member key, no proof) gets nothing forwarded, and its envelopes are dropped as unproven before decoding', async () => {
    net = new Net()
    const { a, relay, c } = await net.line()
    const stranger = await net.rawPeer(relay)
    expect(relay.ephemeral.peers).toHaveLength(3) // connected, just not a member
    expect(relay.channel.isProven(stranger.victimPeer)).toBe(false)

    const N = 100
    for (let i = 0; i < N; i++) a.channel.send(text(`member ${i}`))
    await until(() => c.messages.length === N, 10_000, 'the members\' messages')
    // Well-formed, member-tagged envelopes (a captured member envelope replayed, and one sealed
    // with the member key): refused on the connection alone, nothing decoded, nothing forwarded.
    const captured = c.frames[0]!
    stranger.inject(captured)
    stranger.inject(sealEnvelope({ channelKey: net.channelKey, memberKey: MEMBER_KEY, keyPair: createKeyPair(), contentType: 'x', payload: text('x'), ttl: 4, timestamp: Date.now() }))
    stranger.inject(text('garbage'))
    await until(() => relay.channel.stats.rejected['unproven-peer'] === 3)
    await settle(50)
    expect(reasons(relay)).toEqual(['unproven-peer', 'unproven-peer', 'unproven-peer'])
    expect(relay.rejected.every((r) => r.id === undefined && r.sender === undefined)).toBe(true)
    expect(relay.channel.stats.rejected.malformed).toBe(0)
    expect(c.frames).toHaveLength(N)
    // The stranger received the relay's proof and not one envelope; what waits for it is bounded.
    expect(stranger.frames).toHaveLength(0)
    expect(stranger.proofs.length).toBeGreaterThanOrEqual(1)
    expect(relay.channel.stats.pendingDropped).toBe(N - MAX_PENDING_PER_PEER)
    expect(relay.channel.stats.droppedPeers).toBe(0)
    expect(relay.channel.stats.relayed).toBe(N)
  })

  it('a wrong proof drops the connection (peer-dropped, ERR_NOT_A_MEMBER); members go on', async () => {
    net = new Net()
    const { a, relay, c } = await net.line()
    const dropped = collect<PeerDropped>(relay.channel, 'peer-dropped')
    const ephemeralDropped = collect(relay.ephemeral, 'peer-dropped')

    // Made with another member key.
    const other = await net.rawPeer(relay)
    other.proof(encodeMemberProof(createMemberKey(), other.peer, true)!)
    await until(() => dropped.length === 1, 10_000, 'the wrong proof to drop the connection')
    expect(dropped[0]!.reason).toBe('not-a-member')
    expect(dropped[0]!.error).toBeInstanceOf(SecureChannelError)
    expect(dropped[0]!.error.code).toBe('ERR_NOT_A_MEMBER')
    expect(dropped[0]!.peer).toBe(other.victimPeer)
    expect(ephemeralDropped).toHaveLength(1)
    await until(() => !other.peer.opened, 10_000, 'the connection to close')

    // The relay's own proof, reflected back to it: bound to the direction, so wrong.
    const reflector = await net.rawPeer(relay)
    await until(() => reflector.proofs.length >= 1)
    reflector.proof(reflector.proofs[0]!)
    await until(() => dropped.length === 2, 10_000, 'the reflected proof to drop the connection')

    // A right proof for another connection (A's to the relay), replayed on this one.
    const replayer = await net.rawPeer(relay)
    replayer.proof(encodeMemberProof(MEMBER_KEY, a.ephemeral.peers[0]!, false)!)
    await until(() => dropped.length === 3, 10_000, 'the replayed proof to drop the connection')

    // Malformed: wrong length, unknown flag bits.
    const short = await net.rawPeer(relay)
    short.proof(new Uint8Array(5))
    await until(() => dropped.length === 4)
    const flagged = await net.rawPeer(relay)
    const good = encodeMemberProof(MEMBER_KEY, flagged.peer, false)!
    good[0] = 0x80
    flagged.proof(good)
    await until(() => dropped.length === 5)

    expect(dropped.map((d) => d.error.code)).toEqual(Array(5).fill('ERR_NOT_A_MEMBER'))
    expect(relay.channel.stats.droppedPeers).toBe(5)
    a.channel.send(text('still here'))
    await until(() => c.messages.length === 1)
    expect(str(c.messages[0]!.payload)).toBe('still here')
    expect(relay.ephemeral.peers).toHaveLength(2)
  })

  it('a SecureChannel with another member key is dropped by the first proof it sends, having received nothing', async () => {
    net = new Net()
    const a = await net.node('A')
    const outsider = await net.node('X', { memberKey: createMemberKey() })
    const dropped = collect<PeerDropped>(a.channel, 'peer-dropped')
    const { connectInProcess } = await import('@hypha/test-utils')
    const conn = connectInProcess(a.store, outsider.store)
    a.ephemeral.attach(conn.a)
    outsider.ephemeral.attach(conn.b)
    a.channel.send(text('not for X'))
    await until(() => dropped.length === 1, 10_000, 'the outsider to be dropped')
    expect(dropped[0]!.reason).toBe('not-a-member')
    await settle(50)
    expect(outsider.frames).toHaveLength(0)
    expect(outsider.messages).toHaveLength(0)
    conn.destroy()
  })

  it('a channel created after its connections opened still proves both ways', async () => {
    net = new Net()
    const a = await net.node('A')
    const b = await net.node('B')
    // B's channel is replaced by a new one after the connection is up: A's first proof went to
    // nobody, B's new channel asks again.
    b.channel.close()
    await net.connect(a, b, 'memory', { proven: false })
    const { SecureChannel } = await import('@hypha/secure-channel')
    const late = new SecureChannel({ ephemeral: b.ephemeral, memberKey: MEMBER_KEY, channelKey: net.channelKey, keyPair: createKeyPair() })
    const got = collect(late, 'message')
    await until(() => late.isProven(b.ephemeral.peers[0]!), 10_000, 'the late channel to verify A')
    await until(() => a.channel.isProven(a.ephemeral.peers[0]!), 10_000, 'A to verify the late channel')
    a.channel.send(text('late'))
    await until(() => got.length === 1)
    late.close()
  })
})
