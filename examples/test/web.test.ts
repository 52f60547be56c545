// One file on purpose (over 400 lines): every test shares one loopback-only network namespace,
// one built web bundle and one Chromium, set up once for the file.
// The web example (examples/web) in real Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), served by the built always-on program (examples/dist/always-on.js --web), with
// native devices (examples/dist/native.js) as child processes. Everything on 127.0.0.1:
// - every program and Chromium run in one network namespace that has only `lo` (made with
//   `unshare -rn`, joined with `nsenter`; no root needed where unprivileged user namespaces are
//   allowed). Without it Chromium's ICE agent also sends checks from the machine's other
//   addresses to the peer's 127.0.0.1 candidate and may select that pair (seen here: 192.0.2.2 ↔
//   127.0.0.1), whatever the candidate filter lets through signalling;
// - the pages run with ?loopback=1 (only 127.0.0.1 candidates are sent or accepted), and the test
//   checks every candidate that crossed the signalling socket and the ICE pair each browser chose.
//
// Needs the build (`npx tsc -b`); the bundle examples/web/dist/app.js is rebuilt here.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Program as SharedProgram, escapeRegExp, usePrograms } from './program.js'
// Reused from @hypha/browser's tests: where Chromium is and how it is launched.
import { CHROMIUM, CHROMIUM_ARGS } from '@hypha/test-utils/chromium'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { buildBrowserBundle, type BrowserBundleResult } from '@hypha/browser'
import { buildWebApp, nodeCodeIn, WEB_DIR } from '../src/build-web.js'
// The page's window.hypha (types only: brings the Window augmentation of page-api.ts).
import type { HyphaPageApi } from '../web/src/page-api.js'


const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))
const PERSON = 'ada@example.com'
const FIREFOX = 'Firefox on Ubuntu 64-bit'
/** WebRTC in Chromium on loopback only (docs/design.md, "Transports: more findings"). */
const WEBRTC_ARGS = ['--allow-loopback-in-peer-connection', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']
/** Playwright's own waits: generous (a small shared machine), and below vitest's test timeout. */
const WAIT_MS = 90_000
const TEST_TIMEOUT_MS = 240_000

// ---- a network namespace with only loopback ---------------------------------------------------

/** A process holding a fresh network namespace (only `lo`, brought up); others join it. */
class LoopbackNamespace {
  private constructor(
    private readonly holder: ChildProcess,
    readonly pid: number
  ) {}

  static async create(): Promise<LoopbackNamespace> {
    const holder = spawn('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && echo up && exec sleep 86400'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    holder.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const up = await new Promise<boolean>((resolve) => {
      holder.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('up') && resolve(true))
      holder.on('error', (err) => {
        stderr += err.message
        resolve(false)
      })
      holder.on('exit', () => resolve(false))
    })
    if (!up || holder.pid === undefined) {
      holder.kill('SIGKILL')
      throw new Error(
        `cannot make a loopback-only network namespace (unshare -rn, ip link set lo up): ${stderr.trim() || 'it exited'}. ` +
          'These tests need one so that Chromium\'s WebRTC can use nothing but 127.0.0.1 (needs util-linux, iproute2 and user namespaces).'
      )
    }
    return new LoopbackNamespace(holder, holder.pid)
  }

  /** The command line that runs `command` inside the namespace (nsenter execs it: same pid). */
  wrap(command: string, args: string[]): [string, string[]] {
    return ['nsenter', ['-t', String(this.pid), '-U', '-n', '--preserve-credentials', command, ...args]]
  }

  /** Names of the network interfaces a process inside sees. */
  interfaces(): string[] {
    const [command, args] = this.wrap(process.execPath, ['-e', 'console.log(JSON.stringify(Object.keys(require("os").networkInterfaces())))'])
    const result = spawnSync(command, args, { encoding: 'utf8' })
    if (result.status !== 0) throw new Error(`nsenter failed: ${result.stderr}`)
    return JSON.parse(result.stdout) as string[]
  }

  close(): void {
    this.holder.kill('SIGKILL')
  }
}

let netns: LoopbackNamespace
let tempDir: string
/** The web example's bundle, built (and checked by buildWebApp) before the tests. */
let bundle: BrowserBundleResult

// ---- child processes (as in cli.test.ts) --------------------------------------------------------

/** An example program run inside the loopback-only namespace. */
class Program extends SharedProgram {
  constructor(label: string, script: string, args: string[]) {
    super(label, script, args, (command, argv) => netns.wrap(command, argv))
  }
}

/**
 * The always-on program serving examples/web on free ports of 127.0.0.1. With a locator it relays
 * at once; without one it serves the page (and signalling) and waits for `giveLocator`.
 */
async function startAlwaysOn(locator: string | null = null) {
  const program = new Program('always-on', 'always-on.js', [...(locator ? ['--locator', locator] : []), '--tcp-port', '0', '--ws-port', '0', '--web', WEB_DIR])
  const base = (await program.waitFor(/^ {2}web +(http:\/\/127\.0\.0\.1:\d+)\/ \(serving /)).match[1]!
  const tcpUrl = locator ? await relaying(program) : null
  return { program, base, tcpUrl }
}

/** Pastes the locator into a waiting always-on program; its TCP address once it relays. */
async function giveLocator(program: Program, locator: string): Promise<string> {
  await program.waitFor(/^waiting for the locator/)
  program.send(locator)
  return relaying(program)
}

async function relaying(program: Program): Promise<string> {
  const tcpUrl = (await program.waitFor(/^ {2}tcp +(tcp:\/\/127\.0\.0\.1:\d+)$/)).match[1]!
  await program.waitFor(/^ready/)
  return tcpUrl
}

/** A native device's verification code, shown beside the approving device's name. */
async function nativeCodeFrom(device: Program, approver: string): Promise<string> {
  const line = new RegExp(`^\\[auth\\] verification code (\\d{3} \\d{3}) from "${escapeRegExp(approver)}": the prompt there must show the same code$`)
  return (await device.waitFor(line)).match[1]!
}

// ---- Chromium -----------------------------------------------------------------------------------

let browser: Browser
const contexts = new Set<BrowserContext>()

interface WebPage {
  page: Page
  /** Page errors and console errors. */
  errors: string[]
  /**
   * Chromium's console errors for WebSocket connections to /hypha refused while the always-on node
   * waited for its locator (503): expected, the page re-dials. Kept apart from `errors`.
   */
  refusedWebSockets: string[]
  /** Every ICE candidate line that crossed this page's signalling WebSocket, either way. */
  signalledCandidates: string[]
  /** Every non-127.0.0.1 HTTP/WebSocket request the page made. */
  foreignRequests: string[]
}

/** A page in a browser context of its own (its own IndexedDB and localStorage). */
async function openPage(base: string): Promise<WebPage> {
  const context = await browser.newContext()
  contexts.add(context)
  const page = await context.newPage()
  page.setDefaultTimeout(WAIT_MS)
  const web: WebPage = { page, errors: [], refusedWebSockets: [], signalledCandidates: [], foreignRequests: [] }
  page.on('pageerror', (err) => web.errors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return
    if (/^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/hypha' failed: .*\b503\b/.test(msg.text())) web.refusedWebSockets.push(msg.text())
    else web.errors.push(`console: ${msg.text()}`)
  })
  page.on('request', (req) => {
    if (!req.url().startsWith('http://127.0.0.1:')) web.foreignRequests.push(req.url())
  })
  page.on('websocket', (ws) => {
    if (!ws.url().startsWith('ws://127.0.0.1:')) web.foreignRequests.push(ws.url())
    if (!ws.url().endsWith('/hypha-signal')) return
    const record = (frame: { payload: string | Buffer }) => web.signalledCandidates.push(...candidatesIn(frame.payload))
    ws.on('framesent', record)
    ws.on('framereceived', record)
  })
  await page.goto(`${base}/?fastkdf=1&loopback=1`)
  return web
}

/** ICE candidate lines in a signalling frame: trickled candidates and `a=candidate` SDP lines. */
function candidatesIn(payload: string | Buffer): string[] {
  let message: { type?: string; signal?: { type?: string; sdp?: string; candidate?: { candidate?: string } } }
  try {
    message = JSON.parse(payload.toString())
  } catch {
    return []
  }
  const signal = message.signal
  if (message.type !== 'signal' || !signal) return []
  if (signal.type === 'candidate') return signal.candidate?.candidate ? [signal.candidate.candidate] : []
  return (signal.sdp ?? '').split(/\r?\n/).filter((line) => line.startsWith('a=candidate:')).map((line) => line.slice(2))
}

const candidateAddress = (candidate: string) => candidate.trim().split(/\s+/)[4]

/** Signs up, letting the page generate the passphrase; what the page showed once. */
async function signUpInPage(web: WebPage, device: string): Promise<{ passphrase: string; recoveryCode: string; locator: string }> {
  const { page } = web
  await page.waitForSelector('#sign-up-form', { state: 'visible' })
  await page.fill('#sign-up-name', PERSON)
  await page.fill('#sign-up-device', device)
  await page.click('#sign-up-button')
  await page.waitForSelector('body[data-phase="open"][data-writable="true"]')
  await page.waitForSelector('#new-account', { state: 'visible' })
  const passphrase = (await page.textContent('#generated-passphrase'))!.trim()
  const recoveryCode = (await page.textContent('#recovery-code'))!.trim()
  const locator = (await page.textContent('#locator'))!.trim()
  expect(passphrase.split(' ').length).toBeGreaterThanOrEqual(8)
  expect(recoveryCode).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){7}$/)
  expect(locator).toMatch(/^[0-9a-f]{258}$/)
  expect(await page.evaluate(() => window.hypha.locator())).toBe(locator)
  return { passphrase, recoveryCode, locator }
}

/** Signs in a new device; returns the verification code it shows beside `approver`. */
async function signInInPage(web: WebPage, device: string, passphrase: string, approver: string): Promise<string> {
  const { page } = web
  await page.waitForSelector('#sign-in-form', { state: 'visible' })
  await page.fill('#sign-in-name', PERSON)
  await page.fill('#sign-in-device', device)
  await page.fill('#sign-in-passphrase', passphrase)
  await page.click('#sign-in-button')
  await page.waitForSelector('body[data-phase="open"]')
  await page.waitForSelector('#request', { state: 'visible' })
  expect(await page.textContent('#status-writable')).toBe('read-only')
  // No code until an approving device answered: then one per approver, beside its name.
  const item = await page.waitForSelector(`#request-codes li[data-approver="${approver}"]`)
  expect(await item.$eval('.approver', (e) => e.textContent)).toBe(approver)
  const code = (await item.$eval('.code', (e) => e.textContent))!.trim()
  expect(code).toMatch(/^\d{3} \d{3}$/)
  expect(await page.evaluate(() => window.hypha.requestCodes())).toContainEqual({ approverName: approver, code })
  return code
}

/** After a reload: the page offers to open its device again and asks for the passphrase. */
async function reopenInPage(web: WebPage, device: string, passphrase: string): Promise<void> {
  const { page } = web
  await page.waitForSelector('#unlock-form', { state: 'visible' })
  expect(await page.textContent('#unlock-device')).toBe(device)
  expect(await page.textContent('#unlock-name')).toBe(PERSON)
  await page.fill('#unlock-passphrase', passphrase)
  await page.click('#unlock-button')
  await page.waitForSelector('body[data-phase="open"][data-writable="true"]')
  expect(await page.inputValue('#unlock-passphrase')).toBe('')
}

/** Every string this origin keeps (localStorage, and every IndexedDB value as latin1 text). */
async function storedText(web: WebPage): Promise<string> {
  return web.page.evaluate(async () => {
    const parts: string[] = [JSON.stringify({ ...localStorage })]
    const latin1 = new TextDecoder('latin1')
    const text = (value: unknown): string => {
      if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return latin1.decode(value)
      if (value && typeof value === 'object') return Object.values(value).map(text).join('\n')
      return String(value)
    }
    for (const info of await indexedDB.databases()) {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(info.name!)
        req.onsuccess = () => resolve(req.result)
        req.onerror = () => reject(req.error)
      })
      for (const store of Array.from(db.objectStoreNames)) {
        const values = await new Promise<unknown[]>((resolve, reject) => {
          const req = db.transaction(store, 'readonly').objectStore(store).getAll()
          req.onsuccess = () => resolve(req.result)
          req.onerror = () => reject(req.error)
        })
        parts.push(...values.map(text))
      }
      db.close()
    }
    return parts.join('\n')
  })
}

/** The page's device list entry with this name. */
async function deviceInPage(web: WebPage, name: string, status: 'writer' | 'revoked') {
  return web.page.waitForSelector(`#devices li[data-name="${name}"][data-status="${status}"]`)
}

async function putInPage(web: WebPage, key: string, value: string): Promise<void> {
  await web.page.fill('#put-key', key)
  await web.page.fill('#put-value', value)
  await web.page.click('#put-button')
  await waitForEntry(web, key, value)
}

async function waitForEntry(web: WebPage, key: string, value: string): Promise<void> {
  const item = await web.page.waitForSelector(`#entries li[data-key="${key}"]`)
  expect(await item.textContent()).toBe(`${key} = ${value}`)
}

async function connections(web: WebPage): Promise<ReturnType<HyphaPageApi['connections']>> {
  return web.page.evaluate(() => window.hypha.connections())
}

// ---- set-up and clean-up ------------------------------------------------------------------------

// The programs' hooks (kill, show output on failure, check the built files); registered before the
// pages' clean-up, so that runs first (after-hooks run in reverse order).
usePrograms(['always-on.js', 'native.js'])

beforeAll(async () => {
  bundle = await buildWebApp()
  netns = await LoopbackNamespace.create()
  expect(netns.interfaces()).toEqual(['lo'])
  // Chromium too runs in the namespace: playwright talks to it over a pipe, not the network.
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'hypha-web-test-'))
  const wrapper = path.join(tempDir, 'chromium-in-netns')
  const [command, args] = netns.wrap(CHROMIUM, [])
  await writeFile(wrapper, `#!/bin/sh\nexec ${[command, ...args].join(' ')} "$@"\n`)
  await chmod(wrapper, 0o755)
  browser = await chromium.launch({ executablePath: wrapper, headless: true, args: [...CHROMIUM_ARGS, ...WEBRTC_ARGS] })
}, 120_000)

afterEach(async () => {
  await Promise.all([...contexts].map((c) => c.close().catch(() => {})))
  contexts.clear()
})

afterAll(async () => {
  await browser?.close()
  netns?.close()
  if (tempDir) await rm(tempDir, { recursive: true, force: true })
})

// ---- the tests ----------------------------------------------------------------------------------

describe('the web example bundle', () => {
  it('holds no Node code: no stubs, no file of a Node-only package', () => {
    expect(bundle.stubs).toEqual([])
    expect(nodeCodeIn(bundle)).toEqual([])
    // hypercore requires random-access-file at load time; its own browser field gives browser.js.
    const raf = Object.keys(bundle.metafile.inputs).filter((input) => input.includes('/node_modules/random-access-file/'))
    expect(raf.map((input) => input.replace(/.*\//, ''))).toEqual(['browser.js'])
  })

  it('the leak check names Node code an app pulls in', async () => {
    const leaky = await buildBrowserBundle({ entry: fileURLToPath(new URL('./fixtures/leaky-app.ts', import.meta.url)), minify: false })
    const found = nodeCodeIn(leaky)
    expect(found[0]).toBe('stub: net')
    expect(found.slice(1).map((input) => input.replace(/.*\/node_modules\//, ''))).toEqual(['ws/browser.js'])
  })
})

describe('the web example in Chromium', () => {
  it(
    'browser ↔ browser over WebRTC: sign up, sign in, codes per approver, authorise, write; reloads ask for the passphrase, which is never stored',
    async () => {
      // The always-on node starts without a locator: it serves the page and the signalling.
      const { program: alwaysOn, base } = await startAlwaysOn()

      const laptop = await openPage(base)
      const { passphrase, recoveryCode, locator } = await signUpInPage(laptop, 'Laptop browser')
      // The page shows the locator: given to the always-on node, it relays and keeps the database.
      await giveLocator(alwaysOn, locator)
      await putInPage(laptop, 'shopping/1', 'oat milk')
      await laptop.page.waitForFunction(() => window.hypha.connections().some((c) => c.transport === 'websocket'))

      const firefox = await openPage(base)
      const code = await signInInPage(firefox, FIREFOX, passphrase, 'Laptop browser')
      // The read-only page already replicates the database.
      await waitForEntry(firefox, 'shopping/1', 'oat milk')

      // The laptop shows the prompt with the very code the new device shows beside its name.
      const prompt = await laptop.page.waitForSelector(`.prompt[data-node-name="${FIREFOX}"]`)
      expect(await prompt.$eval('.prompt-node', (e) => e.textContent)).toBe(FIREFOX)
      expect(await prompt.$eval('.prompt-code', (e) => e.textContent)).toBe(code)
      expect(await prompt.getAttribute('data-warnings')).toBe('')
      expect(await prompt.textContent()).toContain(`Authorise node ${FIREFOX}?`)
      await mkdir(ARTIFACTS, { recursive: true })
      await prompt.screenshot({ path: `${ARTIFACTS}authorise-prompt.png` })
      await laptop.page.screenshot({ path: `${ARTIFACTS}authorise-prompt-page.png`, fullPage: true })
      await firefox.page.screenshot({ path: `${ARTIFACTS}waiting-for-approval-page.png`, fullPage: true })

      await (await prompt.$('button.approve'))!.click()
      await firefox.page.waitForSelector('body[data-writable="true"]')
      await firefox.page.waitForSelector('#request', { state: 'hidden' })
      await laptop.page.waitForSelector('.prompt', { state: 'detached' })
      await putInPage(firefox, 'shopping/2', 'coffee beans from Firefox')
      await waitForEntry(laptop, 'shopping/2', 'coffee beans from Firefox')

      // Both device lists: the two devices (each marking itself) and the recovery key.
      for (const [web, self] of [[laptop, 'Laptop browser'], [firefox, FIREFOX]] as const) {
        await deviceInPage(web, FIREFOX, 'writer')
        await deviceInPage(web, 'Laptop browser', 'writer')
        expect(await web.page.$eval(`#devices li[data-name="${self}"]`, (e) => e.getAttribute('data-current'))).toBe('true')
        expect(await web.page.$$('#devices li[data-status="recovery"]')).toHaveLength(1)
      }
      expect(await laptop.page.textContent(`#devices li[data-name="${FIREFOX}"] .device-status`)).toMatch(/^writer, added by "Laptop browser" /)

      // The two pages are connected to each other over WebRTC (each one's WebRTC connection is
      // to the other's id in the signalling room), on 127.0.0.1; and each to the always-on node
      // over WebSocket.
      const laptopId = await laptop.page.evaluate(() => window.hypha.webrtcPeerId())
      const firefoxId = await firefox.page.evaluate(() => window.hypha.webrtcPeerId())
      expect(laptopId).toMatch(/^[0-9a-f]{32}$/)
      expect(firefoxId).toMatch(/^[0-9a-f]{32}$/)
      for (const [web, other] of [[laptop, firefoxId], [firefox, laptopId]] as const) {
        const conns = await connections(web)
        const rtc = conns.filter((c) => c.transport === 'webrtc')
        expect(rtc.map((c) => c.peerId)).toEqual([other])
        expect(conns.filter((c) => c.transport === 'websocket')).toHaveLength(1)
        expect(await web.page.textContent('#status-transports')).toBe('webrtc, websocket')
        expect(await web.page.textContent('#status-peers')).toBe('2')
      }

      // The ICE pair each browser selected (getStats): its own end is 127.0.0.1, and the ports
      // match crosswise (a peer-reflexive remote shows as ":port": Chromium hides its address), so
      // both ends of the path are 127.0.0.1.
      const laptopPairs = await laptop.page.evaluate(() => window.hypha.webrtcSelectedPairs())
      const firefoxPairs = await firefox.page.evaluate(() => window.hypha.webrtcSelectedPairs())
      expect(laptopPairs).toHaveLength(1)
      expect(firefoxPairs).toHaveLength(1)
      for (const [mine, theirs] of [[laptopPairs[0]!, firefoxPairs[0]!], [firefoxPairs[0]!, laptopPairs[0]!]] as const) {
        expect(mine.local).toMatch(/^127\.0\.0\.1:\d+$/)
        expect(mine.remote).toMatch(mine.remoteType === 'prflx' ? /^(127\.0\.0\.1)?:\d+$/ : /^127\.0\.0\.1:\d+$/)
        expect(mine.remote!.split(':')[1]).toBe(theirs.local!.split(':')[1])
      }
      expect([laptopPairs[0]!.peerId, firefoxPairs[0]!.peerId]).toEqual([firefoxId, laptopId])

      // A value over a data channel's message limit (Chromium's max-message-size: 256 KiB) crosses
      // the WebRTC connection without dropping it: the transport splits what it writes.
      const webrtcWarnings = [laptop, firefox].map((web) => {
        const seen: string[] = []
        web.page.on('console', (msg) => {
          if (msg.type() === 'warning' && msg.text().startsWith('webrtc:')) seen.push(msg.text())
        })
        return seen
      })
      const large = 'large value '.repeat(30 * 1024) // 360 KiB
      await putInPage(laptop, 'shopping/large', large)
      await waitForEntry(firefox, 'shopping/large', large)
      expect(webrtcWarnings).toEqual([[], []])
      expect(await firefox.page.evaluate(() => window.hypha.webrtcPeerId())).toBe(firefoxId)
      expect((await connections(firefox)).filter((c) => c.transport === 'webrtc').map((c) => c.peerId)).toEqual([laptopId])

      // Every ICE candidate exchanged was a 127.0.0.1 one: as seen on the wire (the signalling
      // frames), and the pages' filters let through exactly the 127.0.0.1 candidates they saw.
      for (const web of [laptop, firefox]) {
        expect(web.signalledCandidates.length).toBeGreaterThan(0)
        expect(web.signalledCandidates.map(candidateAddress)).toEqual(web.signalledCandidates.map(() => '127.0.0.1'))
        const seen = await web.page.evaluate(() => window.hypha.iceCandidates())
        expect(seen.filter((c) => c.allowed).length).toBeGreaterThan(0)
        for (const c of seen) expect(c.allowed).toBe(candidateAddress(c.candidate) === '127.0.0.1')
      }

      // Reload the second page: it offers to open its device again and asks for the passphrase
      // (never stored); IndexedDB keeps the device, still a writer, and it asks nobody.
      await firefox.page.reload()
      await reopenInPage(firefox, FIREFOX, passphrase)
      await waitForEntry(firefox, 'shopping/1', 'oat milk')
      await waitForEntry(firefox, 'shopping/2', 'coffee beans from Firefox')
      expect(await firefox.page.isVisible('#request')).toBe(false)
      await putInPage(firefox, 'shopping/3', 'written after a reload')
      await waitForEntry(laptop, 'shopping/3', 'written after a reload')
      // No second prompt appeared on the laptop: the reloaded page did not ask again.
      expect(await laptop.page.$$('.prompt')).toHaveLength(0)

      // The origin page reloads too: it reopens its device, still writable, and the two pages
      // meet again over WebRTC.
      await laptop.page.reload()
      await reopenInPage(laptop, 'Laptop browser', passphrase)
      expect(await laptop.page.isVisible('#new-account')).toBe(false) // the recovery code was shown once
      await waitForEntry(laptop, 'shopping/3', 'written after a reload')
      await putInPage(laptop, 'shopping/4', 'from the reloaded laptop')
      await waitForEntry(firefox, 'shopping/4', 'from the reloaded laptop')
      const entries = await firefox.page.evaluate(() => window.hypha.entries())
      expect(entries.map((e) => e.key)).toEqual(['shopping/1', 'shopping/2', 'shopping/3', 'shopping/4', 'shopping/large'])
      await firefox.page.waitForFunction(() => window.hypha.connections().some((c) => c.transport === 'webrtc'))

      // Neither origin keeps the passphrase or the recovery code: not in localStorage (only the
      // names), not in IndexedDB (the device's keys and the encrypted database).
      for (const web of [laptop, firefox]) {
        const stored = await storedText(web)
        expect(stored).toContain(PERSON)
        for (const secret of [passphrase, recoveryCode, ...passphrase.split(' ').slice(0, 3)]) expect(stored).not.toContain(secret)
      }

      // A second tab of the same browser context (same storage) does not open the device again.
      const secondTab = await firefox.page.context().newPage()
      await secondTab.goto(firefox.page.url())
      await secondTab.waitForSelector('#error', { state: 'visible', timeout: WAIT_MS })
      expect(await secondTab.textContent('#error')).toMatch(/^Could not open this device: this device's database is already open in another tab/)
      expect(await secondTab.evaluate(() => window.hypha.phase())).toBe('welcome')
      await secondTab.close()

      // Only the laptop page dialled /hypha before the always-on node had the locator.
      expect(firefox.refusedWebSockets).toEqual([])
      for (const web of [laptop, firefox]) {
        expect(web.errors).toEqual([])
        expect(web.foreignRequests).toEqual([])
      }
      // The always-on node served both pages and relayed, and never saw names or values.
      await alwaysOn.waitFor(/^\[conn\] opened websocket /)
      for (const secret of [FIREFOX, 'Laptop browser', 'oat milk', 'coffee', 'shopping', passphrase, recoveryCode]) {
        expect(alwaysOn.output + alwaysOn.stderr).not.toContain(secret)
      }
    },
    TEST_TIMEOUT_MS
  )

  it(
    'browser ↔ native over WebSocket through the always-on node: a native node approves a page',
    async () => {
      const laptop = new Program('native sign-up', 'native.js', ['sign-up', '--name', PERSON, '--node-name', 'Laptop'])
      const passphrase = (await laptop.waitFor(/^passphrase: (.+)$/)).match[1]!
      const locator = (await laptop.waitFor(/^locator: ([0-9a-f]{258})$/)).match[1]!
      await laptop.waitFor(/^ready: /)
      const { base, tcpUrl } = await startAlwaysOn(locator)
      await laptop.command(`connect ${tcpUrl}`, /^\[peer\] connected over tcp/)
      await laptop.command('put note/1 from the laptop', /^ok: put note\/1$/)

      // The page finds the database through the always-on node, which has the locator.
      const chrome = await openPage(base)
      const code = await signInInPage(chrome, 'Chrome on Linux', passphrase, 'Laptop')
      await waitForEntry(chrome, 'note/1', 'from the laptop')

      await laptop.waitFor(new RegExp(`^Authorise node "Chrome on Linux"\\? code ${code} \\[y/N\\]$`))
      laptop.send('y')
      await laptop.waitFor(/^\[auth\] authorised "Chrome on Linux": it is a writer now$/)
      await chrome.page.waitForSelector('body[data-writable="true"]')

      await putInPage(chrome, 'note/2', 'from Chromium')
      expect(await laptop.getEventually('note/2')).toBe('"from Chromium"')
      await laptop.command('put note/3 back to the page', /^ok: put note\/3$/)
      await waitForEntry(chrome, 'note/3', 'back to the page')
      await deviceInPage(chrome, 'Chrome on Linux', 'writer')
      expect(await chrome.page.textContent('#devices li[data-name="Chrome on Linux"] .device-status')).toMatch(/^writer, added by "Laptop" /)
      await laptop.command('devices', /^\(2 devices: 2 writers, 0 revoked; \* is this device\)$/)

      // The page's only connection is the WebSocket to the always-on node (no other browser).
      expect((await connections(chrome)).map((c) => c.transport)).toEqual(['websocket'])
      expect(chrome.errors).toEqual([])
      expect(chrome.refusedWebSockets).toEqual([])
      expect(chrome.foreignRequests).toEqual([])
    },
    TEST_TIMEOUT_MS
  )

  it(
    'browser ↔ native over WebSocket through the always-on node: a page approves a native node, warns about a second one of the same name, revokes',
    async () => {
      const { program: alwaysOn, base } = await startAlwaysOn()
      const chrome = await openPage(base)
      const { passphrase, locator } = await signUpInPage(chrome, 'Chrome on Linux')
      const tcpUrl = await giveLocator(alwaysOn, locator)
      await putInPage(chrome, 'todo/1', 'from the page')

      const tablet = new Program('native sign-in', 'native.js', [
        'sign-in', '--name', PERSON, '--node-name', 'Tablet', '--passphrase', passphrase, '--connect', tcpUrl
      ])
      await tablet.waitFor(/read-only until another device authorises it/)
      expect((await tablet.waitFor(/^database key: ([0-9a-f]{64})$/)).match[1]).toBe(await chrome.page.evaluate(() => window.hypha.databaseKey()))
      const code = await nativeCodeFrom(tablet, 'Chrome on Linux')
      expect(await tablet.getEventually('todo/1')).toBe('"from the page"')

      const prompt = await chrome.page.waitForSelector('.prompt[data-node-name="Tablet"]')
      expect(await prompt.$eval('.prompt-code', (e) => e.textContent)).toBe(code)
      await (await prompt.$('button.approve'))!.click()
      await tablet.waitFor(/^\[auth\] approved: this node is writable now$/)
      await chrome.page.waitForSelector('.prompt', { state: 'detached' })

      await tablet.command('put todo/2 from the tablet', /^ok: put todo\/2$/)
      await waitForEntry(chrome, 'todo/2', 'from the tablet')
      await putInPage(chrome, 'todo/3', 'page after approving')
      expect(await tablet.getEventually('todo/3')).toBe('"page after approving"')

      // Another device asks under the same name: the prompt says so; the page denies it.
      const impostor = new Program('native impostor', 'native.js', [
        'sign-in', '--name', PERSON, '--node-name', 'Tablet', '--passphrase', passphrase, '--connect', tcpUrl
      ])
      const impostorCode = await nativeCodeFrom(impostor, 'Chrome on Linux')
      const warned = await chrome.page.waitForSelector(`.prompt[data-node-name="Tablet"][data-code="${impostorCode}"]`)
      expect(await warned.getAttribute('data-warnings')).toBe('name-in-use')
      expect(await warned.$eval('.warning-name-in-use', (e) => e.textContent)).toMatch(/^a device named "Tablet" is already in your device list \(1 active\)/)
      await warned.screenshot({ path: `${ARTIFACTS}prompt-with-warning.png` })
      await (await warned.$('button.deny'))!.click()
      await impostor.waitFor(/^\[auth\] request denied: not approved on "Chrome on Linux"\./)

      // Revoke the tablet from the page's device list.
      await deviceInPage(chrome, 'Tablet', 'writer')
      await chrome.page.click('#devices li[data-name="Tablet"] button.revoke')
      await tablet.waitFor(/^\[auth\] this node is read-only now/)
      await deviceInPage(chrome, 'Tablet', 'revoked')
      expect(await chrome.page.textContent('#devices li[data-name="Tablet"] .device-status')).toMatch(/^revoked by "Chrome on Linux" /)
      await chrome.page.screenshot({ path: `${ARTIFACTS}devices-page.png`, fullPage: true })

      expect((await connections(chrome)).map((c) => c.transport)).toEqual(['websocket'])
      expect(chrome.errors).toEqual([])
      expect(chrome.foreignRequests).toEqual([])
    },
    TEST_TIMEOUT_MS
  )
})
