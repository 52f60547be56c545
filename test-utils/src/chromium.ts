// Real Chromium (Debian's, driven by playwright-core) and a tiny page server on 127.0.0.1, for
// the browser tests. A separate entry (@hypha/test-utils/chromium) so other tests never load playwright.
import { createServer, type Server } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

export interface PageServer {
  url: string
  close(): Promise<void>
}

/** Serves `script` (a bundled ES module, e.g. from @hypha/browser's buildBrowserBundle) as the module script of `/` on 127.0.0.1. */
export async function servePage(script: string | Uint8Array): Promise<PageServer> {
  const html = '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="/page.js"></script>'
  const server: Server = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html)
    else if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
    else if (req.url === '/favicon.ico') res.writeHead(204).end()
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

export interface BrowserSession {
  context: BrowserContext
  page: Page
  /** Page errors and console errors, for assertions and failure messages. */
  errors: string[]
  /** Loads (or reloads) the page and waits until its script is ready. */
  load(url: string): Promise<void>
  close(): Promise<void>
}

/** Chromium with a fresh profile directory (IndexedDB lives there, so it survives reloads). */
export async function openBrowser(): Promise<BrowserSession> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'hypha-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS
  })
  const page = context.pages()[0] ?? (await context.newPage())
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`)
  })
  return {
    context,
    page,
    errors,
    async load(url: string) {
      await page.goto(url)
      await page.waitForFunction(() => document.title === 'ready' || document.title === 'failed')
    },
    async close() {
      await context.close()
      await rm(userDataDir, { recursive: true, force: true })
    }
  }
}

export interface ChromiumPage {
  server: PageServer
  browser: BrowserSession
  /** Closes the browser, then the page server. */
  close(): Promise<void>
}

/** Serves `script` (see {@link servePage}), opens a fresh Chromium and loads the page in it. */
export async function pageInChromium(script: string | Uint8Array): Promise<ChromiumPage> {
  const server = await servePage(script)
  const browser = await openBrowser().catch(async (err: unknown) => {
    await server.close()
    throw err
  })
  const close = async () => {
    await browser.close()
    await server.close()
  }
  try {
    await browser.load(server.url)
  } catch (err) {
    await close()
    throw err
  }
  return { server, browser, close }
}
