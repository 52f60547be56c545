// The page's state: the URL switches (fixed for the page's life) and what changes as it runs, in
// one object because several modules set it (an importer cannot assign an imported `let`).
import { type Account, type AccountDevice, type AuthorisationRequest } from '@hypha/auth'
import { type Entry } from '@hypha/node-core'
import { type webRtcTransport } from '@hypha/transport-webrtc'
import { type SavedDevice } from './device-storage.js'

const params = new URLSearchParams(location.search)
export const FAST_KDF = { iterations: 1, memoryKiB: 64 }
export const urlFastKdf = params.get('fastkdf') === '1'
export const loopbackOnly = params.get('loopback') === '1'

export type Phase = 'starting' | 'welcome' | 'unlock' | 'busy' | 'open'

export interface PageState {
  /** The open account (null before it opens, and once it is closing). */
  account: Account | null
  rtc: ReturnType<typeof webRtcTransport> | null
  /** This device's own pending request to be authorised. */
  request: AuthorisationRequest | null
  /** What this browser remembers about its device (nothing secret). */
  saved: SavedDevice | null
  phase: Phase
  /** The entries and the device list as last shown. */
  lastEntries: Entry[]
  lastDevices: AccountDevice[]
}

export const page: PageState = {
  account: null,
  rtc: null,
  request: null,
  saved: null,
  phase: 'starting',
  lastEntries: [],
  lastDevices: []
}
