// The shared storage contract (@hypha/adapter-tests) on idbStorage in real Chromium: the page
// bundles the same checks, and each runs there as one `it` of the same name.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { runStorageTests } from '@hypha/adapter-tests'
import { pageInChromium, type BrowserSession } from '@hypha/test-utils/chromium'
import { buildBrowserBundle } from '@hypha/browser'

const ENTRY = fileURLToPath(new URL('./pages/suite-page.ts', import.meta.url))

let browser: BrowserSession
let close = async () => {}

beforeAll(async () => {
  ;({ browser, close } = await pageInChromium((await buildBrowserBundle({ entry: ENTRY, minify: false })).code))
})

afterAll(() => close())

runStorageTests({
  name: 'indexeddb',
  runCheck: (name) => browser.page.evaluate((check) => window.hyphaSuite.run(check), name)
})

it('the page logged no errors while the checks ran', () => {
  expect(browser.errors).toEqual([])
})
