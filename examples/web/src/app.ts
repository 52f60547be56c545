// The Hypha web example: a browser node in a plain page (no framework). It signs up or signs in,
// keeps this device (its random keys and its copy of the database) in IndexedDB, shows
// authorisation prompts from other devices with their warnings, its own codes (one per approving
// device) when it asks, the device list, and the entries, live.
//
// The passphrase lets a device find, read and ask; only an approval by a current writer lets it
// write. The page never stores the passphrase: localStorage holds only the name, this device's
// name and the KDF switch, and a reload asks for the passphrase again to reopen the device.
//
// It talks only to the server the page came from (the always-on example with --web):
//   ws(s)://<host>/hypha         WebSocket to the always-on node (which bridges to native nodes)
//   ws(s)://<host>/hypha-signal  WebRTC signalling: browser ↔ browser directly
//
// URL switches, for tests and demos on one machine:
//   ?fastkdf=1   Argon2id at a very low cost (t=1, 64 KiB, the same as native.js's HYPHA_FAST_KDF=1)
//   ?loopback=1  WebRTC only over 127.0.0.1 candidates (asks for the microphone first: Chromium
//                gathers host candidates only with media permission; no audio is used)
//
// Bundled by examples/src/build-web.ts (`node examples/dist/build-web.js`) into dist/app.js.
import { idbStorage } from '@hypha/storage-indexeddb'
import { type Entry, type NodeConnection, type Transport, type Value } from '@hypha/node-core'
import { webRtcTransport } from '@hypha/transport-webrtc'
import { webSocketClient } from '@hypha/transport-websocket'
import {
  AuthError,
  normaliseName,
  signIn,
  signUp,
  type Account,
  type AccountDevice,
  type ApproverCode,
  type AuthorisationPrompt,
  type AuthorisationRequest
} from '@hypha/auth'
import { deviceStatus, sortDevices, warningTexts } from '../../src/format.js'

// ---- configuration ------------------------------------------------------------------------

const params = new URLSearchParams(location.search)
const FAST_KDF = { iterations: 1, memoryKiB: 64 }
const urlFastKdf = params.get('fastkdf') === '1'
const loopbackOnly = params.get('loopback') === '1'
const SAVED_KEY = 'hypha-web-device'
/** Where earlier versions of this page kept the passphrase: removed on sight. */
const LEGACY_SESSION_KEY = 'hypha-web-session'

/**
 * What a reload needs to offer "Open <device> for <name>": nothing secret. The device itself (its
 * keys and its copy of the database) is in IndexedDB; the passphrase is asked again.
 */
interface SavedDevice {
  version: 2
  name: string
  nodeName: string
  /** The KDF cost the account uses: a reload must use the same, or the keys differ. */
  fastKdf: boolean
}

// ---- small DOM helpers --------------------------------------------------------------------

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id)
  if (!element) throw new Error(`#${id} is missing from index.html`)
  return element as T
}

function show(id: string, visible: boolean): void {
  $(id).hidden = !visible
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const element = Object.assign(document.createElement(tag), props)
  element.append(...children)
  return element
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
const message = (err: unknown) => (err instanceof Error ? err.message : String(err))
const showValue = (value: Value) => (typeof value === 'string' ? value : `<${value.byteLength} bytes>`)

function log(text: string): void {
  const list = $('log')
  list.prepend(el('li', { textContent: `${new Date().toLocaleTimeString()} ${text}` }))
  while (list.children.length > 100) list.lastElementChild?.remove()
}

function showError(text: string | null): void {
  $('error').textContent = text ?? ''
  show('error', text !== null)
}

/** "Firefox on Ubuntu 64-bit", "Chrome on Linux 64-bit", "Safari on iOS": a default device name. */
export function deviceNameFromUserAgent(ua: string): string {
  const browser = /Edg(e|A|iOS)?\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\/|FxiOS\//.test(ua)
        ? 'Firefox'
        : /Chrom(e|ium)\/|CriOS\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : 'Browser'
  const system = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad|iPod/.test(ua)
      ? 'iOS'
      : /CrOS/.test(ua)
        ? 'ChromeOS'
        : /Windows/.test(ua)
          ? 'Windows'
          : /Macintosh|Mac OS X/.test(ua)
            ? 'macOS'
            : /Ubuntu/.test(ua)
              ? 'Ubuntu'
              : /Fedora/.test(ua)
                ? 'Fedora'
                : /Linux/.test(ua)
                  ? 'Linux'
                  : 'an unknown system'
  const desktop = system === 'Windows' || system === 'Linux' || system === 'Ubuntu' || system === 'Fedora'
  const bits = desktop && /x86_64|x64|Win64|WOW64|amd64|aarch64|arm64/i.test(ua) ? ' 64-bit' : ''
  return `${browser} on ${system}${bits}`
}

// ---- what this browser remembers (nothing secret) -------------------------------------------

function loadSaved(): SavedDevice | null {
  try {
    const raw = localStorage.getItem(SAVED_KEY)
    if (!raw) return null
    const s = JSON.parse(raw) as Partial<SavedDevice>
    if (s.version !== 2 || typeof s.name !== 'string' || typeof s.nodeName !== 'string') return null
    return { version: 2, name: s.name, nodeName: s.nodeName, fastKdf: s.fastKdf === true }
  } catch {
    return null
  }
}

function save(device: SavedDevice): void {
  localStorage.setItem(SAVED_KEY, JSON.stringify(device))
}

/** One IndexedDB database per person in this browser (per origin): that is this device. */
const dbNameFor = (name: string) => `hypha:${normaliseName(name)}`

// ---- the node -----------------------------------------------------------------------------

interface CandidateRecord {
  direction: 'filter'
  candidate: string
  allowed: boolean
}

let account: Account | null = null
let rtc: ReturnType<typeof webRtcTransport> | null = null
let request: AuthorisationRequest | null = null
let saved: SavedDevice | null = null
const prompts = new Map<AuthorisationPrompt, HTMLElement>()
const candidates: CandidateRecord[] = []
const heldLocks = new Set<string>()
let phase: 'starting' | 'welcome' | 'unlock' | 'busy' | 'open' = 'starting'

function candidateAddress(candidate: string): string | null {
  const parts = candidate.trim().replace(/^a=/, '').split(/\s+/)
  if (parts.length < 8 || !parts[0]!.startsWith('candidate:')) return null
  return parts[4] ?? null
}

/** ?loopback=1: only 127.0.0.1 candidates are sent or accepted (every one is recorded). */
function loopbackFilter(candidate: string): boolean {
  const allowed = candidateAddress(candidate) === '127.0.0.1'
  candidates.push({ direction: 'filter', candidate, allowed })
  return allowed
}

function transportsFor(): Transport[] {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  const ws = webSocketClient({ url: `${scheme}://${location.host}/hypha` })
  rtc = webRtcTransport({
    signallingUrl: `${scheme}://${location.host}/hypha-signal`,
    ...(loopbackOnly ? { candidateFilter: loopbackFilter } : {})
  })
  rtc.on('connection-error', (err) => console.warn(`webrtc: ${err.code} ${err.message}`))
  return [ws, rtc]
}

/**
 * Two tabs of one origin share localStorage and IndexedDB: a second tab would open the same
 * device a second time. A Web Lock, held for the page's lifetime, keeps it to one tab. (It is
 * released when the tab goes away; on a reload the old page may still hold it for a moment.)
 */
async function lockDatabase(dbName: string): Promise<void> {
  const locks = navigator.locks
  if (!locks || heldLocks.has(dbName)) return // very old browsers: no guard
  const acquired = await new Promise<boolean>((resolve) => {
    locks
      .request(`hypha-db:${dbName}`, { signal: AbortSignal.timeout(5_000) }, () => {
        resolve(true)
        return new Promise<void>(() => {}) // never released while the page lives
      })
      .catch(() => resolve(false))
  })
  if (!acquired) {
    throw new Error(
      `this device's database is already open in another tab of this browser. Close that tab, or open another device in a private window, another browser, or at another address of the same server (http://localhost:${location.port} instead of http://127.0.0.1:${location.port}: each origin has its own storage).`
    )
  }
  heldLocks.add(dbName)
}

/**
 * Chromium gathers host ICE candidates (rather than mDNS names, or none on a loopback-only
 * machine) once the page has media permission. Only for ?loopback=1; the track is stopped at once.
 */
async function unlockHostCandidates(): Promise<void> {
  if (!loopbackOnly) return
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true })
  for (const track of stream.getTracks()) track.stop()
}

type Opening =
  | { kind: 'sign-up'; name: string; nodeName: string; passphrase: string | null; fastKdf: boolean }
  | { kind: 'sign-in'; name: string; nodeName: string; passphrase: string; fastKdf: boolean; reopening: boolean }

/** Signs up or signs in (which reopens this browser's device if it holds one); never stores the passphrase. */
async function open(opening: Opening): Promise<void> {
  setPhase('busy')
  const back = opening.kind === 'sign-in' && opening.reopening ? 'unlock' : 'welcome'
  $('busy-text').textContent = opening.fastKdf
    ? 'Deriving keys (fast test KDF)…'
    : 'Deriving keys with Argon2id (64 MiB; a second or a few on a phone)…'
  try {
    const dbName = dbNameFor(opening.name)
    await lockDatabase(dbName)
    await unlockHostCandidates()
    const options = {
      name: opening.name,
      nodeName: opening.nodeName,
      storage: idbStorage(dbName),
      transports: transportsFor(),
      ...(opening.fastKdf ? { kdf: FAST_KDF } : {})
    }
    if (opening.kind === 'sign-in' && !opening.reopening) {
      $('busy-text').textContent = 'Looking for your database among your devices and the always-on node (up to a minute)…'
    }
    const opened =
      opening.kind === 'sign-up'
        ? await signUp({ ...options, ...(opening.passphrase ? { passphrase: opening.passphrase } : {}) })
        : await signIn({ ...options, passphrase: opening.passphrase })
    account = opened
    saved = { version: 2, name: opening.name, nodeName: opening.nodeName, fastKdf: opening.fastKdf }
    save(saved)
    wire(opened, saved)
    setPhase('open')
    if (opening.kind === 'sign-up') {
      showNewAccount(opened)
      log('Signed up: this device created the database.')
    } else {
      log(opened.node.reopened ? `Opened "${opening.nodeName}" again from this browser's storage.` : 'Signed in: a new device, read-only until one of your devices approves it.')
    }
    if (!opened.writable) {
      // A reopened writer is writable once its view is loaded: give it that chance before asking.
      await opened.node.update()
      if (!opened.writable) ask(opened)
    }
    refreshStatus()
    void refreshEntries()
    void refreshDevices()
  } catch (err) {
    rtc = null
    account = null
    setPhase(back)
    showError(`Could not ${opening.kind === 'sign-up' ? 'sign up' : back === 'unlock' ? 'open this device' : 'sign in'}: ${explain(err)}`)
  }
}

/** What went wrong, in terms of what to do. */
function explain(err: unknown): string {
  if (!(err instanceof AuthError)) return message(err)
  switch (err.code) {
    case 'ERR_ACCOUNT_EXISTS':
      return `${err.message}. Use "Sign in" (in this browser it opens the device it holds).`
    case 'ERR_NOT_FOUND':
      return 'none of your devices answered, and the always-on node serving this page does not know your account yet (give it the locator one of your signed-in devices shows). Keep a signed-in device open and try again.'
    case 'ERR_OTHER_ACCOUNT':
      return 'the passphrase or the name is wrong for the device this browser holds.'
    default:
      return err.message
  }
}

function wire(acc: Account, device: SavedDevice): void {
  const node = acc.node
  $('status-device').textContent = device.nodeName
  $('status-name').textContent = device.name
  $('status-enabled').textContent = `websocket (${location.host}/hypha), webrtc (signalling ${location.host}/hypha-signal${loopbackOnly ? ', 127.0.0.1 only' : ''})`
  $('locator').textContent = acc.locator
  $('locator-note').textContent =
    'The always-on node serving this page relays for your devices, keeps your database (encrypted) and tells a signing-in device where it is once it has this locator. Paste it into the terminal of an always-on node started without one, or start it with: node examples/dist/always-on.js --locator <this> --web examples/web. It cannot read anything with it.'

  // Transports start inside signUp/signIn: connections made by then are logged here.
  for (const conn of node.connections) log(`Connected over ${conn.info.transport}${conn.info.remote ? ` (${conn.info.remote})` : ''}.`)
  node.on('connection', (conn) => {
    log(`Connected over ${conn.info.transport}${conn.info.remote ? ` (${conn.info.remote})` : ''}.`)
    refreshStatus()
  })
  node.on('disconnection', (conn) => {
    log(`Disconnected from a ${conn.info.transport} peer.`)
    refreshStatus()
  })
  node.on('writable', (writable) => {
    log(writable ? 'This node is writable now.' : 'This node is read-only now: its write access was removed.')
    refreshStatus()
    void refreshDevices()
  })
  node.on('update', () => {
    void refreshEntries()
    void refreshDevices()
  })
  node.on('error', (err) => showError(`The database failed: ${message(err)}`))

  acc.on('authorisation-request', (prompt) => addPrompt(prompt))
  acc.on('authorisation-settled', (prompt) => {
    const card = prompts.get(prompt)
    prompts.delete(prompt)
    card?.remove()
    const what: Record<string, string> = {
      approved: 'authorised here',
      denied: 'denied here',
      'approved-elsewhere': 'approved on another device',
      'denied-elsewhere': 'denied on another device',
      cancelled: 'withdrawn by that device',
      expired: 'expired without an answer'
    }
    log(`The request from "${prompt.nodeName}" (code ${prompt.code}) was ${what[prompt.status] ?? prompt.status}.`)
  })
  acc.on('request-refused', ({ reason, nodeName }) =>
    log(`Ignored a request from "${nodeName}": ${reason === 'too-many-pending' ? 'too many requests from it are open' : 'its code did not match its commitment'}.`)
  )
  acc.on('account-conflict', () => showError('A peer proved another database for this account (two sign-ups with one passphrase?).'))
}

/** After a sign-up: the generated passphrase (if any) and the recovery code, once. */
function showNewAccount(acc: Account): void {
  if (acc.passphrase) $('generated-passphrase').textContent = acc.passphrase
  show('new-passphrase', acc.passphrase !== null)
  $('recovery-code').textContent = acc.recoveryCode ?? ''
  show('new-account', true)
}

function ask(acc: Account): void {
  if (acc.writable || request) return
  const current = acc.requestAuthorisation()
  request = current
  $('request-codes').replaceChildren()
  $('request-status').textContent = ''
  show('request-waiting', true)
  show('request-again', false)
  show('request', true)
  log(`Asked the other devices to authorise "${acc.nodeName}".`)
  // Each approving device's code, known once it answered the request: shown beside its name.
  current.on('code', (code) => addCode(code))
  for (const code of current.codes) addCode(code)
  current.done.then(
    () => {
      if (request === current) request = null
      show('request', false)
      log('Approved: this node is writable now.')
      refreshStatus()
    },
    (err: unknown) => {
      if (request === current) request = null
      if (err instanceof AuthError && (err.code === 'ERR_CLOSED' || err.code === 'ERR_CANCELLED')) return
      show('request-waiting', false)
      $('request-status').textContent =
        err instanceof AuthError && err.code === 'ERR_DENIED' ? `Request ${err.message}. This device stays read-only.` : `Request failed: ${message(err)}`
      show('request-again', true)
      refreshStatus()
    }
  )
}

function addCode({ approverName, code }: ApproverCode): void {
  const list = $('request-codes')
  if (Array.from(list.children).some((li) => (li as HTMLElement).dataset.approver === approverName && (li as HTMLElement).dataset.code === code)) return
  const item = el(
    'li',
    { className: 'request-code' },
    el('span', { className: 'approver', textContent: approverName || 'A device with no name' }),
    ' shows ',
    el('strong', { className: 'code', textContent: code })
  )
  item.dataset.approver = approverName
  item.dataset.code = code
  list.append(item)
  show('request-waiting', false)
  $('request-status').textContent = 'Approve on that device only if its prompt shows the same code.'
  log(`"${approverName}" answered: code ${code}.`)
}

function addPrompt(prompt: AuthorisationPrompt): void {
  const approve = el('button', { type: 'button', className: 'approve', textContent: 'Authorise' })
  const deny = el('button', { type: 'button', className: 'deny', textContent: 'Deny' })
  const warnings = warningTexts(prompt)
  const card = el(
    'div',
    { className: 'card prompt' },
    el('p', {}, 'Authorise node ', el('em', { className: 'prompt-node', textContent: prompt.nodeName }), '?'),
    el('p', {}, 'Verification code ', el('strong', { className: 'code prompt-code', textContent: prompt.code })),
    ...(warnings.length
      ? [el('ul', { className: 'warnings' }, ...warnings.map(({ warning, text }) => el('li', { className: `warning-${warning}`, textContent: text })))]
      : []),
    el('p', { className: 'note', textContent: 'Approve only if the device you are adding shows the same code beside this device’s name.' }),
    el('div', { className: 'buttons' }, approve, deny)
  )
  card.dataset.nodeName = prompt.nodeName
  card.dataset.code = prompt.code
  card.dataset.warnings = warnings.map((w) => w.warning).join(' ')
  const answer = async (yes: boolean) => {
    approve.disabled = deny.disabled = true
    try {
      if (yes) await prompt.approve()
      else prompt.deny(`not approved on "${account?.nodeName ?? 'another device'}"`)
    } catch (err) {
      showError(`Could not answer "${prompt.nodeName}": ${message(err)}`)
      approve.disabled = deny.disabled = false
    }
  }
  approve.addEventListener('click', () => void answer(true))
  deny.addEventListener('click', () => void answer(false))
  prompts.set(prompt, card)
  $('prompts').append(card)
  log(`"${prompt.nodeName}" asks to be authorised (code ${prompt.code})${warnings.length ? `; warnings: ${warnings.map((w) => w.warning).join(', ')}` : ''}.`)
}

// ---- rendering ----------------------------------------------------------------------------

function setPhase(next: typeof phase): void {
  phase = next
  show('welcome', next === 'welcome')
  show('unlock', next === 'unlock')
  show('busy', next === 'busy')
  show('session', next === 'open')
  document.body.dataset.phase = next
}

function showUnlock(device: SavedDevice): void {
  $('unlock-device').textContent = device.nodeName
  $('unlock-name').textContent = device.name
  setPhase('unlock')
  $<HTMLInputElement>('unlock-passphrase').focus()
}

function connectionList(): { transport: string; remote: string | null; peerId: string | null }[] {
  return (account?.node.connections ?? []).map((conn: NodeConnection) => {
    const info = conn.info as NodeConnection['info'] & { peerId?: string }
    return { transport: info.transport, remote: info.remote ?? null, peerId: info.peerId ?? null }
  })
}

/** `address:port` of both ends; a peer-reflexive remote's address is hidden by the browser (":port"). */
interface SelectedPair {
  peerId: string | null
  local: string | null
  remote: string | null
  /** 'host', 'prflx', … */
  remoteType: string | null
}

/**
 * The ICE candidate pair each WebRTC connection actually uses, from the browser's own statistics
 * (`getStats()` of the RTCPeerConnection under simple-peer, the raw stream of the Noise stream).
 */
async function selectedPairs(): Promise<SelectedPair[]> {
  const out: SelectedPair[] = []
  for (const conn of account?.node.connections ?? []) {
    if (conn.info.transport !== 'webrtc') continue
    const pc = (conn.stream as { rawStream?: { _pc?: RTCPeerConnection } }).rawStream?._pc
    const peerId = (conn.info as { peerId?: string }).peerId ?? null
    if (!pc) {
      out.push({ peerId, local: null, remote: null, remoteType: null })
      continue
    }
    const stats = await pc.getStats()
    const byId = new Map<string, Record<string, unknown>>()
    stats.forEach((report: Record<string, unknown>) => byId.set(report.id as string, report))
    let pairId: string | undefined
    for (const report of byId.values()) {
      if (report.type === 'transport' && typeof report.selectedCandidatePairId === 'string') pairId = report.selectedCandidatePairId
    }
    const pair = pairId ? byId.get(pairId) : undefined
    const address = (id: unknown) => {
      const candidate = typeof id === 'string' ? byId.get(id) : undefined
      return candidate ? `${String(candidate.address ?? candidate.ip)}:${String(candidate.port)}` : null
    }
    const remote = typeof pair?.remoteCandidateId === 'string' ? byId.get(pair.remoteCandidateId) : undefined
    out.push({
      peerId,
      local: address(pair?.localCandidateId),
      remote: address(pair?.remoteCandidateId),
      remoteType: typeof remote?.candidateType === 'string' ? remote.candidateType : null
    })
  }
  return out
}

function refreshStatus(): void {
  if (!account) return
  const node = account.node
  const writable = $('status-writable')
  writable.textContent = node.writable ? 'writable' : 'read-only'
  writable.className = node.writable ? 'writable' : 'read-only'
  $('status-peers').textContent = String(node.peerCount)
  const used = [...new Set(connectionList().map((c) => c.transport))].sort()
  $('status-transports').textContent = used.length ? used.join(', ') : 'none yet'
  $('put-button').toggleAttribute('disabled', !node.writable)
  document.body.dataset.writable = String(node.writable)
}

/**
 * Runs `render` for the current account; calls made while one runs coalesce into one more run
 * (bursts of `update` events). A failure is shown unless the node is closing.
 */
function coalesced(render: (acc: Account) => Promise<void>, what: string): () => Promise<void> {
  let running = false
  let again = false
  return async () => {
    if (!account) return
    if (running) {
      again = true
      return
    }
    running = true
    try {
      do {
        again = false
        await render(account)
      } while (again && account)
    } catch (err) {
      if (!account?.node.closed) showError(`Could not ${what}: ${message(err)}`)
    } finally {
      running = false
    }
  }
}

let lastEntries: Entry[] = []

/** Re-lists the entries. */
const refreshEntries = coalesced(async (acc) => {
  lastEntries = await acc.node.list()
  $('entries').replaceChildren(
    ...lastEntries.map((entry) => {
      const item = el('li', {}, el('code', { textContent: entry.key }), ' = ', el('span', { textContent: showValue(entry.value) }))
      item.dataset.key = entry.key
      return item
    })
  )
  show('entries-empty', lastEntries.length === 0)
}, 'list the entries')

let lastDevices: AccountDevice[] = []

/** Re-renders the device list (the registry). */
const refreshDevices = coalesced(async (acc) => {
  lastDevices = sortDevices(await acc.devices())
  $('devices').replaceChildren(...lastDevices.map((device) => deviceItem(acc, device)))
  // A new device enters the registry when a writer approves it.
  show('devices-not-yet', !lastDevices.some((d) => d.current))
}, 'read the device list')

function deviceItem(acc: Account, device: AccountDevice): HTMLElement {
  const name = device.recovery ? 'Recovery key' : device.name || '(no name)'
  const item = el(
    'li',
    {},
    el('strong', { className: 'device-name', textContent: name }),
    device.current ? ' (this device) ' : ' ',
    el('span', { className: 'device-status', textContent: deviceStatus(device, lastDevices) })
  )
  item.dataset.name = device.name
  item.dataset.current = String(device.current)
  item.dataset.status = device.recovery ? 'recovery' : device.active ? 'writer' : 'revoked'
  if (acc.writable && device.active && !device.current && !device.recovery) {
    const revoke = el('button', { type: 'button', className: 'secondary revoke', textContent: 'Revoke' })
    revoke.addEventListener('click', () => {
      revoke.disabled = true
      acc.revoke(device.writerKey).then(
        () => {
          log(`Revoked "${device.name}".`)
          void refreshDevices()
        },
        (err: unknown) => {
          revoke.disabled = false
          showError(`Could not revoke "${device.name}": ${message(err)}`)
        }
      )
    })
    item.append(revoke)
  }
  return item
}

// ---- forms --------------------------------------------------------------------------------

/** An input's value, and the input emptied (a passphrase does not linger in the page). */
function take(id: string): string {
  const input = $<HTMLInputElement>(id)
  const value = input.value.trim()
  input.value = ''
  return value
}

function formValue(id: string): string {
  return $<HTMLInputElement>(id).value.trim()
}

/** Closes the account (if open) and reloads the page. */
function closeAndReload(before: () => Promise<void> | void = () => {}): void {
  const closing = account
  account = null
  rtc = null
  void (closing ? closing.close() : Promise.resolve())
    .catch(() => {})
    .then(before)
    .catch(() => {})
    .finally(() => location.reload())
}

function setup(): void {
  const defaultDevice = deviceNameFromUserAgent(navigator.userAgent)
  $<HTMLInputElement>('sign-up-device').value = defaultDevice
  $<HTMLInputElement>('sign-in-device').value = defaultDevice
  if (urlFastKdf || loopbackOnly) {
    const notes: string[] = []
    if (urlFastKdf) notes.push('Test mode (?fastkdf=1): keys are derived with a very cheap Argon2id. Never use it with a real passphrase.')
    if (loopbackOnly) notes.push('?loopback=1: WebRTC uses 127.0.0.1 candidates only (and asks for the microphone to reveal them; no audio is used).')
    $('test-mode').textContent = notes.join(' ')
    show('test-mode', true)
  }

  $<HTMLFormElement>('sign-up-form').addEventListener('submit', (event) => {
    event.preventDefault()
    showError(null)
    const passphrase = take('sign-up-passphrase')
    void open({
      kind: 'sign-up',
      name: formValue('sign-up-name'),
      nodeName: formValue('sign-up-device'),
      passphrase: passphrase === '' ? null : passphrase, // empty: signUp generates one
      fastKdf: urlFastKdf
    })
  })

  $<HTMLFormElement>('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault()
    showError(null)
    void open({
      kind: 'sign-in',
      name: formValue('sign-in-name'),
      nodeName: formValue('sign-in-device'),
      passphrase: take('sign-in-passphrase'),
      fastKdf: urlFastKdf,
      reopening: false
    })
  })

  $<HTMLFormElement>('unlock-form').addEventListener('submit', (event) => {
    event.preventDefault()
    showError(null)
    if (!saved) return
    void open({ kind: 'sign-in', name: saved.name, nodeName: saved.nodeName, passphrase: take('unlock-passphrase'), fastKdf: saved.fastKdf, reopening: true })
  })

  $('unlock-other').addEventListener('click', () => {
    // Only the remembered names go: the device stays in IndexedDB ("Sign in" with the same name opens it).
    localStorage.removeItem(SAVED_KEY)
    saved = null
    showError(null)
    setPhase('welcome')
  })

  $<HTMLFormElement>('put-form').addEventListener('submit', (event) => {
    event.preventDefault()
    showError(null)
    const key = $<HTMLInputElement>('put-key')
    const value = $<HTMLInputElement>('put-value')
    if (!account) return
    account.node.put(key.value, value.value).then(
      () => {
        log(`Put "${key.value}".`)
        key.value = value.value = ''
        void refreshEntries()
      },
      (err: unknown) => showError(`Could not put: ${message(err)}`)
    )
  })

  $('request-again').addEventListener('click', () => {
    if (account) ask(account)
  })

  $('new-account-done').addEventListener('click', () => {
    $('generated-passphrase').textContent = ''
    $('recovery-code').textContent = ''
    show('new-account', false)
  })

  // Sign out: close; the next visit asks for the passphrase to open this device again.
  $('sign-out').addEventListener('click', () => closeAndReload())

  // Forget: also delete this device's keys and its copy of the database from this browser.
  $('forget-device').addEventListener('click', () => {
    const device = saved
    if (!device) return
    if (!confirm(`Delete "${device.nodeName}" from this browser: its keys and its copy of your database? Revoke it from another device's list too.`)) return
    closeAndReload(async () => {
      localStorage.removeItem(SAVED_KEY)
      await new Promise<void>((resolve) => {
        const req = indexedDB.deleteDatabase(dbNameFor(device.name))
        req.onsuccess = req.onerror = req.onblocked = () => resolve()
      })
    })
  })
}

// ---- for tests and the curious: window.hypha ------------------------------------------------

export interface HyphaPageApi {
  /** 'starting' | 'welcome' | 'unlock' | 'busy' | 'open' */
  phase(): string
  writable(): boolean
  /** Every open connection: transport name ('websocket', 'webrtc'), remote address, WebRTC peer id. */
  connections(): { transport: string; remote: string | null; peerId: string | null }[]
  /** The ICE pair (local and remote address:port) each WebRTC connection uses, from getStats(). */
  webrtcSelectedPairs(): Promise<SelectedPair[]>
  /** This page's id in the WebRTC signalling room ('' before it joined). */
  webrtcPeerId(): string
  /** Every ICE candidate the ?loopback=1 filter saw (sent and received), and whether it passed. */
  iceCandidates(): { candidate: string; allowed: boolean }[]
  entries(): { key: string; value: string }[]
  databaseKey(): string | null
  /** What an always-on node is given (hex), once open. */
  locator(): string | null
  /** The codes of the pending request, one per approving device. */
  requestCodes(): { approverName: string; code: string }[]
  /** The device list as last shown. */
  devices(): { name: string; current: boolean; active: boolean; recovery: boolean; status: string }[]
}

declare global {
  interface Window {
    hypha: HyphaPageApi
  }
}

window.hypha = {
  phase: () => phase,
  writable: () => account?.writable ?? false,
  connections: connectionList,
  webrtcSelectedPairs: selectedPairs,
  webrtcPeerId: () => rtc?.peerId ?? '',
  iceCandidates: () => candidates.map(({ candidate, allowed }) => ({ candidate, allowed })),
  entries: () => lastEntries.map((e) => ({ key: e.key, value: showValue(e.value) })),
  databaseKey: () => (account ? hex(account.node.key) : null),
  locator: () => account?.locator ?? null,
  requestCodes: () => (request?.codes ?? []).map(({ approverName, code }) => ({ approverName, code })),
  devices: () =>
    lastDevices.map((d) => ({ name: d.name, current: d.current, active: d.active, recovery: d.recovery, status: deviceStatus(d, lastDevices) }))
}

// ---- start ----------------------------------------------------------------------------------

async function start(): Promise<void> {
  setup()
  // Earlier versions of this page kept the passphrase here: never again.
  localStorage.removeItem(LEGACY_SESSION_KEY)
  saved = loadSaved()
  if (!saved) {
    setPhase('welcome')
    return
  }
  // This browser holds a device: make sure no other tab has it open, then ask for the passphrase.
  setPhase('busy')
  $('busy-text').textContent = 'Opening this browser’s device…'
  try {
    await lockDatabase(dbNameFor(saved.name))
    showUnlock(saved)
  } catch (err) {
    setPhase('welcome')
    showError(`Could not open this device: ${message(err)}`)
  }
}

void start()
