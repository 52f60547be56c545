// Envelopes addressed to another node: a keyed node only forwards them (member tag, age,
// duplicates), leaving the signature and the decryption to their recipient, and keeps them out of
// the filter that guards its own deliveries.
import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import { createKeyPair, decodeEnvelope, sealEnvelope } from '@hypha/secure-channel'
import { until, settle } from '@hypha/test-utils'
import { Net, craft, reasons, text, str, type TestNode } from './helpers.js'

let net: Net
afterEach(async () => {
  await net?.destroy()
})

/** A — B — C, all three with the channel key; B also has a hostile member connected to it. */
async function keyedLine(options: { maxSeen?: number } = {}) {
  net = new Net()
  const a = await net.node('A')
  const b = await net.node('B', { maxEnvelopesPerSecond: 1_000_000, envelopeBurst: 1_000_000, ...options })
  const c = await net.node('C')
  await net.connect(a, b)
  await net.connect(b, c)
  const inject = await net.hostile(b)
  return { a, b, c, inject }
}

const sealFrom = (from: TestNode, payload: string, to: TestNode | null) =>
  sealEnvelope({
    channelKey: net.channelKey,
    memberKey: net.memberKey,
    keyPair: from.keyPair!,
    contentType: 'text/plain',
    payload: text(payload),
    recipient: to ? to.keyPair!.publicKey : null,
    ttl: 4,
    timestamp: Date.now()
  })

describe('envelopes addressed to another node', () => {
  it('a keyed node forwards them on the member tag alone; the recipient checks the signature', async () => {
    const { a, b, c, inject } = await keyedLine()
    // A's sender and a fresh envelope for C, its signature garbage: tagged by a member, so it passes B.
    const fields = { ...decodeEnvelope(sealFrom(a, 'genuine?', c)), ttl: 4 }
    inject(craft(fields, a.keyPair!, b4a.alloc(64, 9)))
    await until(() => c.rejected.length === 1, 5000, 'the forged envelope rejected at C')
    expect(reasons(c)).toEqual(['bad-signature'])
    expect(b.channel.stats.rejected['bad-signature']).toBe(0) // B ran no ed25519 verify on it
    expect(b.channel.stats.notForUs).toBe(1)
    expect(b.relayed).toHaveLength(1)
    expect(c.messages).toHaveLength(0)

    // A genuine message to C goes through B, once, and is read only by C.
    a.channel.send(text('for C'), { to: c.keyPair!.publicKey })
    await until(() => c.messages.length === 1, 5000, 'the genuine message at C')
    await settle(30)
    expect(str(c.messages[0]!.payload)).toBe('for C')
    expect(b.messages).toHaveLength(0)
    expect(b.channel.stats.notForUs).toBe(2)
    expect(b.channel.stats.delivered).toBe(0)
  })

  it('what B delivers is still checked in full: a bad signature on an envelope for B is rejected', async () => {
    const { a, b, inject } = await keyedLine()
    const fields = { ...decodeEnvelope(sealFrom(a, 'for B?', b)), ttl: 4 }
    inject(craft(fields, a.keyPair!, b4a.alloc(64, 9)))
    await until(() => b.rejected.length === 1, 5000, 'the forged envelope rejected at B')
    expect(reasons(b)).toEqual(['bad-signature'])
    expect(b.messages).toHaveLength(0)
  })

  it('a flood of unverified envelopes addressed elsewhere, in a sender\'s name, cannot evict that sender\'s delivered ids (no replay)', async () => {
    const { a, b, inject } = await keyedLine({ maxSeen: 100 })
    const toB = sealFrom(a, 'once only', b)
    inject(toB)
    await until(() => b.messages.length === 1, 5000, 'the message at B')

    // 1,000 envelopes claiming A as sender, addressed to someone else, garbage signatures: far more
    // than B's filter holds. Were they kept with B's delivered ids, A's oldest (the one above) would go.
    const elsewhere = createKeyPair().publicKey
    for (let i = 0; i < 1_000; i++) {
      const fields = { ...decodeEnvelope(sealFrom(a, `junk ${i}`, null)), recipient: elsewhere, ttl: 1 }
      inject(craft(fields, a.keyPair!, b4a.alloc(64, 9)))
    }
    await until(() => b.channel.stats.notForUs === 1_000, 10_000, 'the flood at B')

    inject(toB) // the replay
    await until(() => b.rejected.some((r) => r.reason === 'duplicate'), 5000, 'the replay refused')
    expect(b.messages).toHaveLength(1)
  })

  it('a node\'s own addressed envelope coming back through a relay is a duplicate, not forwarded again', async () => {
    net = new Net()
    const a = await net.node('A')
    const b = await net.node('B')
    const c = await net.node('C')
    await net.connect(a, b)
    await net.connect(a, b) // two connections: what B forwards on the second returns to A
    await net.connect(b, c)
    a.channel.send(text('for C'), { to: c.keyPair!.publicKey })
    await until(() => c.messages.length === 1, 5000, 'the message at C')
    await until(() => a.rejected.some((r) => r.reason === 'duplicate'), 5000, 'A refusing its own envelope')
    await settle(50)
    expect(a.channel.stats.notForUs).toBe(0)
    expect(a.relayed).toHaveLength(0)
    expect(c.messages).toHaveLength(1)
  })
})
