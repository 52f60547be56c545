import net from 'node:net'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import b4a from 'b4a'
import { collect, settle, until } from '@hypha/test-utils'
import { tcpClient, tcpServer } from '../src/index.js'
import { HyphaNode, TransportError } from '@hypha/node-core'
import { cleanups, createPair, createPeer, track } from '@hypha/adapter-tests'

const fast = { initialDelayMs: 5, maxDelayMs: 20 }

function rawSocket(port: number): net.Socket {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {}) // the server resets us: expected
  cleanups.push(() => socket.destroy())
  return socket
}

describe('tcp transport', () => {
  // The contract every transport keeps (replication, hand-over after Noise, stop, re-dial, …) is in suite.test.ts.
  it('the server reports its address; each side names the other in ConnectionInfo', async () => {
    const { a, b } = await createPair()
    const server = track(tcpServer({ port: 0 }))
    await server.start(a.context)
    expect(server.port).toBeGreaterThan(0)
    expect(server.address()).toEqual({ host: '127.0.0.1', port: server.port })
    const client = track(tcpClient({ port: server.port! }))
    await client.start(b.context)
    await until(() => a.connections.length === 1 && b.connections.length === 1, 10_000, 'connection')
    expect(a.connections[0]!.info).toMatchObject({ transport: 'tcp', isInitiator: false, remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) })
    expect(b.connections[0]!.info).toEqual({ transport: 'tcp', isInitiator: true, remote: `127.0.0.1:${server.port}` })
  })

  it('backs off from a server that drops every connection at once: a dropped connection counts as a failure', async () => {
    const { a, b } = await createPair()
    const server = track(tcpServer({ port: 0 }))
    // A server that accepts, completes the handshake and drops each connection at once.
    await server.start({ ...a.context, onConnection: (stream) => stream.destroy() })
    const client = track(tcpClient({ port: server.port!, reconnect: { initialDelayMs: 50, maxDelayMs: 5_000, jitter: 0 } }))
    const dials = collect(client, 'dial')
    await client.start(b.context)
    await settle(3_000)
    // 50, 100, 200, 400, 800, 1600 ms apart: about 6 dials in 3 s. Resetting on every handshake
    // (the old rule) re-dialled every 50 ms: about 50.
    expect(dials.length).toBeGreaterThanOrEqual(4)
    expect(dials.length).toBeLessThanOrEqual(8)
  })

  it('stop() while re-dialling a refused port makes no further attempt', async () => {
    const b = await createPeer()
    // A free port: bind one, note it, release it.
    const probe = net.createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const port = (probe.address() as net.AddressInfo).port
    await new Promise<void>((r) => probe.close(() => r()))

    const client = tcpClient({ port, reconnect: fast })
    const dials = collect(client, 'dial')
    const errors = collect<TransportError>(client, 'connection-error')
    await client.start(b.context)
    await until(() => errors.length >= 3, 10_000, 'three refused dials')
    expect(errors.every((e) => e.code === 'ERR_CONNECTION' && (e.cause as any)?.code === 'ECONNREFUSED')).toBe(true)
    await client.stop()
    const dialsAtStop = dials.length

    // Anything dialled after stop() would now be accepted here.
    const seen: net.Socket[] = []
    const listener = net.createServer((s) => {
      seen.push(s)
      s.destroy()
    })
    cleanups.push(() => new Promise((r) => listener.close(r)))
    await new Promise<void>((r) => listener.listen(port, '127.0.0.1', r))
    await settle(200)
    expect(seen).toHaveLength(0)
    expect(dials).toHaveLength(dialsAtStop)
  })

  it('drops clients that send garbage or nothing, keeps serving good ones', async () => {
    const { a, b, remoteCore } = await createPair()
    const server = track(tcpServer({ port: 0, handshakeTimeoutMs: 300 }))
    await server.start(a.context)
    const port = server.port!
    const errors = collect<TransportError>(server, 'connection-error')

    // HTTP text: its first 3 bytes declare a ~5 MiB first frame.
    const http = rawSocket(port)
    http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await once(http, 'close')
    await until(() => errors.length === 1, 10_000, 'first drop')
    // A small frame that is not a Noise handshake message.
    const junk = rawSocket(port)
    junk.write(b4a.from([10, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
    await once(junk, 'close')
    await until(() => errors.length === 2, 10_000, 'second drop')
    // Connects and says nothing.
    const silent = rawSocket(port)
    await once(silent, 'close')
    await until(() => errors.length === 3, 10_000, 'third drop')

    expect(errors.map((e) => e.code)).toEqual(['ERR_HANDSHAKE_FAILED', 'ERR_HANDSHAKE_FAILED', 'ERR_HANDSHAKE_TIMEOUT'])
    expect(a.connections).toHaveLength(0) // none of them reached the node
    expect(server.connectionCount).toBe(0)

    const client = track(tcpClient({ port }))
    await client.start(b.context)
    await a.core.append(b4a.from('still serving'))
    expect(b4a.toString(await remoteCore.get(0))).toBe('still serving')
  })

  it('rejects bad arguments and a port in use with typed errors', async () => {
    const a = await createPeer()
    expect(() => tcpClient({ port: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(() => tcpClient({ port: 70000 })).toThrow(TransportError)
    expect(() => tcpClient({ port: 1, reconnect: { factor: 0.5 } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))

    const server = track(tcpServer({ port: 0 }))
    await server.start(a.context)
    const clash = tcpServer({ port: server.port! })
    const error = await clash.start(a.context).catch((e) => e)
    expect(error).toBeInstanceOf(TransportError)
    expect(error.code).toBe('ERR_LISTEN')
    expect(error.cause.code).toBe('EADDRINUSE')
  })

  it('a node whose TCP port is in use fails to open with ERR_TRANSPORT naming the address and EADDRINUSE, not ERR_STORAGE', async () => {
    const holder = net.createServer()
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done))
    try {
      const port = (holder.address() as net.AddressInfo).port
      const node = new HyphaNode({ role: 'origin', rootSecret: new Uint8Array(32).fill(7), transports: [tcpServer({ port, host: '127.0.0.1' })] })
      const error = await node.ready().then(() => null, (e: unknown) => e)
      expect(error).toMatchObject({ name: 'HyphaNodeError', code: 'ERR_TRANSPORT' })
      expect((error as Error).message).toContain(`127.0.0.1:${port}`)
      expect((error as Error).message).toContain('EADDRINUSE')
      expect((error as Error).cause).toBeInstanceOf(TransportError)
      expect(node.closed).toBe(true)
    } finally {
      holder.close()
    }
  })

  it("a new device whose peer refuses every dial fails its lookup with ERR_NOT_FOUND naming the transport's last error (ECONNREFUSED)", async () => {
    const closed = net.createServer()
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done))
    const port = (closed.address() as net.AddressInfo).port
    await new Promise<void>((done) => closed.close(() => done()))
    const node = new HyphaNode({
      role: 'read-only',
      rootSecret: new Uint8Array(32).fill(7),
      lookupTimeoutMs: 1_500,
      transports: [tcpClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 100 } })]
    })
    const error = await node.ready().then(() => null, (e: unknown) => e)
    expect(error).toMatchObject({ name: 'HyphaNodeError', code: 'ERR_NOT_FOUND' })
    expect((error as Error).message).toContain('no connection was made')
    expect((error as Error).message).toContain('ECONNREFUSED')
  })
})
