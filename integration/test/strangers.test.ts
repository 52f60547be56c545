import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import { collect, cleanupsAfterEach } from '@hypha/test-utils'
import { sealEnvelope, createKeyPair, createChannelKey, createMemberKey } from '@hypha/secure-channel'
import { encodeSeedAnnouncement, deriveAccountKeys, type HyphaNodeError } from '@hypha/node-core'
import { rootSecret, eventually } from '@hypha/adapter-tests'
import { connectRaw, membersThroughRelay } from './fixtures.js'

// An always-on node given the member credential and two member devices, real nodes over TCP on
// 127.0.0.1, and a stranger who knows the database key (and so the discovery key) but not the root
// secret. The membership gate (node-core's member-gate.ts) stands before everything on a
// connection: the stranger gets nothing and changes nothing, and its connection is closed.

const cleanups = cleanupsAfterEach(afterEach)
let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret()
})
const hex = (b: Uint8Array | null) => (b === null ? null : b4a.toString(b, 'hex'))
const PROOF_TIMEOUT_MS = 1_500

async function setUp(memberProofTimeoutMs = PROOF_TIMEOUT_MS) {
  const { port, origin, relay: blind, phone } = await membersThroughRelay(root, cleanups, undefined, { memberProofTimeoutMs })
  expect(hex(blind.discoveryKey)).toBe(hex(origin.discoveryKey))
  const refused = collect<HyphaNodeError>(blind, 'peer-refused')
  return { port, origin, blind, phone, refused }
}

describe('an always-on node serves members only', { timeout: 60_000 }, () => {
  it('a stranger that sends nothing gets nothing (no locator, no block, no message) and is closed at the proof timeout', async () => {
    const { port, origin, blind, phone, refused } = await setUp()
    const stranger = await connectRaw(blind, port, cleanups)
    const atPhone = collect(phone.channel, 'message')
    origin.channel.send(b4a.from('for my devices'))
    await eventually(() => atPhone.length === 1, 'the phone gets the origin message')
    await eventually(() => stranger.closed(), 'the stranger to be closed')
    expect(refused.map((e) => e.code)).toEqual(['ERR_MEMBER_PROOF_TIMEOUT'])
    expect(stranger.received).toEqual([])
    expect(blind.ephemeral.peers.filter((p) => p.opened)).toHaveLength(2)
  })

  it("a stranger's envelopes and seed announcements never reach the channel: closed at the gate, members untouched", async () => {
    // A long proof timeout: the connection must be closed for what it sends, not for its silence.
    const { port, origin, blind, phone, refused } = await setUp(20_000)
    const strangerKeys = { memberKey: createMemberKey(), channelKey: createChannelKey(), keyPair: createKeyPair() }
    // 255 random core keys, as a seed announcement sealed with a key of its own, then junk
    // envelopes (sealed beforehand, so that a busy machine sends them at once).
    const keys = Array.from({ length: 255 }, createChannelKey)
    const junk = Array.from({ length: 2000 }, (_, i) =>
      sealEnvelope({ ...strangerKeys, contentType: 'x', payload: b4a.from(`junk ${i}`), ttl: 4, timestamp: Date.now() })
    )
    const stranger = await connectRaw(blind, port, cleanups)
    const seeded = collect<Uint8Array>(blind, 'seeded')
    stranger.sendRaw(encodeSeedAnnouncement(keys, strangerKeys.memberKey))
    for (let i = 0; i < junk.length && !stranger.closed(); i++) {
      stranger.sendRaw(junk[i]!)
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve))
    }
    await eventually(() => stranger.closed(), 'the stranger to be closed')
    // Closed for what it sent before proving (over 64 KiB), not at the proof timeout.
    expect(refused.map((e) => e.code)).toEqual(['ERR_NOT_A_MEMBER'])
    // Nothing reached the secure channel or the seeder: no decoding, no verify, no relay.
    expect(blind.channel.stats.relayed).toBe(0)
    expect(Object.values(blind.channel.stats.rejected).every((n) => n === 0)).toBe(true)
    expect(seeded).toEqual([])
    expect(blind.seeded().map((c) => hex(c.key))).toEqual([hex(origin.key)])

    // Members' traffic keeps flowing, and only theirs reached the members.
    const got = collect(phone.channel, 'message')
    origin.channel.send(b4a.from('for my devices'))
    await eventually(() => got.length === 1, 'the phone gets the origin message')
    for (const member of [origin, phone]) {
      expect(Object.values(member.channel.stats.rejected).every((n) => n === 0)).toBe(true)
    }
  })

  it("another account's device is refused at once (ERR_NOT_A_MEMBER) and sees nothing", async () => {
    const { port, origin, blind, phone, refused } = await setUp()
    const other = await connectRaw(blind, port, cleanups, { memberKey: deriveAccountKeys(await rootSecret('another account')).memberKey, deadlineMs: 3_000 }).catch(
      (err) => err
    )
    // The raw peer waits for the relay's channel, which never opens: it fails, and the relay refused it.
    expect(other).toBeInstanceOf(Error)
    await eventually(() => refused.length === 1, 'the refusal')
    expect(refused[0]!.code).toBe('ERR_NOT_A_MEMBER')
    const atPhone = collect(phone.channel, 'message')
    origin.channel.send(b4a.from('for my devices'))
    await eventually(() => atPhone.length === 1, 'the phone gets the origin message')
  })
})
