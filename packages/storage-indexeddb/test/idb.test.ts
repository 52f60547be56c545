// idbStorage in real Chromium: real IndexedDB, page reloads, and a HyphaNode on it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { pageInChromium, type BrowserSession, type PageServer } from '@hypha/test-utils/chromium'
import { buildBrowserBundle } from '@hypha/browser'

const ENTRY = fileURLToPath(new URL('./pages/idb-page.ts', import.meta.url))

let server: PageServer
let browser: BrowserSession
let close = async () => {}

beforeAll(async () => {
  ;({ server, browser, close } = await pageInChromium((await buildBrowserBundle({ entry: ENTRY, minify: false })).code))
})

afterAll(() => close())

describe('idbStorage in Chromium', () => {
  // The storage contract every adapter keeps (reads, writes, del, truncate, reopen, unlink, a node) is in suite.test.ts.
  it('matches a model file over random operations (concurrent writes, reopens), and keeps it over a reload', async () => {
    const result = await browser.page.evaluate(() => window.hyphaIdb.randomOps('random-db', 7, 160))
    expect(result.mismatches).toEqual([])
    for (const op of ['write', 'concurrent-writes', 'read', 'del', 'truncate', 'reopen']) {
      expect(result.counts[op], op).toBeGreaterThan(0)
    }
    expect(result.size).toBeGreaterThan(0)

    const twoDbs = await browser.page.evaluate(() => window.hyphaIdb.twoDatabases('side-a', 'side-b'))
    expect(twoDbs).toEqual({ sizeA: 700, sizeB: 150, aIsA: true, bIsB: true, afterUnlinkA: { sizeA: 0, sizeB: 150 } })

    await browser.load(server.url) // a page reload: only IndexedDB remains
    const back = await browser.page.evaluate(() => window.hyphaIdb.readBack('random-db', 'random-7'))
    expect(back).toEqual({ size: result.size, contents: result.contents })
    expect(browser.errors).toEqual([])
  })

  it('batches concurrent small writes into few transactions and reads written blocks from memory', async () => {
    const out = await browser.page.evaluate(() => window.hyphaIdb.batching('batching-db'))
    // One transaction per request (the old adapter: 300 and 300) made a 3,000-entry sync crawl.
    expect(out.writeTransactions).toBeGreaterThan(0)
    expect(out.writeTransactions).toBeLessThanOrEqual(5)
    expect(out.readTransactions).toBe(0)
    expect(out.readsMatch).toBe(true)
    expect(out.fromDisk).toBeNull()
  })

  it('matches the model with a cache smaller than the file (blocks evicted and read back) and with none', async () => {
    for (const [seed, cacheBytes] of [[11, 2048], [12, 0]] as const) {
      const result = await browser.page.evaluate(([s, c]) => window.hyphaIdb.randomOps('small-cache-db', s, 200, c), [seed, cacheBytes] as const)
      expect(result.mismatches, `cacheBytes ${cacheBytes}`).toEqual([])
      expect(result.size).toBeGreaterThan(2048)
    }
    expect(browser.errors).toEqual([])
  })

  it('a HyphaNode on IndexedDB keeps its database and its writer over page reloads', async () => {
    const rootSecret = randomBytes(32).toString('hex')
    const first = await browser.page.evaluate(([root]) => window.hyphaIdb.nodeWrite('node-db', root!, 0, 20), [rootSecret])
    expect(first).toMatchObject({ writable: true, count: 20 })
    await browser.page.evaluate(() => window.hyphaIdb.nodeClose())

    // reload after a clean close
    await browser.load(server.url)
    const second = await browser.page.evaluate(([root]) => window.hyphaIdb.nodeRead('node-db', root!), [rootSecret])
    expect(second.key).toBe(first.key)
    expect(second.writerKey).toBe(first.writerKey)
    expect(second.role).toBe('origin')
    expect(second.writable).toBe(true)
    expect(second.entries).toEqual(Array.from({ length: 20 }, (_, i) => `entry/${String(i).padStart(4, '0')}=value ${i}`))
    const more = await browser.page.evaluate(([root]) => window.hyphaIdb.nodeWrite('node-db', root!, 20, 10), [rootSecret])
    expect(more).toMatchObject({ key: first.key, writerKey: first.writerKey, writable: true, count: 30 })

    // reload without closing (the user refreshes the tab): every acknowledged write is there
    await browser.load(server.url)
    const third = await browser.page.evaluate(([root]) => window.hyphaIdb.nodeRead('node-db', root!), [rootSecret])
    expect(third.key).toBe(first.key)
    expect(third.writerKey).toBe(first.writerKey)
    expect(third.writable).toBe(true)
    expect(third.entries).toEqual(Array.from({ length: 30 }, (_, i) => `entry/${String(i).padStart(4, '0')}=value ${i}`))
    const last = await browser.page.evaluate(([root]) => window.hyphaIdb.nodeWrite('node-db', root!, 30, 2), [rootSecret])
    expect(last).toMatchObject({ writable: true, count: 32 })
    await browser.page.evaluate(() => window.hyphaIdb.nodeClose())
    expect(browser.errors).toEqual([])
  })

  it('of two nodes opening one IndexedDB database at once (two tabs), the second is refused (ERR_STORAGE, ELOCKED): one database, the first keeps its writes', async () => {
    const rootSecret = randomBytes(32).toString('hex')
    const result = await browser.page.evaluate(([root]) => window.hyphaIdb.twoNodesAtOnce('two-at-once-db', root!), [rootSecret])
    expect(result.outcome.filter((o) => o === 'opened')).toHaveLength(1)
    expect(result.outcome.filter((o) => o !== 'opened')).toEqual(['ERR_STORAGE cause=ELOCKED'])
    expect(result.keys).toHaveLength(1)
    expect(result.after.key).toBe(result.keys[0])
    expect(result.after.entries).toHaveLength(1)
  })
})
