// A browser node (Chromium) and a Node origin over WebSocket on 127.0.0.1: the Noise handshake
// runs on the libsodium shim, the database replicates, the secure channel works both ways.
import { describe, it, expect, afterAll } from 'vitest'
import { fileURLToPath } from 'node:url'
import { HyphaNode } from '@hypha/node-core'
import { deriveRootSecret } from '@hypha/auth'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { openBrowser, servePage, type BrowserSession, type PageServer } from '@hypha/test-utils/chromium'
import { buildBrowserBundle } from '../src/index.js'

const ENTRY = fileURLToPath(new URL('./pages/ws-page.ts', import.meta.url))
const KDF = { iterations: 1, memoryKiB: 1024 }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

describe('browser ↔ Node over WebSocket', () => {
  it('a read-only page node replicates the origin and exchanges secure-channel messages', async () => {
    const passphrase = 'otter prism cedar lantern quiet harbor'
    const name = 'ada@example.com'
    const server = webSocketServer({ port: 0, host: '127.0.0.1' })
    const origin = new HyphaNode({ role: 'origin', rootSecret: await deriveRootSecret(passphrase, name, KDF), transports: [server] })
    cleanups.push(() => origin.close())
    await origin.ready()
    const received: string[] = []
    const senders = new Set<string>()
    origin.channel.on('message', ({ payload, sender }) => {
      received.push(new TextDecoder().decode(payload))
      senders.add(Buffer.from(sender).toString('hex'))
    })
    await origin.batch(Array.from({ length: 5 }, (_, i) => ({ type: 'put' as const, key: `note/${i}`, value: `from node ${i}` })))
    const address = server.address()
    expect(address?.host).toBe('127.0.0.1')
    const url = `ws://127.0.0.1:${address!.port}`

    const page: PageServer = await servePage((await buildBrowserBundle({ entry: ENTRY, minify: false })).code)
    cleanups.push(() => page.close())
    const browser: BrowserSession = await openBrowser()
    cleanups.push(() => browser.close())
    await browser.load(page.url)

    // The page's node is given no database key: it learns it from the origin (the account lookup).
    const started = await browser.page.evaluate(([u, p, n, k]) => window.hyphaWs.start(u, p, n, k), [url, passphrase, name, KDF] as const)
    expect(started.key).toBe(Buffer.from(origin.key).toString('hex'))
    expect(started.writerKey).not.toBe(Buffer.from(origin.writerKey!).toString('hex'))
    expect(started.writable).toBe(false)

    const first = await browser.page.evaluate(() => window.hyphaWs.entries(5))
    expect(first).toEqual(Array.from({ length: 5 }, (_, i) => `note/${i}=from node ${i}`))
    await origin.put('note/5', 'written while connected')
    const second = await browser.page.evaluate(() => window.hyphaWs.entries(6))
    expect(second).toContain('note/5=written while connected')
    expect(origin.connections.map((c) => c.info.transport)).toEqual(['websocket'])

    // page → node (sent again until it arrives: the ephemeral channel opens asynchronously)
    while (!received.includes('hello from chromium')) {
      await browser.page.evaluate(() => window.hyphaWs.send('hello from chromium'))
      await sleep(200)
    }
    // signed with the page device's own channel key
    expect([...senders]).toEqual([started.channelKey])
    // node → page
    for (;;) {
      origin.channel.send(new TextEncoder().encode('hello from node'), { contentType: 'text/plain' })
      const got = await browser.page.evaluate(() => window.hyphaWs.messages())
      if (got.includes('hello from node')) break
      await sleep(200)
    }
    await browser.page.evaluate(() => window.hyphaWs.stop())
    expect(browser.errors).toEqual([])
  })

  it('a directory path as storage is refused in the browser at construction, naming idbStorage (not a failure inside random-access-file)', async () => {
    const page: PageServer = await servePage((await buildBrowserBundle({ entry: ENTRY, minify: false })).code)
    cleanups.push(() => page.close())
    const browser: BrowserSession = await openBrowser()
    cleanups.push(() => browser.close())
    await browser.load(page.url)
    const refused = await browser.page.evaluate(() => window.hyphaWs.directoryStorage())
    expect(refused).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(refused!.message).toContain('idbStorage')
  })
})
