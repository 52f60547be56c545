import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { WebSocket } from 'ws'
import { HyphaNode, type Transport, type TransportContext, type HyphaNodeOptions } from '@hypha/node-core'
import { webSocketClient } from '@hypha/transport-websocket'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { tcpServer, tcpClient } from '@hypha/transport-tcp'
import { fileStorage } from '@hypha/storage-file'
import { rootSecret, eventually, startNode as startNodeWith } from '@hypha/adapter-tests'
import { cleanupsAfterEach, freePort } from '@hypha/test-utils'

// A read-only node dials the origin's server (127.0.0.1 only). The origin goes away twice: its
// server transport stops (the node stays up and writes), then the whole node closes and reopens
// from its files on the same port. Each time the client re-dials by itself and the read-only node
// catches up to every entry.

const cleanups = cleanupsAfterEach(afterEach)

let root: Uint8Array
beforeAll(async () => {
  root = await rootSecret()
})

/** A short back-off so re-dials come soon (how often to retry, not a deadline). */
const FAST = { initialDelayMs: 20, maxDelayMs: 200 }
const HOST = '127.0.0.1'

interface Case {
  name: string
  server(port: number): Transport
  client(port: number): Transport
}

const cases: Case[] = [
  {
    name: 'tcp',
    server: (port) => tcpServer({ port, host: HOST }),
    client: (port) => tcpClient({ port, host: HOST, reconnect: FAST })
  },
  {
    name: 'websocket',
    server: (port) => webSocketServer({ port, host: HOST }),
    client: (port) => webSocketClient({ url: `ws://${HOST}:${port}`, WebSocket: WebSocket as any, reconnect: FAST })
  }
]

/** A free port on 127.0.0.1: the server must come back on the port the client dials. */

const startNode = (options: HyphaNodeOptions) => startNodeWith(options, cleanups)

const entries = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: `${prefix}/${String(i).padStart(2, '0')}`, value: `${prefix} ${i}` }))

async function contents(node: HyphaNode): Promise<string[]> {
  return (await node.list()).map((e) => `${e.key}=${e.value}`)
}

describe.each(cases)('a read-only node over $name', { timeout: 60_000 }, ({ name, server, client }) => {
  it('re-dials a stopped server and a restarted origin, and catches up on what was written meanwhile', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hypha-reconnect-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const port = await freePort()

    const originServer = server(port)
    const origin = await startNode({ role: 'origin', rootSecret: root, storage: await fileStorage(dir), transports: [originServer] })
    const phone = await startNode({ role: 'read-only', rootSecret: root, databaseKey: origin.key, transports: [client(port)] })
    let expected = entries('first', 3)
    await origin.batch(expected)
    const want = () => expected.map((e) => `${e.key}=${e.value}`).sort()
    await eventually(async () => (await contents(phone)).join() === want().join(), `first entries over ${name}`, 30_000)

    // 1. The server transport stops; the origin keeps running and writes while nobody is connected.
    await originServer.stop()
    await eventually(() => phone.peerCount === 0 && origin.peerCount === 0, 'disconnected')
    const whileStopped = entries('while-stopped', 10)
    await origin.batch(whileStopped)
    expect(await phone.get(whileStopped[0]!.key)).toBeNull()
    expected = [...expected, ...whileStopped]
    const context: TransportContext = { topic: origin.topic, keyPair: origin.noiseKeyPair, onConnection: origin.addConnection }
    await originServer.start(context)
    await eventually(async () => (await contents(phone)).join() === want().join(), 'caught up after the server restarted', 30_000)
    expect(phone.connections.map((c) => c.info.transport)).toEqual([name])

    // 2. The origin closes (writing first, already cut off) and reopens from its files on the same port.
    await originServer.stop()
    await eventually(() => phone.peerCount === 0, 'disconnected again')
    const beforeClose = entries('before-close', 5)
    await origin.batch(beforeClose)
    await origin.close()
    const reopened = await startNode({
      role: 'origin',
      rootSecret: root,
      storage: await fileStorage(dir),
      transports: [server(port)]
    })
    expect(Buffer.from(reopened.key).equals(Buffer.from(origin.key))).toBe(true)
    expect(reopened.writable).toBe(true)
    const afterReopen = entries('after-reopen', 5)
    await reopened.batch(afterReopen)
    expected = [...expected, ...beforeClose, ...afterReopen]
    expect((await contents(reopened)).sort()).toEqual(want())
    await eventually(async () => (await contents(phone)).join() === want().join(), 'caught up after the origin reopened', 30_000)
    expect(phone.connections.map((c) => c.info.transport)).toEqual([name])
  })
})
