// The account on this page: signing up or in (which opens this browser's device), what the page
// does as the node changes, and closing it. The DOM it updates is in view.ts, the authorisation
// cards in authorisation.ts.
import { idbStorage } from '@hypha/storage-indexeddb'
import { AuthError, signIn, signUp, type Account } from '@hypha/auth'
import { ask, wireAuthorisation } from './authorisation.js'
import { dbNameFor, lockDatabase, save, type SavedDevice } from './device-storage.js'
import { FAST_KDF, loopbackOnly, page } from './page-state.js'
import { transportsFor, unlockHostCandidates } from './transports.js'
import { $, log, message, refreshDevices, refreshEntries, refreshStatus, setPhase, showError, showNewAccount } from './view.js'

export type Opening =
  | { kind: 'sign-up'; name: string; nodeName: string; passphrase: string | null; fastKdf: boolean }
  | { kind: 'sign-in'; name: string; nodeName: string; passphrase: string; fastKdf: boolean; reopening: boolean }

/** Signs up or signs in (which reopens this browser's device if it holds one); never stores the passphrase. */
export async function open(opening: Opening): Promise<void> {
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
    page.account = opened
    page.saved = { version: 2, name: opening.name, nodeName: opening.nodeName, fastKdf: opening.fastKdf }
    save(page.saved)
    wire(opened, page.saved)
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
    page.rtc = null
    page.account = null
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

  wireAuthorisation(acc)
  acc.on('account-conflict', () => showError('A peer proved another database for this account (two sign-ups with one passphrase?).'))
}

/** Closes the account (if open) and reloads the page. */
export function closeAndReload(before: () => Promise<void> | void = () => {}): void {
  const closing = page.account
  page.account = null
  page.rtc = null
  void (closing ? closing.close() : Promise.resolve())
    .catch(() => {})
    .then(before)
    .catch(() => {})
    .finally(() => location.reload())
}
