// One file on purpose (over 400 lines): every EphemeralExtension behaviour (frames, limits, peers,
// broadcast, batched writes) on the same real Protomux pairs and TCP helpers.
import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import c from 'compact-encoding'
import {
  EphemeralExtension,
  EphemeralError,
  PROTOCOL,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  muxerOf,
  type EphemeralMessage
} from '@hypha/ephemeral-ext'
import {
  createStore,
  connectInProcess,
  connectTcp,
  nextEvent,
  collect,
  until,
  settle,
  type Connection, cleanupsAfterEach } from '@hypha/test-utils'

const cleanups = cleanupsAfterEach(afterEach)

async function stores(n: number) {
  const made = []
  for (let i = 0; i < n; i++) {
    const s = await createStore()
    cleanups.push(() => s.store.close())
    made.push(s)
  }
  return made
}

function ext(discoveryKey: Uint8Array, maxPayloadBytes?: number) {
  const e = new EphemeralExtension({ discoveryKey, maxPayloadBytes })
  cleanups.push(() => e.close())
  return e
}

function track(conn: Connection) {
  cleanups.push(() => conn.destroy())
  return conn
}

/** A hostile peer: opens the same protocol by hand and can write any bytes as a frame. */
function rawSender(stream: unknown, discoveryKey: Uint8Array) {
  const channel = muxerOf(stream as object).createChannel({ protocol: PROTOCOL, id: discoveryKey })!
  const message = channel.addMessage<Uint8Array>({ encoding: c.raw })
  channel.open()
  return { channel, send: (bytes: Uint8Array) => message.send(bytes) }
}

const text = (s: string) => b4a.from(s)

describe.each([
  ['in-process streams', async (a: any, b: any) => connectInProcess(a, b)],
  ['a real TCP socket', (a: any, b: any) => connectTcp(a, b)]
])('two peers over %s', (_name, connect) => {
  it('sends, broadcasts and reports the peer and content type', async () => {
    const [A, B] = await stores(2)
    const dk = A!.core.discoveryKey
    const conn = track(await connect(A!.store, B!.store))
    const ea = ext(dk)
    const eb = ext(dk)
    const peerOfB = ea.attach(conn.a)
    const peerOfA = eb.attach(conn.b)
    await Promise.all([nextEvent(ea, 'peer-open'), nextEvent(eb, 'peer-open')])
    expect(ea.peers).toEqual([peerOfB])
    expect(b4a.equals(peerOfB.remotePublicKey!, conn.b.noiseStream.publicKey)).toBe(true)

    const got = nextEvent<[EphemeralMessage]>(eb, 'message')
    ea.send(peerOfB, text('hello'), { contentType: 'text/plain' })
    const [msg] = await got
    expect(b4a.toString(msg.payload)).toBe('hello')
    expect(msg.contentType).toBe('text/plain')
    expect(msg.peer).toBe(peerOfA)

    const back = nextEvent<[EphemeralMessage]>(ea, 'message')
    expect(eb.broadcast(text('to all'))).toBe(1)
    const [reply] = await back
    expect(b4a.toString(reply.payload)).toBe('to all')
    expect(reply.contentType).toBe('application/octet-stream')
  })

  it('runs beside replication on the same connection', async () => {
    const [A, B] = await stores(2)
    const conn = track(await connect(A!.store, B!.store))
    const remote = B!.store.get({ key: A!.core.key })
    await remote.ready()
    const ea = ext(A!.core.discoveryKey)
    const eb = ext(A!.core.discoveryKey)
    const pb = ea.attach(conn.a)
    eb.attach(conn.b)
    await until(() => ea.peers.length === 1 && eb.peers.length === 1)
    const got = nextEvent<[EphemeralMessage]>(eb, 'message')
    await A!.core.append(text('block 0'))
    ea.send(pb, text('ephemeral'))
    expect(b4a.toString((await got)[0].payload)).toBe('ephemeral')
    expect(b4a.toString(await remote.get(0))).toBe('block 0')
  })
})

describe('three peers', () => {
  it('broadcast reaches every connected peer; send reaches only its peer', async () => {
    const [A, B, C] = await stores(3)
    const dk = A!.core.discoveryKey
    const ab = track(connectInProcess(A!.store, B!.store))
    const ac = track(await connectTcp(A!.store, C!.store))
    const ea = ext(dk)
    const eb = ext(dk)
    const ec = ext(dk)
    const toB = ea.attach(ab.a)
    ea.attach(ac.a)
    eb.attach(ab.b)
    ec.attach(ac.b)
    await until(() => ea.peers.length === 2, 5000, 'two open peers')
    const atB = collect<EphemeralMessage>(eb, 'message')
    const atC = collect<EphemeralMessage>(ec, 'message')

    expect(ea.broadcast(text('all'))).toBe(2)
    await until(() => atB.length === 1 && atC.length === 1)
    ea.send(toB, text('only B'))
    await until(() => atB.length === 2)
    await settle()
    expect(atC.map((m) => b4a.toString(m.payload))).toEqual(['all'])
    expect(atB.map((m) => b4a.toString(m.payload))).toEqual(['all', 'only B'])

    expect(ea.broadcast(text('not B'), { except: toB })).toBe(1)
    await until(() => atC.length === 2)
    await settle()
    expect(atB).toHaveLength(2)

    expect(ea.broadcast(text('B only'), { only: (peer) => peer === toB })).toBe(1)
    expect(ea.broadcast(text('nobody'), { only: (peer) => peer === toB, except: toB })).toBe(0)
    await until(() => atB.length === 3)
    await settle()
    expect(atB.map((m) => b4a.toString(m.payload))).toEqual(['all', 'only B', 'B only'])
    expect(atC).toHaveLength(2)
  })
})

describe('scoping and joining', () => {
  it('is scoped to one database: a channel for another discovery key hears nothing', async () => {
    const [A, B] = await stores(2)
    const conn = track(connectInProcess(A!.store, B!.store))
    const ea = ext(A!.core.discoveryKey)
    const other = ext(B!.core.discoveryKey)
    const pa = ea.attach(conn.a)
    const po = other.attach(conn.b)
    const heard = collect(other, 'message')
    await settle(100)
    expect(pa.opened).toBe(false)
    expect(po.opened).toBe(false)
    expect(ea.broadcast(text('x'))).toBe(0)
    expect(() => ea.send(pa, text('x'))).toThrow(expect.objectContaining({ code: 'ERR_PEER_NOT_OPEN' }))
    await settle()
    expect(heard).toHaveLength(0)
  })

  it('ignores a peer that does not speak the protocol, and replication still works', async () => {
    const [A, B] = await stores(2)
    const conn = track(connectInProcess(A!.store, B!.store))
    const ea = ext(A!.core.discoveryKey)
    const bad = collect(ea, 'bad-message')
    const pa = ea.attach(conn.a)
    const remote = B!.store.get({ key: A!.core.key })
    await A!.core.append(text('data'))
    expect(b4a.toString(await remote.get(0))).toBe('data')
    expect(pa.opened).toBe(false)
    expect(ea.broadcast(text('anyone?'))).toBe(0)
    expect(bad).toHaveLength(0)
  })

  it('opens for a peer that attaches later', async () => {
    const [A, B] = await stores(2)
    const conn = track(connectInProcess(A!.store, B!.store))
    const dk = A!.core.discoveryKey
    const ea = ext(dk)
    ea.attach(conn.a)
    await settle(100)
    expect(ea.peers).toHaveLength(0)
    const eb = ext(dk)
    eb.attach(conn.b)
    await until(() => ea.peers.length === 1 && eb.peers.length === 1, 5000, 'the late channel to open')
    const got = nextEvent<[EphemeralMessage]>(eb, 'message')
    ea.broadcast(text('late'))
    expect(b4a.toString((await got)[0].payload)).toBe('late')
  })

  it('a peer-open listener can send at once', async () => {
    const [A, B] = await stores(2)
    const conn = track(connectInProcess(A!.store, B!.store))
    const ea = ext(A!.core.discoveryKey)
    const eb = ext(A!.core.discoveryKey)
    ea.on('peer-open', (peer) => ea.send(peer, text('hello on open')))
    const got = nextEvent<[EphemeralMessage]>(eb, 'message')
    ea.attach(conn.a)
    eb.attach(conn.b)
    expect(b4a.toString((await got)[0].payload)).toBe('hello on open')
  })

  it('attaching the same connection twice gives the same peer', async () => {
    const [A, B] = await stores(2)
    const conn = track(connectInProcess(A!.store, B!.store))
    const ea = ext(A!.core.discoveryKey)
    expect(ea.attach(conn.a)).toBe(ea.attach(conn.a))
  })

  it('emits peer-close when the connection ends, and detach closes only the channel', async () => {
    const [A, B, C] = await stores(3)
    const dk = A!.core.discoveryKey
    const ab = track(connectInProcess(A!.store, B!.store))
    const ac = track(connectInProcess(A!.store, C!.store))
    const ea = ext(dk)
    const eb = ext(dk)
    const ec = ext(dk)
    ea.attach(ab.a)
    const toC = ea.attach(ac.a)
    eb.attach(ab.b)
    ec.attach(ac.b)
    await until(() => ea.peers.length === 2)

    const closed = nextEvent(eb, 'peer-close')
    ab.destroy()
    await closed
    await until(() => ea.peers.length === 1)

    const remote = C!.store.get({ key: A!.core.key })
    ea.detach(toC)
    await nextEvent(ec, 'peer-close')
    await A!.core.append(text('still replicating'))
    expect(b4a.toString(await remote.get(0))).toBe('still replicating')
  })
})

describe('limits on send', () => {
  it('refuses an oversized payload, a bad content type and a closed extension with typed errors', async () => {
    const [A, B] = await stores(2)
    const conn = track(connectInProcess(A!.store, B!.store))
    const ea = ext(A!.core.discoveryKey)
    const eb = ext(A!.core.discoveryKey)
    const pb = ea.attach(conn.a)
    eb.attach(conn.b)
    await until(() => ea.peers.length === 1 && eb.peers.length === 1)
    const heard = collect(eb, 'message')

    const big = new Uint8Array(DEFAULT_MAX_PAYLOAD_BYTES + 1)
    expect(() => ea.send(pb, big)).toThrow(expect.objectContaining({ code: 'ERR_PAYLOAD_TOO_LARGE' }))
    expect(() => ea.broadcast(big)).toThrow(EphemeralError)
    expect(() => ea.send(pb, text('x'), { contentType: '' })).toThrow(
      expect.objectContaining({ code: 'ERR_CONTENT_TYPE_INVALID' })
    )
    expect(() => ea.send(pb, text('x'), { contentType: 'x'.repeat(200) })).toThrow(
      expect.objectContaining({ code: 'ERR_CONTENT_TYPE_INVALID' })
    )
    expect(() => ea.send(pb, text('x'), { contentType: 'a/\uD800' })).toThrow(
      expect.objectContaining({ code: 'ERR_CONTENT_TYPE_INVALID' })
    )
    expect(() => ea.send(pb, 'not bytes' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    ea.send(pb, new Uint8Array(DEFAULT_MAX_PAYLOAD_BYTES)) // exactly the limit is fine
    await until(() => heard.length === 1)

    ea.close()
    expect(() => ea.send(pb, text('x'))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }))
    expect(() => ea.attach(conn.a)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }))
  })

  it('validates its options', () => {
    expect(() => new EphemeralExtension({ discoveryKey: new Uint8Array(5) })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    expect(() => new EphemeralExtension({ discoveryKey: new Uint8Array(32), maxPayloadBytes: 0 })).toThrow(
      EphemeralError
    )
  })
})

describe('bad frames on receive', () => {
  async function hostilePair(maxPayloadBytes?: number) {
    const [A, B] = await stores(2)
    const dk = A!.core.discoveryKey
    const conn = track(connectInProcess(A!.store, B!.store))
    const eb = ext(dk, maxPayloadBytes)
    eb.attach(conn.b)
    const attacker = rawSender(conn.a, dk)
    await nextEvent(eb, 'peer-open')
    const remote = B!.store.get({ key: A!.core.key })
    return { A: A!, eb, attacker, remote, bad: collect<EphemeralError>(eb, 'bad-message'), good: collect(eb, 'message') }
  }

  it('reports oversized, truncated, wrong-version and trailing-byte frames and keeps the connection', async () => {
    const { A, eb, attacker, remote, bad, good } = await hostilePair(1024)
    const valid = encodeFrame({ contentType: 'text/plain', payload: text('ok') })
    const oversized = encodeFrame({ contentType: 'a/b', payload: new Uint8Array(1025) })
    const wayOversized = new Uint8Array(64 * 1024)
    const truncated = valid.subarray(0, valid.byteLength - 1)
    const wrongVersion = b4a.concat([b4a.from([2]), valid.subarray(1)])
    const trailing = b4a.concat([valid, b4a.from([0])])
    const emptyType = encodeFrame({ contentType: '', payload: text('x') })
    const notUtf8Type = b4a.from('0103eda08000', 'hex') // content type: a lone surrogate's bytes

    for (const frame of [oversized, wayOversized, truncated, wrongVersion, trailing, emptyType, new Uint8Array(0), notUtf8Type]) {
      attacker.send(frame)
    }
    attacker.send(valid)
    await until(() => good.length === 1, 5000, 'the valid frame')
    expect(bad.map((e) => e.code)).toEqual([
      'ERR_PAYLOAD_TOO_LARGE',
      'ERR_FRAME_TOO_LARGE',
      'ERR_MALFORMED_FRAME',
      'ERR_UNSUPPORTED_VERSION',
      'ERR_MALFORMED_FRAME',
      'ERR_CONTENT_TYPE_INVALID',
      'ERR_MALFORMED_FRAME',
      'ERR_CONTENT_TYPE_INVALID'
    ])
    expect(good.map((m) => m.contentType)).toEqual(['text/plain'])
    expect(eb.peers).toHaveLength(1)
    await A.core.append(text('after'))
    expect(b4a.toString(await remote.get(0))).toBe('after')
  })

  it('survives 2,000 random-byte frames from a fixed seed: every one reported or delivered', async () => {
    const { eb, attacker, bad, good } = await hostilePair()
    let seed = 0x5eed
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
    const N = 2000
    for (let i = 0; i < N; i++) {
      const frame = new Uint8Array(Math.floor(rand() * 300))
      for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(rand() * 256)
      // Half the frames start like a real one, so decoding gets past the version byte.
      if (i % 2 === 0 && frame.length > 0) frame[0] = 1
      attacker.send(frame)
    }
    attacker.send(encodeFrame({ contentType: 'end', payload: text('end') }))
    await until(() => good.some((m: EphemeralMessage) => m.contentType === 'end'), 10_000, 'the end marker')
    expect(bad.length + good.length).toBe(N + 1)
    expect(bad.length).toBeGreaterThan(N / 2)
    expect(eb.peers).toHaveLength(1)
  })
})

describe.each([
  ['in-process streams', async (a: any, b: any) => connectInProcess(a, b)],
  ['a real TCP socket', (a: any, b: any) => connectTcp(a, b)]
])('a frame over maxFrameBytes, over %s', (_name, connect) => {
  it('drops the connection that sent it and says why (peer-dropped, ERR_FRAME_TOO_LARGE)', async () => {
    const [A, B] = await stores(2)
    const dk = A!.core.discoveryKey
    const conn = track(await connect(A!.store, B!.store))
    const eb = ext(dk)
    expect(eb.maxFrameBytes).toBe(DEFAULT_MAX_FRAME_BYTES)
    eb.attach(conn.b)
    const attacker = rawSender(conn.a, dk)
    await nextEvent(eb, 'peer-open')
    const good = collect<EphemeralMessage>(eb, 'message')
    const dropped = collect<[EphemeralError, unknown]>(eb, 'peer-dropped')
    const bad = collect(eb, 'bad-message')
    const closed = nextEvent(eb, 'peer-close')
    const attackerClosed = new Promise((resolve) => conn.a.once('close', resolve))

    attacker.send(encodeFrame({ contentType: 'text/plain', payload: text('before') }))
    const big = new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1)
    for (let i = 0; i < 5; i++) attacker.send(big)
    attacker.send(encodeFrame({ contentType: 'text/plain', payload: text('after') }))

    await closed
    await attackerClosed // the attacker's end of the connection is closed too
    expect(good.map((m) => b4a.toString(m.payload))).toEqual(['before'])
    expect(bad).toHaveLength(0)
    expect(dropped).toHaveLength(1)
    expect((dropped[0] as unknown as EphemeralError).code).toBe('ERR_FRAME_TOO_LARGE')
    expect(conn.b.destroyed).toBe(true)
    expect(eb.peers).toHaveLength(0)
  })

  it('maxFrameBytes is configurable and never below what maxPayloadBytes needs', async () => {
    expect(() => new EphemeralExtension({ discoveryKey: new Uint8Array(32), maxPayloadBytes: 1000, maxFrameBytes: 1000 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    const wide = new EphemeralExtension({ discoveryKey: new Uint8Array(32), maxPayloadBytes: 100 * 1024 })
    expect(wide.maxFrameBytes).toBeGreaterThan(100 * 1024)
    const [A, B] = await stores(2)
    const dk = A!.core.discoveryKey
    const conn = track(await connect(A!.store, B!.store))
    const eb = new EphemeralExtension({ discoveryKey: dk, maxPayloadBytes: 100, maxFrameBytes: 2000 })
    cleanups.push(() => eb.close())
    eb.attach(conn.b)
    const attacker = rawSender(conn.a, dk)
    await nextEvent(eb, 'peer-open')
    const bad = collect<EphemeralError>(eb, 'bad-message')
    const dropped = nextEvent<[EphemeralError]>(eb, 'peer-dropped')
    attacker.send(new Uint8Array(2000)) // over the payload limit, within the frame limit: reported only
    attacker.send(new Uint8Array(2001)) // over the frame limit: the connection goes
    expect((await dropped)[0].code).toBe('ERR_FRAME_TOO_LARGE')
    expect(bad.map((e) => e.code)).toEqual(['ERR_FRAME_TOO_LARGE'])
  })
})

describe('listener errors', () => {
  it('a throwing message listener surfaces as error and does not drop the connection', async () => {
    const [A, B] = await stores(2)
    const dk = A!.core.discoveryKey
    const conn = track(connectInProcess(A!.store, B!.store))
    const ea = ext(dk)
    const eb = ext(dk)
    const pb = ea.attach(conn.a)
    eb.attach(conn.b)
    await until(() => ea.peers.length === 1 && eb.peers.length === 1)
    let calls = 0
    eb.on('message', () => {
      calls++
      if (calls === 1) throw new Error('app bug')
    })
    const errored = nextEvent<[Error]>(eb, 'error')
    ea.send(pb, text('1'))
    expect((await errored)[0].message).toBe('app bug')
    ea.send(pb, text('2'))
    await until(() => calls === 2)
    expect(eb.peers).toHaveLength(1)
  })
})

describe('batched writes (batchWrites)', () => {
  /** Counts the writes that reach the connection's Noise stream (each one encryption and one socket write). */
  function countWrites(stream: unknown) {
    const noise = muxerOf(stream as object).stream as unknown as { write: (data: Uint8Array) => boolean }
    const write = noise.write.bind(noise)
    const counter = { writes: 0 }
    noise.write = (data) => {
      counter.writes++
      return write(data)
    }
    return counter
  }

  async function tcpPair(batchWrites?: boolean) {
    const [A, B] = await stores(2)
    const dk = A!.core.discoveryKey
    const conn = track(await connectTcp(A!.store, B!.store))
    const ea = new EphemeralExtension({ discoveryKey: dk, batchWrites })
    const eb = ext(dk)
    cleanups.push(() => ea.close())
    const toB = ea.attach(conn.a)
    eb.attach(conn.b)
    await until(() => ea.peers.length === 1 && eb.peers.length === 1, 5000, 'the pair to open')
    await settle()
    return { conn, ea, eb, toB }
  }

  it('what is sent in one turn reaches the connection as one write, every message in order', async () => {
    const { conn, ea, eb, toB } = await tcpPair()
    expect(ea.batchWrites).toBe(true)
    const counter = countWrites(conn.a)
    const got = collect<EphemeralMessage>(eb, 'message')
    for (let i = 0; i < 50; i++) {
      if (i % 2) ea.send(toB, text(`m${i}`))
      else ea.broadcast(text(`m${i}`), { contentType: 'text/plain' })
    }
    // Nothing written yet: the batch leaves once the turn's I/O is handled.
    expect(counter.writes).toBe(0)
    await until(() => got.length === 50)
    expect(counter.writes).toBe(1)
    expect(got.map((m) => b4a.toString(m.payload))).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`))
    expect(got.map((m) => m.contentType).slice(0, 2)).toEqual(['text/plain', 'application/octet-stream'])
  })

  it('batchWrites false writes each message at once (and can be switched at any time)', async () => {
    const { conn, ea, eb, toB } = await tcpPair(false)
    const counter = countWrites(conn.a)
    const got = collect<EphemeralMessage>(eb, 'message')
    for (let i = 0; i < 10; i++) ea.send(toB, text(`m${i}`))
    expect(counter.writes).toBe(10)
    ea.batchWrites = true
    for (let i = 10; i < 20; i++) ea.send(toB, text(`m${i}`))
    expect(counter.writes).toBe(10)
    await until(() => got.length === 20)
    expect(counter.writes).toBe(11)
    expect(got.map((m) => b4a.toString(m.payload))).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`))
  })

  it('close() writes what was sent before it at once', async () => {
    const { conn, ea, toB } = await tcpPair()
    const counter = countWrites(conn.a)
    ea.send(toB, text('last words'))
    expect(counter.writes).toBe(0)
    ea.close()
    // The batch, then the channel's close message.
    expect(counter.writes).toBe(2)
  })

  it('a connection destroyed while its batch waits costs nothing: the other peers still get theirs', async () => {
    const [A, B, C] = await stores(3)
    const dk = A!.core.discoveryKey
    const ab = track(await connectTcp(A!.store, B!.store))
    const ac = track(await connectTcp(A!.store, C!.store))
    const ea = ext(dk)
    const eb = ext(dk)
    const ec = ext(dk)
    ea.attach(ab.a)
    ea.attach(ac.a)
    eb.attach(ab.b)
    ec.attach(ac.b)
    await until(() => ea.peers.length === 2 && eb.peers.length === 1 && ec.peers.length === 1, 5000, 'two open peers')
    const atC = collect<EphemeralMessage>(ec, 'message')
    const errors = collect(ea, 'error')
    expect(ea.broadcast(text('one'))).toBe(2)
    ab.a.destroy()
    await until(() => atC.length === 1)
    expect(ea.broadcast(text('two'))).toBe(1)
    await until(() => atC.length === 2)
    expect(atC.map((m) => b4a.toString(m.payload))).toEqual(['one', 'two'])
    expect(errors).toEqual([])
  })
})
