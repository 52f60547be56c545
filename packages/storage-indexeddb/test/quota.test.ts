// A full storage quota in real Chromium: the origin's quota lowered to 6 MB through the devtools
// protocol (Storage.overrideQuotaForOrigin), a node putting 256 KiB values until IndexedDB refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { pageInChromium, type BrowserSession, type PageServer } from '@hypha/test-utils/chromium'
import { buildBrowserBundle } from '@hypha/browser'

const ENTRY = fileURLToPath(new URL('./pages/quota-page.ts', import.meta.url))
const QUOTA = 6 * 1000 * 1000

let server: PageServer
let browser: BrowserSession
let close = async () => {}
let cdp: Awaited<ReturnType<BrowserSession['context']['newCDPSession']>> | null = null

beforeAll(async () => {
  ;({ server, browser, close } = await pageInChromium((await buildBrowserBundle({ entry: ENTRY, minify: false })).code))
})

afterAll(() => close())

/** Overrides the page origin's quota (none: back to the default). The override lasts while its session is attached. */
async function setQuota(quotaSize?: number): Promise<void> {
  cdp ??= await browser.context.newCDPSession(browser.page)
  const origin = new URL(server.url).origin
  await cdp.send('Storage.overrideQuotaForOrigin', quotaSize === undefined ? { origin } : { origin, quotaSize })
}

describe('idbStorage with the quota full', { timeout: 120_000 }, () => {
  it('a failing put rejects with ERR_STORAGE (QuotaExceededError as cause); every acknowledged put is there after a reload', async () => {
    const rootSecret = randomBytes(32).toString('hex')
    await setQuota(QUOTA)
    const filled = await browser.page.evaluate(([root]) => window.hyphaQuota.fill('quota-db', root!, 40, 256 * 1024), [rootSecret])
    expect(filled.acknowledged.length).toBeGreaterThan(0)
    expect(filled.acknowledged.length).toBeLessThan(40)
    expect(filled.rejected).toMatchObject({ name: 'HyphaNodeError', code: 'ERR_STORAGE', cause: { name: 'QuotaExceededError' } })
    expect(filled.after).toMatchObject({ name: 'HyphaNodeError', code: 'ERR_STORAGE', cause: { name: 'QuotaExceededError' } })
    for (const err of filled.errors) expect(err).toMatchObject({ name: 'HyphaNodeError', code: 'ERR_STORAGE', cause: { name: 'QuotaExceededError' } })

    await setQuota()
    await browser.load(server.url)
    const back = await browser.page.evaluate(([root]) => window.hyphaQuota.keys('quota-db', root!), [rootSecret])
    // Every acknowledged put is there; the one that failed may be (its op may have reached the
    // writer core before the view's flush failed: then it is applied on reopening), nothing else.
    const big = back.list.filter((k) => k.startsWith('big/'))
    expect(big.slice(0, filled.acknowledged.length)).toEqual(filled.acknowledged)
    expect(big.length).toBeLessThanOrEqual(filled.acknowledged.length + 1)
    expect(back.afterUpdate).toEqual(back.list)
    // What the writer core holds is what is applied: no op is left in it unapplied.
    expect(back.writerCore.held).toBe(back.list.length)
    expect(back.wrote).toBe(true)
  })
})
