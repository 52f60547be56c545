// The Hypha web example: a browser node in a plain page (no framework). It signs up or signs in,
// keeps its database in IndexedDB, shows authorisation prompts from other devices (and its own
// code when it asks), and lists the entries live.
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
import {
  generatePassphrase,
  idbStorage,
  normaliseName,
  webRtcTransport,
  webSocketClient,
  type Entry,
  type NodeConnection,
  type Transport,
  type Value
} from '@hypha/node-core'
import { AuthError, signIn, signUp, type Account, type AuthorisationPrompt, type AuthorisationRequest } from '@hypha/auth'

// ---- configuration ------------------------------------------------------------------------

const params = new URLSearchParams(location.search)
const FAST_KDF = { iterations: 1, memoryKiB: 64 }
const urlFastKdf = params.get('fastkdf') === '1'
const loopbackOnly = params.get('loopback') === '1'
const SESSION_KEY = 'hypha-web-session'

/** What a reload needs to re-open the database (see the footer of index.html for the trade-off). */
interface SavedSession {
  version: 1
  /** 'origin': this page signed up (created the database); 'device': it signed in. */
  kind: 'origin' | 'device'
  name: string
  nodeName: string
  passphrase: string
  /** The KDF cost the keys were derived with: a reload must use the same, or the keys differ. */
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

// ---- sessions -----------------------------------------------------------------------------

function loadSession(): SavedSession | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY)
    if (!raw) return null
    const s = JSON.parse(raw) as Partial<SavedSession>
    if (s.version !== 1 || (s.kind !== 'origin' && s.kind !== 'device')) return null
    if (typeof s.name !== 'string' || typeof s.nodeName !== 'string' || typeof s.passphrase !== 'string') return null
    return { version: 1, kind: s.kind, name: s.name, nodeName: s.nodeName, passphrase: s.passphrase, fastKdf: s.fastKdf === true }
  } catch {
    return null
  }
}

function saveSession(session: SavedSession): void {
  localStorage.setItem(SESSION_KEY, JSON.stringify(session))
}

// ---- the node -----------------------------------------------------------------------------

interface CandidateRecord {
  direction: 'filter'
  candidate: string
  allowed: boolean
}

let account: Account | null = null
let rtc: ReturnType<typeof webRtcTransport> | null = null
let request: AuthorisationRequest | null = null
const prompts = new Map<AuthorisationPrompt, HTMLElement>()
const candidates: CandidateRecord[] = []
let phase: 'starting' | 'welcome' | 'busy' | 'open' = 'starting'

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
  rtc.on('warning', (err) => console.warn(`webrtc: ${err.code} ${err.message}`))
  return [ws, rtc]
}

/**
 * Two tabs of one origin share localStorage and IndexedDB: a second tab would open the same
 * database a second time. A Web Lock, held for the page's lifetime, keeps it to one tab. (It is
 * released when the tab goes away; on a reload the old page may still hold it for a moment.)
 */
async function lockDatabase(dbName: string): Promise<void> {
  const locks = navigator.locks
  if (!locks) return // very old browsers: no guard
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

async function open(session: SavedSession, restoring: boolean, generated: string | null = null): Promise<void> {
  setPhase('busy')
  $('busy-text').textContent = session.fastKdf
    ? 'Deriving keys (fast test KDF)…'
    : 'Deriving keys with Argon2id (64 MiB; a second or a few on a phone)…'
  try {
    // One IndexedDB database per person and device name: a reload finds it again.
    const dbName = `hypha:${normaliseName(session.name)}:${session.nodeName}`
    await lockDatabase(dbName)
    await unlockHostCandidates()
    const options = {
      name: session.name,
      nodeName: session.nodeName,
      passphrase: session.passphrase,
      storage: idbStorage(dbName),
      transports: transportsFor(),
      ...(session.fastKdf ? { kdf: FAST_KDF } : {})
    }
    const opened = session.kind === 'origin' ? await signUp(options) : await signIn(options)
    account = opened
    saveSession(session)
    wire(opened, session, generated)
    setPhase('open')
    log(restoring ? `Re-opened the saved session of "${session.nodeName}".` : session.kind === 'origin' ? 'Signed up: this device created the database.' : 'Signed in.')
    if (session.kind === 'device' && !opened.writable) {
      // A device authorised before (same name) becomes a writer as soon as its own storage is
      // applied: give it that chance before asking again.
      await opened.node.update()
      if (!opened.writable) ask(opened)
    }
    refreshStatus()
    void refreshEntries()
  } catch (err) {
    rtc = null
    account = null
    setPhase('welcome')
    const what = restoring ? 're-open the saved session' : session.kind === 'origin' ? 'sign up' : 'sign in'
    showError(`Could not ${what}: ${message(err)}`)
  }
}

function wire(acc: Account, session: SavedSession, generated: string | null): void {
  const node = acc.node
  $('status-device').textContent = session.nodeName
  $('status-name').textContent = session.name
  $('status-enabled').textContent = `websocket (${location.host}/hypha), webrtc (signalling ${location.host}/hypha-signal${loopbackOnly ? ', 127.0.0.1 only' : ''})`
  $('database-key').textContent = hex(node.key)
  $('database-key-note').textContent =
    session.kind === 'origin'
      ? `The always-on node serving this page relays and stores this database only if it was started with this key: node examples/dist/always-on.js --database-key ${hex(node.key)} --web examples/web. If you let this page generate the passphrase, restart the always-on node with this key.`
      : 'The always-on node needs only this key (never the passphrase).'
  show('database-key-box', true)
  if (generated) {
    $('generated-passphrase').textContent = generated
    show('new-passphrase', true)
  }

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
  })
  node.on('update', () => void refreshEntries())
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
}

function ask(acc: Account): void {
  if (acc.writable || request) return
  const current = acc.requestAuthorisation()
  request = current
  $('request-code').textContent = current.code
  $('request-status').textContent = 'Waiting for approval on one of your other devices. The prompt there must show the same code.'
  show('request-again', false)
  show('request', true)
  log(`Asked the other devices to authorise "${acc.nodeName}" (code ${current.code}).`)
  current.done.then(
    () => {
      request = null
      show('request', false)
      log('Approved: this node is writable now.')
      refreshStatus()
    },
    (err: unknown) => {
      request = null
      if (err instanceof AuthError && err.code === 'ERR_CLOSED') return
      $('request-status').textContent =
        err instanceof AuthError && err.code === 'ERR_DENIED' ? `Request ${err.message}. This device stays read-only.` : `Request failed: ${message(err)}`
      show('request-again', true)
      refreshStatus()
    }
  )
}

function addPrompt(prompt: AuthorisationPrompt): void {
  const approve = el('button', { type: 'button', className: 'approve', textContent: 'Authorise' })
  const deny = el('button', { type: 'button', className: 'deny', textContent: 'Deny' })
  const card = el(
    'div',
    { className: 'card prompt' },
    el('p', {}, 'Authorise node ', el('em', { className: 'prompt-node', textContent: prompt.nodeName }), '?'),
    el('p', {}, 'Verification code ', el('strong', { className: 'code prompt-code', textContent: prompt.code })),
    el('p', { className: 'note', textContent: 'Approve only if the device you are adding shows the same code.' }),
    el('div', { className: 'buttons' }, approve, deny)
  )
  card.dataset.nodeName = prompt.nodeName
  card.dataset.code = prompt.code
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
  log(`"${prompt.nodeName}" asks to be authorised (code ${prompt.code}).`)
}

// ---- rendering ----------------------------------------------------------------------------

function setPhase(next: typeof phase): void {
  phase = next
  show('welcome', next === 'welcome')
  show('busy', next === 'busy')
  show('session', next === 'open')
  document.body.dataset.phase = next
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

let listing = false
let listAgain = false
let lastEntries: Entry[] = []

/** Re-lists the entries; bursts of `update` events coalesce into one more listing. */
async function refreshEntries(): Promise<void> {
  if (!account) return
  if (listing) {
    listAgain = true
    return
  }
  listing = true
  try {
    do {
      listAgain = false
      lastEntries = await account.node.list()
      const list = $('entries')
      list.replaceChildren(
        ...lastEntries.map((entry) => {
          const item = el('li', {}, el('code', { textContent: entry.key }), ' = ', el('span', { textContent: showValue(entry.value) }))
          item.dataset.key = entry.key
          return item
        })
      )
      show('entries-empty', lastEntries.length === 0)
    } while (listAgain && account)
  } catch (err) {
    if (!account?.node.closed) showError(`Could not list the entries: ${message(err)}`)
  } finally {
    listing = false
  }
}

// ---- forms --------------------------------------------------------------------------------

function formValue(id: string): string {
  return $<HTMLInputElement>(id).value
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
    const given = formValue('sign-up-passphrase').trim()
    // Generated here rather than by signUp, so that the saved session has it for reloads.
    const passphrase = given === '' ? generatePassphrase() : given
    void open(
      {
        version: 1,
        kind: 'origin',
        name: formValue('sign-up-name').trim(),
        nodeName: formValue('sign-up-device').trim(),
        passphrase,
        fastKdf: urlFastKdf
      },
      false,
      given === '' ? passphrase : null
    )
  })

  $<HTMLFormElement>('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault()
    showError(null)
    void open(
      {
        version: 1,
        kind: 'device',
        name: formValue('sign-in-name').trim(),
        nodeName: formValue('sign-in-device').trim(),
        passphrase: formValue('sign-in-passphrase').trim(),
        fastKdf: urlFastKdf
      },
      false
    )
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

  $('sign-out').addEventListener('click', () => {
    localStorage.removeItem(SESSION_KEY)
    const closing = account
    account = null
    rtc = null
    void (closing ? closing.close() : Promise.resolve()).finally(() => location.reload())
  })
}

// ---- for tests and the curious: window.hypha ------------------------------------------------

export interface HyphaPageApi {
  /** 'starting' | 'welcome' | 'busy' | 'open' */
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
  databaseKey: () => (account ? hex(account.node.key) : null)
}

// ---- start ----------------------------------------------------------------------------------

setup()
const saved = loadSession()
if (saved) void open(saved, true)
else setPhase('welcome')
