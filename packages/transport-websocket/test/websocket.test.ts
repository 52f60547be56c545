import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import { describe, expect, it, vi } from 'vitest'
import b4a from 'b4a'
import { WebSocket, WebSocketServer } from 'ws'
import { collect, settle, until } from '@hypha/test-utils'
import { WebSocketStream, webSocketClient } from '../src/index.js'
import { webSocketServer, MIN_MAX_PAYLOAD } from '../src/server.js'
import { TransportError, type WebSocketConstructor, type WebSocketLike } from '@hypha/node-core'
import { cleanups, createPair, track } from '@hypha/adapter-tests'
// Compile-time: both the browser's WebSocket and ws's fit the client's `WebSocket` option.
const browserWebSocketFits: WebSocketConstructor | undefined = undefined as unknown as typeof globalThis.WebSocket
const wsWebSocketFits: WebSocketConstructor = WebSocket
void browserWebSocketFits, wsWebSocketFits

/** A plain `ws` client (not a transport), for probing paths and sending garbage. */
async function rawWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url)
  ws.on('error', () => {})
  cleanups.push(() => ws.terminate())
  await once(ws, 'open')
  return ws
}

async function httpServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => res.end(req.url === '/' ? 'the page' : 'not found'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(() => new Promise((r) => { server.closeAllConnections(); server.close(r) }))
  return server
}

describe('websocket transport', () => {
  // The contract every transport keeps (replication, hand-over after Noise, stop, re-dial, …) is in suite.test.ts.
  it('the client names the URL it dialled in ConnectionInfo', async () => {
    const { a, b } = await createPair()
    const server = track(webSocketServer({ port: 0 }))
    await server.start(a.context)
    const url = `ws://127.0.0.1:${server.port}`
    const client = track(webSocketClient({ url, WebSocket }))
    await client.start(b.context)
    await until(() => a.connections.length === 1 && b.connections.length === 1, 10_000, 'connection')
    expect(a.connections[0]!.info).toMatchObject({ transport: 'websocket', isInitiator: false })
    expect(b.connections[0]!.info).toEqual({ transport: 'websocket', isInitiator: true, remote: `${url}/` })
  })

  it('WebSocketStream applies back-pressure both ways and delivers every message intact', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    cleanups.push(() => new Promise((r) => wss.close(r)))
    await once(wss, 'listening')
    const accepted = once(wss, 'connection')
    const hwm = 16 * 1024
    const chunk = 64 * 1024
    const count = 256 // 16 MiB: more than loopback's kernel buffers can hide
    const sender = new WebSocketStream(new WebSocket(`ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`), { highWaterMark: hwm })
    sender.on('error', () => {})
    cleanups.push(() => sender.destroy())
    const [serverWs] = (await accepted) as [WebSocket]
    // Nobody reads this side yet: once its buffer is full it must pause the socket (read back-pressure)…
    const receiver = new WebSocketStream(serverWs as unknown as WebSocketLike)
    receiver.on('error', () => {})
    cleanups.push(() => receiver.destroy())
    for (let i = 0; i < count; i++) sender.write(b4a.alloc(chunk, i % 256))

    // …and the sender must then stop handing messages to its socket (write back-pressure).
    await until(() => sender.socket.bufferedAmount > hwm, 10_000, 'the socket to fill')
    await settle(50)
    expect(sender.socket.bufferedAmount).toBeLessThanOrEqual(hwm + chunk)
    expect(serverWs.isPaused).toBe(true)

    let received = 0
    let intact = true
    receiver.on('data', (data: any) => {
      const fill = received++ % 256
      if (data.byteLength !== chunk || data[0] !== fill || data[chunk - 1] !== fill) intact = false
    })
    await until(() => received === count, 20_000, 'every message')
    expect(intact).toBe(true)
    expect(serverWs.isPaused).toBe(false)
  })

  it('attached to an http.Server, serves only its path and leaves the rest alone', async () => {
    const { a, b, remoteCore } = await createPair()
    const httpSrv = await httpServer()
    const base = `127.0.0.1:${(httpSrv.address() as net.AddressInfo).port}`
    const server = track(webSocketServer({ server: httpSrv, path: '/hypha' }))
    await server.start(a.context)
    expect(server.port).toBe((httpSrv.address() as net.AddressInfo).port)

    // Alone on the server: other paths are refused, not left hanging.
    const refused = new WebSocket(`ws://${base}/other`)
    refused.on('error', () => {})
    refused.on('error', () => {})
    const [, response] = await once(refused, 'unexpected-response')
    expect(response.statusCode).toBe(404)
    refused.terminate()

    // Another upgrade listener (WebRTC signalling, say) still gets its own path.
    const signalling = new WebSocketServer({ noServer: true })
    cleanups.push(() => new Promise((r) => signalling.close(r)))
    signalling.on('connection', (ws) => ws.on('message', (m) => ws.send(m)))
    httpSrv.on('upgrade', (req, socket, head) => {
      if (req.url === '/signal') signalling.handleUpgrade(req, socket, head, (ws) => signalling.emit('connection', ws, req))
    })
    const echo = await rawWs(`ws://${base}/signal`)
    echo.send('hi')
    expect(String((await once(echo, 'message'))[0])).toBe('hi')

    // The page is still served, and the hypha path carries replication.
    const page = await fetch(`http://${base}/`)
    expect(await page.text()).toBe('the page')
    const client = track(webSocketClient({ url: `ws://${base}/hypha?v=1`, WebSocket }))
    await client.start(b.context)
    await a.core.append(b4a.from('over /hypha'))
    expect(b4a.toString(await remoteCore.get(0))).toBe('over /hypha')
    expect(a.connections).toHaveLength(1)

    // stop() detaches from the http server without closing it.
    await client.stop()
    await server.stop()
    expect(httpSrv.listenerCount('upgrade')).toBe(1)
    expect(await (await fetch(`http://${base}/`)).text()).toBe('the page')
  })

  it('drops garbage (binary, text, raw TCP) without crashing, keeps serving good clients', async () => {
    const { a, b, remoteCore } = await createPair()
    const server = track(webSocketServer({ port: 0 }))
    await server.start(a.context)
    const url = `ws://127.0.0.1:${server.port}`
    const errors = collect<TransportError>(server, 'connection-error')

    const binary = await rawWs(url)
    binary.send(b4a.from('not a noise handshake at all'))
    await once(binary, 'close')
    await until(() => errors.length === 1, 10_000, 'binary drop')
    const text = await rawWs(url)
    text.send('hello?')
    await once(text, 'close')
    await until(() => errors.length === 2, 10_000, 'text drop')
    expect(errors.map((e) => e.code)).toEqual(['ERR_HANDSHAKE_FAILED', 'ERR_PROTOCOL'])

    // Not even HTTP: ws answers or drops it; the server stays up.
    const tcp = net.connect(server.port!, '127.0.0.1')
    tcp.on('error', () => {})
    tcp.resume() // read the 400 reply, or 'close' never comes
    tcp.end(b4a.from([0xff, 0x00, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]))
    await once(tcp, 'close')

    expect(a.connections).toHaveLength(0)
    const client = track(webSocketClient({ url, WebSocket }))
    await client.start(b.context)
    await a.core.append(b4a.from('still serving'))
    expect(b4a.toString(await remoteCore.get(0))).toBe('still serving')
  })

  it('rejects bad arguments with typed errors', () => {
    vi.stubGlobal('WebSocket', undefined)
    try {
      expect(() => webSocketClient({ url: 'ws://127.0.0.1:1' })).toThrow(expect.objectContaining({ code: 'ERR_NO_WEBSOCKET' }))
    } finally {
      vi.unstubAllGlobals()
    }
    expect(() => webSocketClient({ url: 'http://127.0.0.1:1', WebSocket })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(() => webSocketClient({ url: 'not a url', WebSocket })).toThrow(TransportError)
    expect(() => webSocketServer({ path: 'hypha' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
  })

  it('refuses a maxPayload below the largest secret-stream frame, and carries an 8 MiB block (client to server) at the minimum', async () => {
    // With maxPayload 1 MiB a block over 1 MiB (values go up to 4 MiB) closed every connection it crossed (1009).
    for (const maxPayload of [1024 * 1024, MIN_MAX_PAYLOAD - 1]) {
      expect(() => webSocketServer({ maxPayload })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    }
    expect(MIN_MAX_PAYLOAD).toBe(3 + 0xffffff) // a 3-byte length and at most 2^24 - 1 bytes
    // The writer dials, so its blocks reach the server as client messages.
    const { a, b, remoteCore } = await createPair()
    const server = track(webSocketServer({ port: 0, maxPayload: MIN_MAX_PAYLOAD }))
    await server.start(b.context)
    const client = track(webSocketClient({ url: `ws://127.0.0.1:${server.port}`, WebSocket }))
    await client.start(a.context)
    const block = b4a.alloc(8 * 1024 * 1024, 1)
    await a.core.append([block, b4a.from('after')])
    expect(b4a.toString(await remoteCore.get(1))).toBe('after')
    expect(b4a.equals(await remoteCore.get(0), block)).toBe(true)
    expect(server.connectionCount + client.connectionCount).toBe(2)
  })
})
