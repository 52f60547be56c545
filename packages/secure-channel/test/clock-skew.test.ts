// Issue 12, item 2: devices' clocks differ. Each node here runs on its own injected clock.
import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import { createKeyPair, sealEnvelope, DEFAULT_MAX_CLOCK_SKEW_MS, type ClockSkew } from '@hypha/secure-channel'
import { until, settle, collect } from '@hypha/test-utils'
import { Net, MEMBER_KEY, text, str, reasons } from './helpers.js'

let net: Net
afterEach(async () => {
  await net?.destroy()
})

const MIN = 60_000
const HOUR = 60 * MIN
const clock = (offset: number) => () => Date.now() + offset

describe('senders whose clock is off', () => {
  for (const offset of [45_000, -45_000, 5 * MIN, -5 * MIN, 9 * MIN, -9 * MIN]) {
    it(`a sender ${offset / 1000} s off is delivered, directly and through a keyless relay`, async () => {
      net = new Net()
      const a = await net.node('A', { now: clock(offset) })
      const b = await net.node('B')
      const relay = await net.node('R', { keyless: true })
      const c = await net.node('C')
      await net.connect(a, b)
      await net.connect(a, relay)
      await net.connect(relay, c)
      a.channel.send(text('hello'))
      await until(() => b.messages.length === 1 && c.messages.length === 1, 10_000, 'both to deliver')
      expect(str(c.messages[0]!.payload)).toBe('hello')
      expect(reasons(b)).toEqual([])
      expect(reasons(relay)).toEqual([])
      // And the answer, stamped by the receivers' clocks, reaches the skewed sender.
      b.channel.send(text('back'), { to: a.keyPair!.publicKey })
      c.channel.send(text('back'), { to: a.keyPair!.publicKey })
      await until(() => a.messages.length === 2, 10_000, 'the answers')
      expect(reasons(a)).toEqual([])
    })
  }

  it('a sender 2 hours off is refused, and a node with the key reports the skew (`clock-skew`) with what it sent', async () => {
    net = new Net()
    const ahead = await net.node('A', { now: clock(2 * HOUR) })
    const behind = await net.node('Z', { now: clock(-2 * HOUR) })
    const b = await net.node('B')
    const relay = await net.node('R', { keyless: true })
    await net.connect(ahead, b)
    await net.connect(behind, b)
    await net.connect(ahead, relay)
    const skews = collect<ClockSkew>(b.channel, 'clock-skew')
    const relaySkews = collect<ClockSkew>(relay.channel, 'clock-skew')
    const sent = ahead.channel.send(text('from the future'), { contentType: 'text/plain' })
    behind.channel.send(text('from the past'))
    await until(() => skews.length === 2, 10_000, 'both skews')
    const future = skews.find((s) => b4a.equals(s.sender, ahead.keyPair!.publicKey))!
    expect(b4a.equals(future.id, sent.id)).toBe(true)
    expect(str(future.payload)).toBe('from the future')
    expect(future.contentType).toBe('text/plain')
    expect(Math.abs(future.skewMs - 2 * HOUR)).toBeLessThan(5_000)
    const past = skews.find((s) => b4a.equals(s.sender, behind.keyPair!.publicKey))!
    expect(Math.abs(past.skewMs + 2 * HOUR)).toBeLessThan(5_000)
    expect(b.messages).toHaveLength(0)
    expect(reasons(b).sort()).toEqual(['expired', 'from-future'])
    // The relay cannot verify or open: it refuses and reports nothing, and forwards nothing.
    await until(() => reasons(relay).includes('from-future'))
    expect(relaySkews).toHaveLength(0)
    expect(relay.channel.stats.relayed).toBe(0)
  })

  it('a forged or foreign envelope with a far timestamp is refused without a `clock-skew` report', async () => {
    net = new Net()
    const b = await net.node('B')
    const inject = await net.hostile(b)
    const skews = collect<ClockSkew>(b.channel, 'clock-skew')
    const stranger = createKeyPair()
    // Signed, tagged, but under another channel key: authentic to nobody here.
    inject(sealEnvelope({ channelKey: b4a.alloc(32, 9), memberKey: MEMBER_KEY, keyPair: stranger, contentType: 'x', payload: text('j'), ttl: 1, timestamp: Date.now() + HOUR }))
    await until(() => reasons(b).length === 1)
    await settle(50)
    expect(reasons(b)).toEqual(['from-future'])
    expect(skews).toHaveLength(0)
  })

  it('a replayed skewed envelope is reported once (no second verify, no second report)', async () => {
    net = new Net()
    const b = await net.node('B')
    const inject = await net.hostile(b)
    const skews = collect<ClockSkew>(b.channel, 'clock-skew')
    const frame = sealEnvelope({ channelKey: net.channelKey, memberKey: MEMBER_KEY, keyPair: createKeyPair(), contentType: 'x', payload: text('j'), ttl: 1, timestamp: Date.now() + HOUR })
    for (let i = 0; i < 3; i++) inject(frame)
    await until(() => b.rejected.length === 3)
    await settle(50)
    expect(reasons(b)).toEqual(['from-future', 'from-future', 'from-future'])
    expect(skews).toHaveLength(1)
    expect(b.channel.stats.clockSkews).toBe(1)
  })
})

describe('a claimed skew buys no replay', () => {
  it('an envelope stamped 9 minutes behind is a duplicate for as long as it is accepted, then expired', async () => {
    net = new Net()
    let shift = 0
    const a = await net.node('A', { now: clock(-9 * MIN) })
    const b = await net.node('B', { now: () => Date.now() + shift })
    await net.connect(a, b)
    const inject = await net.hostile(b)
    a.channel.send(text('once'))
    await until(() => b.messages.length === 1)
    const frame = b.frames[0]!
    for (const s of [0, MIN, 2 * MIN, 3 * MIN - 5_000]) {
      shift = s
      inject(frame)
      await until(() => b.rejected.length === 1)
      expect(reasons(b)).toEqual(['duplicate'])
      b.rejected.length = 0
    }
    shift = 3 * MIN + 5_000
    inject(frame)
    await until(() => b.rejected.length === 1)
    expect(reasons(b)).toEqual(['expired'])
    expect(b.messages).toHaveLength(1)
  })

  it('flooded by a sender stamping 10 minutes ahead, an envelope of a sender 9 minutes behind stays a duplicate', async () => {
    net = new Net()
    const a = await net.node('A', { now: clock(-9 * MIN) })
    const b = await net.node('B', { maxSeen: 20, maxEnvelopesPerSecond: 1_000_000, envelopeBurst: 1_000_000 })
    await net.connect(a, b)
    const inject = await net.hostile(b)
    a.channel.send(text('once'))
    await until(() => b.messages.length === 1)
    const frame = b.frames[0]!
    // A member-key holder (it has the channel key here: the strongest case) stamping as far ahead as accepted.
    const flooder = createKeyPair()
    for (let i = 0; i < 100; i++) {
      inject(sealEnvelope({ channelKey: net.channelKey, memberKey: MEMBER_KEY, keyPair: flooder, contentType: 'x', payload: text('j'), ttl: 1, timestamp: Date.now() + DEFAULT_MAX_CLOCK_SKEW_MS - 5_000 }))
    }
    await until(() => b.messages.length === 101, 20_000, 'the flood')
    expect(seenSize(b)).toBeLessThanOrEqual(20)
    b.rejected.length = 0
    inject(frame)
    await until(() => b.rejected.length === 1)
    expect(reasons(b)).toEqual(['duplicate'])
    // A is not locked out: its new envelopes are newer than what was forgotten.
    a.channel.send(text('again'))
    await until(() => b.messages.length === 102)
  })

  it('the duplicate filter stays bounded under a flood stamped across the whole accepted range', async () => {
    net = new Net()
    const b = await net.node('B', { maxSeen: 100, maxEnvelopesPerSecond: 1_000_000, envelopeBurst: 1_000_000 })
    const inject = await net.hostile(b)
    const flooder = createKeyPair()
    for (let i = 0; i < 1000; i++) {
      const timestamp = Date.now() - 11 * MIN + ((i * 20 * MIN) / 1000)
      inject(sealEnvelope({ channelKey: net.channelKey, memberKey: MEMBER_KEY, keyPair: flooder, contentType: 'x', payload: text('j'), ttl: 1, timestamp }))
    }
    await until(() => b.channel.stats.received === 1000, 20_000)
    expect(seenSize(b)).toBeLessThanOrEqual(100)
  })
})

const seenSize = (node: { channel: unknown }) => (node.channel as { seen: { size: number } }).seen.size
