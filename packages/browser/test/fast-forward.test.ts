// A fresh browser node joining a database of thousands of entries converges on IndexedDB as on
// memory storage: the 3,000-entry sync that used to crawl (one IndexedDB transaction per storage
// request: minutes, with the first list() seeming to hang), and a sync where Autobase
// fast-forwards the reader to the origin's indexed view.
import { describe, it, expect, afterAll } from 'vitest'
import { fileURLToPath } from 'node:url'
import { HyphaNode } from '@hypha/node-core'
import { deriveRootSecret } from '@hypha/auth'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { openBrowser, servePage, type PageServer } from '@hypha/test-utils/chromium'
import { buildBrowserBundle } from '../src/index.js'

const ENTRY = fileURLToPath(new URL('./pages/fast-forward-page.ts', import.meta.url))
const KDF = { iterations: 1, memoryKiB: 1024 }
// Generous: the sync takes about 30–40 s on 2 busy cores. Speed is checked by counting
// IndexedDB transactions, never by time.
const WAIT_MS = 240_000

const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

const key = (i: number) => `e/${String(i).padStart(6, '0')}`
const expected = (count: number) => Array.from({ length: count }, (_, i) => `${key(i)}=v${i}`)

let page: PageServer | null = null

/** An origin in Node holding `count` entries written in batches of `batch`; its WebSocket URL and database key. */
async function origin(passphrase: string, count: number, batch: number) {
  const server = webSocketServer({ port: 0, host: '127.0.0.1' })
  const node = new HyphaNode({ role: 'origin', rootSecret: await deriveRootSecret(passphrase, 'ada@example.com', KDF), transports: [server] })
  cleanups.push(() => node.close())
  await node.ready()
  for (let i = 0; i < count; i += batch) {
    await node.batch(Array.from({ length: batch }, (_, j) => ({ type: 'put' as const, key: key(i + j), value: `v${i + j}` })))
  }
  return { url: `ws://127.0.0.1:${server.address()!.port}`, databaseKey: Buffer.from(node.key).toString('hex') }
}

/** A fresh Chromium profile syncs from the origin at `url` on `storage` until it lists `count` entries. */
async function syncIn({ url, databaseKey }: { url: string; databaseKey: string }, passphrase: string, storage: 'idb' | 'memory', count: number) {
  if (!page) {
    page = await servePage((await buildBrowserBundle({ entry: ENTRY, minify: false })).code)
    const served = page
    cleanups.push(() => served.close())
  }
  const browser = await openBrowser()
  try {
    await browser.load(page.url)
    await browser.page.evaluate(
      ([u, p, k, s, d]) => window.hyphaFastForward.start(u, p, 'ada@example.com', k, s, 'hypha-ff-test', d),
      [url, passphrase, KDF, storage, databaseKey] as const
    )
    const result = await browser.page.evaluate(([n, ms]) => window.hyphaFastForward.all(n, ms), [count, WAIT_MS] as const)
    await browser.page.evaluate(() => window.hyphaFastForward.close())
    return { ...result, pageErrors: browser.errors }
  } finally {
    await browser.close()
  }
}

describe('a fresh browser node syncs thousands of entries', () => {
  it('3,000 entries in batches of 500: IndexedDB converges like memory, batching its IndexedDB work', async () => {
    const passphrase = 'three thousand entries passphrase'
    const url = await origin(passphrase, 3000, 500)

    const memory = await syncIn(url, passphrase, 'memory', 3000)
    expect(memory.errors).toEqual([])
    expect(memory.count).toBe(3000)
    expect(memory.entries).toEqual(expected(3000))
    expect(memory.pageErrors).toEqual([])

    const idb = await syncIn(url, passphrase, 'idb', 3000)
    expect(idb.errors).toEqual([])
    expect(idb.count).toBe(3000)
    expect(idb.entries).toEqual(expected(3000))
    expect(idb.pageErrors).toEqual([])
    // Tens of thousands of storage requests. One transaction each (the old adapter: about 1.5 ms
    // apiece, serialised) made this sync take minutes; cached reads and group commit need far
    // fewer.
    expect(idb.requests).toBeGreaterThan(20_000)
    expect(idb.transactions).toBeLessThan(idb.requests / 4)
  }, 600_000)

  it('a sync where Autobase fast-forwards the reader works on IndexedDB', async () => {
    const passphrase = 'fast forward passphrase'
    // Many small batches: the system core runs far past Autobase's fast-forward threshold.
    const url = await origin(passphrase, 2000, 40)
    const idb = await syncIn(url, passphrase, 'idb', 2000)
    expect(idb.errors).toEqual([])
    expect(idb.count).toBe(2000)
    expect(idb.entries).toEqual(expected(2000))
    expect(idb.fastForwards).toBeGreaterThan(0)
    expect(idb.pageErrors).toEqual([])
  }, 600_000)
})
