import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import {
  SECURE_CONTENT_TYPE,
  SecureChannelError,
  createChannelKey,
  createKeyPair,
  sealEnvelope,
  type PeerDropped,
  type Rejection,
  type SecureMessage
} from '@hypha/secure-channel'
import { collect, nextEvent, cleanupsAfterEach } from '@hypha/test-utils'
import { rootSecret, eventually } from '@hypha/adapter-tests'
import { connectRaw, membersThroughRelay } from './fixtures.js'

// A passphrase holder (it has the member key, so it passes the membership gate) connects to an
// always-on node over real TCP and abuses the ephemeral channel: a flood of envelopes stamped 29 s
// in the future, and oversized frames. The members' messages must keep flowing, and the abuser's
// connection must be closed (by the rate limit and the frame-size limit). A stranger without the
// member key gets no further than the gate (integration/test/strangers.test.ts; here: big frames).

const cleanups = cleanupsAfterEach(afterEach)
const DEADLINE = 30_000

let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret('abuse account')
})

/** Two members (laptop, phone) connected only through an always-on relay, over TCP on 127.0.0.1. */
async function setUp() {
  const { port, origin: laptop, relay, phone } = await membersThroughRelay(root, cleanups, DEADLINE)
  return { port, laptop, relay, phone }
}

describe('a passphrase holder abusing the always-on relay over TCP', { timeout: 120_000 }, () => {
  it('a flood of future-stamped junk: the member\'s message arrives, the stranger is dropped', async () => {
    const { port, laptop, relay, phone } = await setUp()
    const stranger = await connectRaw(relay, port, cleanups, { memberKey: laptop.memberKey, deadlineMs: DEADLINE })
    const dropped = collect<PeerDropped>(relay.channel, 'peer-dropped')
    const ephemeralDropped = collect<Error & { code: string; cause?: unknown }>(relay.ephemeral, 'peer-dropped')
    const rejected = collect<Rejection>(relay.channel, 'rejected')
    const atLaptop = nextEvent<[SecureMessage]>(laptop.channel, 'message', () => true, 120_000)

    // The member speaks as soon as the relay starts dropping the stranger's excess: mid-flood.
    let sentByMember = false
    relay.channel.on('rejected', (r) => {
      if (r.reason !== 'rate-limited' || sentByMember) return
      sentByMember = true
      phone.channel.send(b4a.from('a prompt'), { contentType: 'text/plain' })
    })

    // Signed in advance so the flood is fast; after the first round the copies are duplicates,
    // which the relay's rate limit counts the same. Tagged with the account's member key, so the
    // member tag check lets them through to the duplicate filter.
    const memberKey = laptop.memberKey
    const key = createKeyPair()
    const junkKey = createChannelKey()
    const future = Date.now() + 29_000
    const junk = Array.from({ length: 10_000 }, () =>
      sealEnvelope({ channelKey: junkKey, memberKey, keyPair: key, contentType: 'x', payload: b4a.from('junk'), ttl: 4, timestamp: future })
    )
    let sent = 0
    while (!stranger.closed() && sent < 1_000_000) {
      for (let i = 0; i < 500; i++) stranger.ephemeral.broadcast(junk[sent++ % junk.length]!, { contentType: SECURE_CONTENT_TYPE })
      await new Promise((resolve) => setImmediate(resolve))
    }

    const [message] = await atLaptop
    expect(b4a.toString(message.payload)).toBe('a prompt')
    expect(sentByMember).toBe(true)
    await eventually(() => stranger.closed(), 'the stranger\'s connection to close', DEADLINE)
    expect(dropped).toHaveLength(1)
    expect(dropped[0]!.reason).toBe('rate-limited')
    expect(dropped[0]!.error).toBeInstanceOf(SecureChannelError)
    expect(dropped[0]!.error.code).toBe('ERR_RATE_LIMITED')
    expect(ephemeralDropped).toHaveLength(1)
    expect(ephemeralDropped[0]!.code).toBe('ERR_PEER_DROPPED')
    expect(ephemeralDropped[0]!.cause).toBe(dropped[0]!.error)
    expect(rejected.some((r) => r.reason === 'rate-limited')).toBe(true)
    expect(relay.channel.stats.rejected.expired).toBe(0)
    // The relay's flood did not use up the members' budget for the relay.
    expect(laptop.channel.stats.rejected['rate-limited']).toBe(0)
    expect(phone.channel.stats.rejected['rate-limited']).toBe(0)
    expect(relay.channel.stats.droppedPeers).toBe(1)
    await eventually(() => relay.ephemeral.peers.length === 2, 'the relay to forget the stranger', DEADLINE)

    // The members still talk both ways through the relay.
    const atPhone = nextEvent<[SecureMessage]>(phone.channel, 'message')
    laptop.channel.send(b4a.from('after the flood'))
    expect(b4a.toString((await atPhone)[0].payload)).toBe('after the flood')
  })

  it('oversized frames: the first one closes the abuser\'s connection, members are unaffected', async () => {
    const { port, laptop, relay, phone } = await setUp()
    const stranger = await connectRaw(relay, port, cleanups, {
      memberKey: laptop.memberKey,
      maxPayloadBytes: 16 * 1024 * 1024 - 1024,
      deadlineMs: DEADLINE
    })
    const dropped = collect<{ code: string }>(relay.ephemeral, 'peer-dropped')
    const big = new Uint8Array(1024 * 1024)
    for (let i = 0; i < 20; i++) stranger.ephemeral.broadcast(big, { contentType: 'x' })

    await eventually(() => stranger.closed(), 'the stranger\'s connection to close', DEADLINE)
    expect(dropped).toHaveLength(1)
    const error = dropped[0]!
    expect(error.code).toBe('ERR_FRAME_TOO_LARGE')
    await eventually(() => relay.ephemeral.peers.length === 2, 'the relay to forget the stranger', DEADLINE)

    const atLaptop = nextEvent<[SecureMessage]>(laptop.channel, 'message')
    phone.channel.send(b4a.from('still connected'))
    expect(b4a.toString((await atLaptop)[0].payload)).toBe('still connected')
    expect(error).toBeInstanceOf(Error)
  })

  it('a stranger\'s big frames: closed at the membership gate on the first one', async () => {
    const { port, laptop, relay, phone } = await setUp()
    const refused = collect<{ code: string }>(relay, 'peer-refused')
    const stranger = await connectRaw(relay, port, cleanups, { deadlineMs: DEADLINE })
    for (let i = 0; i < 20 && !stranger.closed(); i++) stranger.sendRaw(new Uint8Array(1024 * 1024))
    await eventually(() => stranger.closed(), 'the stranger\'s connection to close', DEADLINE)
    expect(refused.map((e) => e.code)).toEqual(['ERR_NOT_A_MEMBER'])
    const atLaptop = nextEvent<[SecureMessage]>(laptop.channel, 'message')
    phone.channel.send(b4a.from('still connected'))
    expect(b4a.toString((await atLaptop)[0].payload)).toBe('still connected')
  })
})
