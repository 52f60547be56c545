// A browser node restarted from IndexedDB in the middle of a sync (the page reloads without
// closing anything) resumes and converges: every entry, once, with its value.
import { describe, it, expect, afterAll } from 'vitest'
import { fileURLToPath } from 'node:url'
import { HyphaNode } from '@hypha/node-core'
import { deriveRootSecret } from '@hypha/auth'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { openBrowser, servePage } from '@hypha/test-utils/chromium'
import { buildBrowserBundle } from '../src/index.js'

const ENTRY = fileURLToPath(new URL('./pages/resume-page.ts', import.meta.url))
const KDF = { iterations: 1, memoryKiB: 1024 }
// Two batches: the reader downloads and applies the whole oplog (fast-forward.test.ts covers the
// larger syncs and the fast-forward path).
const COUNT = 600

const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

const key = (i: number) => `e/${String(i).padStart(6, '0')}`

describe('restart from IndexedDB mid-sync', () => {
  it('a reloaded page resumes the sync and converges', async () => {
    const passphrase = 'resume mid sync passphrase'
    const name = 'ada@example.com'
    const server = webSocketServer({ port: 0, host: '127.0.0.1' })
    const origin = new HyphaNode({ role: 'origin', rootSecret: await deriveRootSecret(passphrase, name, KDF), transports: [server] })
    cleanups.push(() => origin.close())
    await origin.ready()
    for (let i = 0; i < COUNT; i += 300) {
      await origin.batch(Array.from({ length: 300 }, (_, j) => ({ type: 'put' as const, key: key(i + j), value: `v${i + j}` })))
    }
    const url = `ws://127.0.0.1:${server.address()!.port}`

    const page = await servePage((await buildBrowserBundle({ entry: ENTRY, minify: false })).code)
    cleanups.push(() => page.close())
    const browser = await openBrowser()
    cleanups.push(() => browser.close())
    const databaseKey = Buffer.from(origin.key).toString('hex')
    await browser.load(page.url)
    const first = await browser.page.evaluate(([u, p, n, k, d]) => window.hyphaResume.start(u, p, n, k, d), [url, passphrase, name, KDF, databaseKey] as const)
    expect(first.key).toBe(databaseKey)
    expect(await browser.page.evaluate((k) => window.hyphaResume.waitFor(k), key(0))).toBe('v0')

    await browser.load(page.url) // reload mid-sync: nothing was closed
    // No database key this time, and no time for a lookup: the device and its database come back
    // from IndexedDB (the same writer key: the same device).
    const again = await browser.page.evaluate(([u, p, n, k]) => window.hyphaResume.start(u, p, n, k, null), [url, passphrase, name, KDF] as const)
    expect(again).toEqual(first)
    const entries = await browser.page.evaluate((n) => window.hyphaResume.all(n), COUNT)
    expect(entries).toEqual(Array.from({ length: COUNT }, (_, i) => `${key(i)}=v${i}`))
    expect(browser.errors).toEqual([])
  })
})
