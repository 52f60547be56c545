// Values as large as the API accepts, over a real WebRTC data channel (node-datachannel, default
// settings): its SCTP messages are capped (libdatachannel: 256 KiB), so the transport must split
// what secret-stream writes. Everything stays on 127.0.0.1, as in webrtc.test.ts.
import { describe, it, expect, afterEach } from 'vitest'
import { WebSocket } from 'ws'
import * as datachannel from 'node-datachannel/polyfill'
import b4a from 'b4a'
import { MAX_VALUE_BYTES, type HyphaNode } from '@hypha/node-core'
import { rootSecret, startNode } from '@hypha/adapter-tests'
import { eventually, nextEvent } from '@hypha/test-utils'
import { TransportError } from '@hypha/node-core/transport'
import { webRtcTransport, candidateAddress, messageBytesFor, DEFAULT_MESSAGE_BYTES, MAX_MESSAGE_BYTES, type WebRtcTransport } from '../src/index.js'
import { nodeDatachannelWrtc } from '../src/node-datachannel.js'
import { signallingServer } from '../src/signalling-server.js'

const wrtc = nodeDatachannelWrtc(datachannel, { bindAddress: '127.0.0.1' })

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

function transport(signallingUrl: string, rtcConfig?: Record<string, unknown>): WebRtcTransport {
  return webRtcTransport({
    signallingUrl,
    wrtc,
    rtcConfig,
    WebSocket: WebSocket as any,
    candidateFilter: (candidate) => candidateAddress(candidate) === '127.0.0.1',
    reconnect: { initialDelayMs: 50 }
  })
}

/** Distinct bytes per value, so a mix-up (or a chunk out of order) shows. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff
  return bytes
}

/** Connections handed over (by side) from now on, and connections that close or fail. */
function watch(origin: WebRtcTransport, reader: WebRtcTransport): { connections: string[]; dropped: unknown[] } {
  const connections: string[] = []
  const dropped: unknown[] = []
  for (const [side, t] of [['origin', origin], ['reader', reader]] as const) {
    t.on('connection', () => connections.push(side))
    t.on('disconnect', () => dropped.push(`${side}: disconnect`))
    t.on('connection-error', (error) => dropped.push(`${side}: ${error.code} ${error.message}`))
  }
  return { connections, dropped }
}

async function arrives(reader: HyphaNode, key: string, value: Uint8Array | string): Promise<void> {
  await eventually(async () => {
    const got = await reader.get(key)
    return typeof value === 'string' ? got === value : got instanceof Uint8Array && b4a.equals(got, value)
  }, `${key} at the reader`, 60_000)
}

describe('large values over WebRTC', { timeout: 180_000 }, () => {
  it("splits writes by the channel's maxMessageSize as browsers and node-datachannel report it", () => {
    expect(DEFAULT_MESSAGE_BYTES).toBe(16 * 1024)
    expect(MAX_MESSAGE_BYTES).toBe(64 * 1024)
    expect(messageBytesFor(262_144)).toBe(MAX_MESSAGE_BYTES) // Chrome, libdatachannel
    expect(messageBytesFor(1_073_741_823)).toBe(MAX_MESSAGE_BYTES) // Firefox
    expect(messageBytesFor(Infinity)).toBe(MAX_MESSAGE_BYTES) // the peer sets no limit
    expect(messageBytesFor(8192)).toBe(8192)
    expect(messageBytesFor(1000.5)).toBe(1000)
    // Unknown: not connected yet (null), no RTCPeerConnection.sctp (undefined), nonsense.
    for (const unknown of [null, undefined, 0, 0.5, -1, NaN, '65536']) expect(messageBytesFor(unknown)).toBe(DEFAULT_MESSAGE_BYTES)
  })

  it('a 256 KiB value, a 4 MiB one, a batch near the limit and a small value after all replicate on one connection', async () => {
    const server = await signallingServer({ port: 0, host: '127.0.0.1' })
    cleanups.push(() => server.close())
    const root = rootSecret('webrtc: large values')
    const originTransport = transport(server.url)
    const readerTransport = transport(server.url)
    const origin = await startNode({ role: 'origin', rootSecret: root, transports: [originTransport] }, cleanups)
    await origin.put('hello', 'small first')
    const reader = await startNode({ role: 'read-only', rootSecret: root, lookupTimeoutMs: 30_000, transports: [readerTransport] }, cleanups)
    await arrives(reader, 'hello', 'small first')
    const { connections, dropped } = watch(originTransport, readerTransport) // from here on, one connection

    const quarter = pattern(256 * 1024, 1)
    await origin.put('quarter', quarter)
    await arrives(reader, 'quarter', quarter)

    const max = pattern(MAX_VALUE_BYTES, 2)
    await origin.put('max', max)
    await arrives(reader, 'max', max)

    const batch = [pattern(MAX_VALUE_BYTES, 3), pattern(MAX_VALUE_BYTES - 1, 4), pattern(1024 * 1024, 5)]
    await origin.batch(batch.map((value, i) => ({ type: 'put' as const, key: `batch/${i}`, value })))
    for (const [i, value] of batch.entries()) await arrives(reader, `batch/${i}`, value)

    await origin.put('after', 'small after')
    await arrives(reader, 'after', 'small after')

    // The connection that was up carried it all: none dropped, none re-dialled.
    expect(dropped).toEqual([])
    expect(connections).toEqual([])
    expect(reader.connections).toHaveLength(1)
  })

  it("honours the peer's smaller maximum message size (here 8 KiB, from its SDP)", async () => {
    const server = await signallingServer({ port: 0, host: '127.0.0.1' })
    cleanups.push(() => server.close())
    const root = rootSecret('webrtc: small messages')
    const originTransport = transport(server.url)
    const origin = await startNode({ role: 'origin', rootSecret: root, transports: [originTransport] }, cleanups)
    // libdatachannel announces its maxMessageSize as the SDP's max-message-size: the origin may send no more.
    await origin.put('hello', 'small first')
    const readerTransport = transport(server.url, { maxMessageSize: 8 * 1024 })
    const reader = await startNode({ role: 'read-only', rootSecret: root, lookupTimeoutMs: 30_000, transports: [readerTransport] }, cleanups)
    await arrives(reader, 'hello', 'small first')
    const { connections, dropped } = watch(originTransport, readerTransport)
    const value = pattern(256 * 1024, 6)
    await origin.put('value', value)
    await arrives(reader, 'value', value)
    expect(dropped).toEqual([])
    expect(connections).toEqual([])
  })

  it('a channel that fails on a send (as an oversized message did) is reported on that side as a TransportError, not a clean close; the reader re-dials', async () => {
    const server = await signallingServer({ port: 0, host: '127.0.0.1' })
    cleanups.push(() => server.close())
    const root = rootSecret('webrtc: failed channel')
    const originTransport = transport(server.url)
    const origin = await startNode({ role: 'origin', rootSecret: root, transports: [originTransport] }, cleanups)
    await origin.put('before', 'small')
    const reader = await startNode({ role: 'read-only', rootSecret: root, lookupTimeoutMs: 30_000, transports: [transport(server.url)] }, cleanups)
    await arrives(reader, 'before', 'small')

    // The origin's data channel refuses the next message, as libdatachannel does one over its limit.
    const [entry] = [...(originTransport as any).peers.values()]
    entry.peer._channel.send = () => {
      throw new Error('libdatachannel error while sending data channel message: Message size exceeds limit')
    }
    const closed = nextEvent<[string, TransportError | null]>(originTransport, 'peer-close')
    const reported = nextEvent<[TransportError]>(originTransport, 'connection-error')
    await origin.put('during', 'small')
    const [, error] = await closed
    expect(error).toBeInstanceOf(TransportError)
    expect(error).toMatchObject({ code: 'ERR_CONNECTION', cause: { code: 'ERR_DATA_CHANNEL' } })
    expect(error!.message).toMatch(/Message size exceeds limit/)
    const [lost] = await reported
    expect(lost).toMatchObject({ code: 'ERR_CONNECTION' })
    expect(lost.message).toMatch(/Message size exceeds limit/)
    // A new connection carries what was written meanwhile.
    await arrives(reader, 'during', 'small')
  })
})
