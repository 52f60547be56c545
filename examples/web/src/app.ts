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
// Bundled by examples/src/build-web.ts (`node examples/dist/build-web.js`) into dist/app.js, from
// this entry: esbuild follows the imports, so the files below need no listing there.
//
// By job: view.ts (the DOM), session.ts (signing up or in, the open account), authorisation.ts
// (prompts and this device's request), transports.ts (WebSocket, WebRTC, ICE), device-storage.ts
// (what this browser keeps), page-state.ts (shared state), page-api.ts (window.hypha). This file
// wires the forms and starts the page.
import { dbNameFor, deleteDevice, deviceNameFromUserAgent, forgetSaved, loadSaved, lockDatabase, removeLegacySession } from './device-storage.js'
import { ask } from './authorisation.js'
import { exposePageApi } from './page-api.js'
import { loopbackOnly, page, urlFastKdf } from './page-state.js'
import { closeAndReload, open } from './session.js'
import { $, formValue, log, message, refreshEntries, setPhase, show, showError, showUnlock, take } from './view.js'

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
    const saved = page.saved
    if (!saved) return
    void open({ kind: 'sign-in', name: saved.name, nodeName: saved.nodeName, passphrase: take('unlock-passphrase'), fastKdf: saved.fastKdf, reopening: true })
  })

  $('unlock-other').addEventListener('click', () => {
    // Only the remembered names go: the device stays in IndexedDB ("Sign in" with the same name opens it).
    forgetSaved()
    page.saved = null
    showError(null)
    setPhase('welcome')
  })

  $<HTMLFormElement>('put-form').addEventListener('submit', (event) => {
    event.preventDefault()
    showError(null)
    const key = $<HTMLInputElement>('put-key')
    const value = $<HTMLInputElement>('put-value')
    if (!page.account) return
    page.account.node.put(key.value, value.value).then(
      () => {
        log(`Put "${key.value}".`)
        key.value = value.value = ''
        void refreshEntries()
      },
      (err: unknown) => showError(`Could not put: ${message(err)}`)
    )
  })

  $('request-again').addEventListener('click', () => {
    if (page.account) ask(page.account)
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
    const device = page.saved
    if (!device) return
    if (!confirm(`Delete "${device.nodeName}" from this browser: its keys and its copy of your database? Revoke it from another device's list too.`)) return
    closeAndReload(async () => {
      forgetSaved()
      await deleteDevice(device.name)
    })
  })
}

async function start(): Promise<void> {
  setup()
  removeLegacySession()
  const saved = (page.saved = loadSaved())
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

exposePageApi()
void start()
