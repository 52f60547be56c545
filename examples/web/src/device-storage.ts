// This browser's device: what the page remembers about it in localStorage (nothing secret), where
// its keys and database live (IndexedDB), the lock that keeps it to one tab, and its default name.
import { normaliseName } from '@hypha/auth'

const SAVED_KEY = 'hypha-web-device'
/** Where earlier versions of this page kept the passphrase: removed on sight. */
const LEGACY_SESSION_KEY = 'hypha-web-session'

/**
 * What a reload needs to offer "Open <device> for <name>": nothing secret. The device itself (its
 * keys and its copy of the database) is in IndexedDB; the passphrase is asked again.
 */
export interface SavedDevice {
  version: 2
  name: string
  nodeName: string
  /** The KDF cost the account uses: a reload must use the same, or the keys differ. */
  fastKdf: boolean
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

export function loadSaved(): SavedDevice | null {
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

export function save(device: SavedDevice): void {
  localStorage.setItem(SAVED_KEY, JSON.stringify(device))
}

/** One IndexedDB database per person in this browser (per origin): that is this device. */
export const dbNameFor = (name: string) => `hypha:${normaliseName(name)}`

/** Forgets the remembered names (the device itself stays in IndexedDB). */
export function forgetSaved(): void {
  localStorage.removeItem(SAVED_KEY)
}

/** Earlier versions of this page kept the passphrase: never again. */
export function removeLegacySession(): void {
  localStorage.removeItem(LEGACY_SESSION_KEY)
}

/** Deletes this device's keys and its copy of the database from this browser. */
export function deleteDevice(name: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = indexedDB.deleteDatabase(dbNameFor(name))
    req.onsuccess = req.onerror = req.onblocked = () => resolve()
  })
}

const heldLocks = new Set<string>()

/**
 * Two tabs of one origin share localStorage and IndexedDB: a second tab would open the same
 * device a second time. A Web Lock, held for the page's lifetime, keeps it to one tab. (It is
 * released when the tab goes away; on a reload the old page may still hold it for a moment.)
 */
export async function lockDatabase(dbName: string): Promise<void> {
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
