import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import { collect, cleanupsAfterEach } from '@hypha/test-utils'
import { SECURE_CONTENT_TYPE, MEMBER_PROOF_CONTENT_TYPE, createMemberKey, encodeMemberProof, type PeerDropped } from '@hypha/secure-channel'
import { rootSecret, eventually } from '@hypha/adapter-tests'
import { connectStranger, membersThroughRelay } from './fixtures.js'

// The membership proof per connection, on a real always-on relay (given the member credential)
// over TCP on 127.0.0.1: a connection that has not proven membership gets no member envelope, and
// one that proves with another account's member key is closed.

const cleanups = cleanupsAfterEach(afterEach)
let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret()
})
async function setUp() {
  const { port, origin, relay: blind, phone } = await membersThroughRelay(root, cleanups)
  await eventually(
    () => blind.ephemeral.peers.every((p) => blind.channel.isProven(p)) && [origin, phone].every((m) => m.ephemeral.peers.every((p) => m.channel.isProven(p))),
    'the members and the always-on node to prove membership to each other'
  )
  return { port, origin, blind, phone }
}

describe('membership proof on the always-on relay', { timeout: 60_000 }, () => {
  it('a stranger connected to the relay receives no member envelope while the members talk through it', async () => {
    const { port, origin, blind, phone } = await setUp()
    const stranger = await connectStranger(blind, port, cleanups)
    const atPhone = collect(phone.channel, 'message')
    const atOrigin = collect(origin.channel, 'message')
    const N = 20
    for (let i = 0; i < N; i++) {
      origin.channel.send(b4a.from(`to the phone ${i}`))
      phone.channel.send(b4a.from(`to the origin ${i}`))
    }
    await eventually(() => atPhone.length === N && atOrigin.length === N, 'the members\' messages through the relay')
    expect(blind.channel.stats.relayed).toBe(2 * N)
    // What the stranger got from the relay: its proof (useless without the member key) and no envelope.
    expect(stranger.received.filter((m) => m.contentType === SECURE_CONTENT_TYPE)).toHaveLength(0)
    expect(stranger.received.filter((m) => m.contentType === MEMBER_PROOF_CONTENT_TYPE)).toHaveLength(1)
    expect(blind.ephemeral.peers).toHaveLength(3) // still connected: it just gets nothing
    // And what it sends goes nowhere: refused on the connection, before decoding.
    stranger.ephemeral.broadcast(b4a.from('anything'), { contentType: SECURE_CONTENT_TYPE })
    await eventually(() => blind.channel.stats.rejected['unproven-peer'] === 1, 'the stranger\'s envelope refused')
    expect(blind.channel.stats.rejected.malformed).toBe(0)
    expect(phone.channel.stats.received).toBe(N)
    expect(origin.channel.stats.received).toBe(N)
  })

  it('a connection with a wrong proof (another account\'s member key) is dropped with ERR_NOT_A_MEMBER and sees nothing; members still talk', async () => {
    const { port, origin, blind, phone } = await setUp()
    const dropped = collect<PeerDropped>(blind.channel, 'peer-dropped')
    const stranger = await connectStranger(blind, port, cleanups)
    const peer = stranger.ephemeral.peers[0]!
    stranger.ephemeral.send(peer, encodeMemberProof(createMemberKey(), peer, true)!, { contentType: MEMBER_PROOF_CONTENT_TYPE })
    await eventually(() => dropped.length === 1, 'the stranger to be dropped')
    expect(dropped[0]!.reason).toBe('not-a-member')
    expect(dropped[0]!.error.code).toBe('ERR_NOT_A_MEMBER')
    await eventually(() => blind.ephemeral.peers.length === 2 && stranger.ephemeral.peers.length === 0, 'the connection to close')
    const atPhone = collect(phone.channel, 'message')
    origin.channel.send(b4a.from('for my devices'))
    await eventually(() => atPhone.length === 1, 'the phone gets the origin message')
    expect(stranger.received.filter((m) => m.contentType === SECURE_CONTENT_TYPE)).toHaveLength(0)
    expect(blind.channel.stats.droppedPeers).toBe(1)
  })
})
