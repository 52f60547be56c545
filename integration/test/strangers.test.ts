import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import { collect, cleanupsAfterEach, nextEvent } from '@hypha/test-utils'
import { SECURE_CONTENT_TYPE, sealEnvelope, createKeyPair, createChannelKey, createMemberKey } from '@hypha/secure-channel'
import {
  SEED_CONTENT_TYPE,
  SEED_CONTENT_TYPE_V1,
  encodeSeedAnnouncement,
  type SeedError
} from '@hypha/node-core'
import { rootSecret, eventually } from '@hypha/adapter-tests'
import { connectStranger, membersThroughRelay } from './fixtures.js'

// An always-on node given the member credential and two member devices, real nodes over TCP on
// 127.0.0.1, and a stranger who knows the database key (and so the discovery key) but not the root
// secret. The stranger speaks the ephemeral protocol directly and sends no membership proof: a
// stranger running a node of its own account would send a wrong one and be dropped at once
// (integration/test/member-proof.test.ts), so it could not show what follows.

const cleanups = cleanupsAfterEach(afterEach)
let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret()
})
const hex = (b: Uint8Array | null) => (b === null ? null : b4a.toString(b, 'hex'))
const random32 = () => createChannelKey()

async function setUp() {
  const { port, origin, relay: blind, phone } = await membersThroughRelay(root, cleanups)
  expect(hex(blind.discoveryKey)).toBe(hex(origin.discoveryKey))
  const stranger = await connectStranger(blind, port, cleanups)
  return { origin, blind, phone, stranger }
}

describe('an always-on node serves members only', { timeout: 60_000 }, () => {
  it("drops a stranger's envelopes (unproven-peer) before any decoding; members never see them", async () => {
    const { origin, blind, phone, stranger } = await setUp()
    const N = 2000
    const strangerKeys = { memberKey: createMemberKey(), channelKey: createChannelKey(), keyPair: createKeyPair() }
    for (let i = 0; i < N; i++) {
      const frame = sealEnvelope({ ...strangerKeys, contentType: 'x', payload: b4a.from(`junk ${i}`), ttl: 4, timestamp: Date.now() })
      stranger.ephemeral.broadcast(frame, { contentType: SECURE_CONTENT_TYPE })
    }
    // Its connection never proved membership: refused on that alone, before decoding.
    await eventually(() => blind.channel.stats.rejected['unproven-peer'] === N, `${N} unproven-peer at the always-on node`)
    expect(blind.channel.stats.rejected['not-a-member']).toBe(0)
    expect(blind.channel.stats.relayed).toBe(0)
    expect(blind.channel.stats.rejected['bad-signature']).toBe(0) // no ed25519 verify was run for them

    // Members' traffic keeps flowing through it.
    const got = collect(phone.channel, 'message')
    origin.channel.send(b4a.from('for my devices'))
    await eventually(() => got.length === 1, 'the phone gets the origin message')
    expect(b4a.toString(got[0].payload)).toBe('for my devices')
    // The members received the member envelope only: no decryption ran for the stranger's.
    for (const member of [origin, phone]) {
      expect(member.channel.stats.rejected['decrypt-failed']).toBe(0)
      expect(member.channel.stats.rejected['not-a-member']).toBe(0)
    }
    expect(phone.channel.stats.received).toBe(1)
    expect(origin.channel.stats.received).toBe(0)
  })

  it("ignores a stranger's seed announcements (255 random keys); a real writer's core is still seeded after", async () => {
    const { origin, blind, phone, stranger } = await setUp()
    const keys = Array.from({ length: 255 }, random32)
    const seeded = collect<Uint8Array>(blind, 'seeded')
    const bad = collect<SeedError>(blind, 'bad-announcement')
    // The old unauthenticated format, and the new one sealed with a key that is not the account's.
    const plain = b4a.concat([b4a.from([0xfd, 255, 0]), ...keys]) // compact uint 255 ‖ keys
    stranger.ephemeral.broadcast(plain, { contentType: SEED_CONTENT_TYPE_V1 })
    stranger.ephemeral.broadcast(encodeSeedAnnouncement(keys, createMemberKey()), { contentType: SEED_CONTENT_TYPE })
    await eventually(() => bad.length === 2, 'two bad announcements')
    expect(bad.map((e) => e.code)).toEqual(['ERR_NOT_A_MEMBER', 'ERR_NOT_A_MEMBER'])
    expect(seeded.some((k) => keys.some((x) => b4a.equals(x, k)))).toBe(false)
    expect(blind.seeded().map((c) => hex(c.key))).toEqual([hex(origin.key)])

    // A real writer added now is announced by the origin and kept.
    const phoneSeeded = nextEvent<[Uint8Array]>(blind, 'seeded', (k) => hex(k) === hex(phone.writerKey))
    await origin.addWriter(phone.writerKey!)
    await phoneSeeded
    expect(blind.seeded().map((c) => hex(c.key)).sort()).toEqual([hex(origin.key), hex(phone.writerKey)].sort())
  })
})
