// The shared storage contract (@hypha/adapter-tests) on idbStorage in real Chromium: the page
// bundles the same checks, and each runs there as one `it` of the same name.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { runStorageTests } from '@hypha/adapter-tests'
import { openBrowser, servePage, type BrowserSession, type PageServer } from '@hypha/test-utils/chromium'
import { buildBrowserBundle } from '@hypha/browser'

const ENTRY = fileURLToPath(new URL('./pages/suite-page.ts', import.meta.url))

let server: PageServer
let browser: BrowserSession

beforeAll(async () => {
  server = await servePage((await buildBrowserBundle({ entry: ENTRY, minify: false })).code)
  browser = await openBrowser()
  await browser.load(server.url)
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

runStorageTests({
  name: 'indexeddb',
  runCheck: (name) => browser.page.evaluate((check) => window.hyphaSuite.run(check), name)
})

it('the page logged no errors while the checks ran', () => {
  expect(browser.errors).toEqual([])
})
