// The page's DOM: small helpers, the activity log and the error line, which section shows, and
// the status, entries and device list of the open account, re-rendered as the node changes.
import { type Account, type AccountDevice } from '@hypha/auth'
import { coalesced, type Value } from '@hypha/node-core'
import { deviceStatus, sortDevices } from '../../src/format.js'
import { type SavedDevice } from './device-storage.js'
import { page, type Phase } from './page-state.js'
import { connectionList } from './transports.js'

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id)
  if (!element) throw new Error(`#${id} is missing from index.html`)
  return element as T
}

export function show(id: string, visible: boolean): void {
  $(id).hidden = !visible
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const element = Object.assign(document.createElement(tag), props)
  element.append(...children)
  return element
}

export const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
export const message = (err: unknown) => (err instanceof Error ? err.message : String(err))
export const showValue = (value: Value) => (typeof value === 'string' ? value : `<${value.byteLength} bytes>`)

export function log(text: string): void {
  const list = $('log')
  list.prepend(el('li', { textContent: `${new Date().toLocaleTimeString()} ${text}` }))
  while (list.children.length > 100) list.lastElementChild?.remove()
}

export function showError(text: string | null): void {
  $('error').textContent = text ?? ''
  show('error', text !== null)
}

/** An input's value, and the input emptied (a passphrase does not linger in the page). */
export function take(id: string): string {
  const input = $<HTMLInputElement>(id)
  const value = input.value.trim()
  input.value = ''
  return value
}

export function formValue(id: string): string {
  return $<HTMLInputElement>(id).value.trim()
}

export function setPhase(next: Phase): void {
  page.phase = next
  show('welcome', next === 'welcome')
  show('unlock', next === 'unlock')
  show('busy', next === 'busy')
  show('session', next === 'open')
  document.body.dataset.phase = next
}

export function showUnlock(device: SavedDevice): void {
  $('unlock-device').textContent = device.nodeName
  $('unlock-name').textContent = device.name
  setPhase('unlock')
  $<HTMLInputElement>('unlock-passphrase').focus()
}

/** After a sign-up: the generated passphrase (if any) and the recovery code, once. */
export function showNewAccount(acc: Account): void {
  if (acc.passphrase) $('generated-passphrase').textContent = acc.passphrase
  show('new-passphrase', acc.passphrase !== null)
  $('recovery-code').textContent = acc.recoveryCode ?? ''
  show('new-account', true)
}

export function refreshStatus(): void {
  if (!page.account) return
  const node = page.account.node
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
function rerender(render: (acc: Account) => Promise<void>, what: string): () => Promise<void> {
  return coalesced(() => render(page.account!), {
    // Checked just before each run: the account is there when `render` gets it.
    stopped: () => !page.account,
    onError: (err) => {
      if (!page.account?.node.closed) showError(`Could not ${what}: ${message(err)}`)
    }
  })
}

/** Re-lists the entries. */
export const refreshEntries = rerender(async (acc) => {
  page.lastEntries = await acc.node.list()
  $('entries').replaceChildren(
    ...page.lastEntries.map((entry) => {
      const item = el('li', {}, el('code', { textContent: entry.key }), ' = ', el('span', { textContent: showValue(entry.value) }))
      item.dataset.key = entry.key
      return item
    })
  )
  show('entries-empty', page.lastEntries.length === 0)
}, 'list the entries')

/** Re-renders the device list (the registry). */
export const refreshDevices = rerender(async (acc) => {
  page.lastDevices = sortDevices(await acc.devices())
  $('devices').replaceChildren(...page.lastDevices.map((device) => deviceItem(acc, device)))
  // A new device enters the registry when a writer approves it.
  show('devices-not-yet', !page.lastDevices.some((d) => d.current))
}, 'read the device list')

function deviceItem(acc: Account, device: AccountDevice): HTMLElement {
  const name = device.recovery ? 'Recovery key' : device.name || '(no name)'
  const item = el(
    'li',
    {},
    el('strong', { className: 'device-name', textContent: name }),
    device.current ? ' (this device) ' : ' ',
    el('span', { className: 'device-status', textContent: deviceStatus(device, page.lastDevices) })
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
