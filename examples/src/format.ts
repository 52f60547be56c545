// Words for what @hypha/auth reports, shared by the examples (demo.ts, native.ts and the web page,
// which esbuild bundles with it): the device registry, and why a prompt deserves a second look.
// No Node built-ins here: the web page imports it.
import type { AccountDevice, AuthorisationPrompt, PromptWarning } from '@hypha/auth'

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** "2026-11-29 17:02 UTC" (ms since 1970), or '' when not recorded. */
export function formatTime(ms: number | null): string {
  return ms === null ? '' : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/** The registry name of the writer with this key ("recovery key" for one), or its key prefix. */
export function writerName(devices: readonly AccountDevice[], writerKey: Uint8Array | null): string {
  if (writerKey === null) return '?'
  const key = hex(writerKey)
  const device = devices.find((d) => hex(d.writerKey) === key)
  if (!device) return `${key.slice(0, 8)}…`
  return device.recovery ? 'the recovery key' : JSON.stringify(device.name || `${key.slice(0, 8)}…`)
}

/** What a registry entry is now: "writer, origin", "writer, added by "Laptop" …", "revoked by …"; a recovery key: "not used yet" or "used". */
export function deviceStatus(device: AccountDevice, devices: readonly AccountDevice[]): string {
  if (device.recovery) return device.active ? 'not used yet' : 'used'
  if (!device.active) {
    const when = formatTime(device.revokedAt)
    return `revoked by ${writerName(devices, device.revokedBy)}${when ? ` ${when}` : ''}`
  }
  if (device.origin) return 'writer, origin'
  const when = formatTime(device.addedAt)
  return `writer, added by ${writerName(devices, device.addedBy)}${when ? ` ${when}` : ''}`
}

/** The registry in reading order: the origin, the other devices as they were added, recovery keys last. */
export function sortDevices<T extends AccountDevice>(devices: readonly T[]): T[] {
  const rank = (d: AccountDevice) => (d.recovery ? 2 : d.origin ? 0 : 1)
  return [...devices].sort((a, b) => rank(a) - rank(b) || (a.addedAt ?? 0) - (b.addedAt ?? 0))
}

/**
 * One line per registry entry, this device marked with `*`:
 *   * "Laptop" writer, origin; key 3f2a…(64 hex)
 */
export function deviceLines(devices: readonly AccountDevice[]): string[] {
  const lines = sortDevices(devices).map((d) => {
    const name = d.recovery ? 'recovery key' : JSON.stringify(d.name || '(no name)')
    return `${d.current ? '*' : ' '} ${name} ${deviceStatus(d, devices)}; key ${hex(d.writerKey)}`
  })
  const people = devices.filter((d) => !d.recovery)
  const writers = people.filter((d) => d.active).length
  const revoked = people.length - writers
  lines.push(
    `(${people.length} ${people.length === 1 ? 'device' : 'devices'}: ${writers} ${writers === 1 ? 'writer' : 'writers'}, ${revoked} revoked; * is this device)`
  )
  return lines
}

/** A sentence per warning of a prompt, for the person deciding. */
export function warningTexts(prompt: AuthorisationPrompt): { warning: PromptWarning; text: string }[] {
  return prompt.warnings.map((warning) => {
    switch (warning) {
      case 'revoked': {
        const device = prompt.revokedDevice
        const when = device ? formatTime(device.revokedAt) : ''
        return {
          warning,
          text: `this device was revoked${when ? ` (${when})` : ''}: it asks to be a writer again. Approve only if you mean to let it back in.`
        }
      }
      case 'name-in-use': {
        const same = prompt.sameNameDevices
        const active = same.filter((d) => d.active).length
        const counts = [active ? `${active} active` : '', same.length - active ? `${same.length - active} revoked` : '']
        return {
          warning,
          text: `a device named ${JSON.stringify(prompt.nodeName)} is already in your device list (${counts.filter(Boolean).join(', ')}): make sure this request is the device in front of you.`
        }
      }
      case 'duplicate-pending-name':
        return {
          warning,
          text: `another device is asking under the same name right now: approve only the one whose screen shows this code.`
        }
    }
  })
}
