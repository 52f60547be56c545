// window.hypha: the page's state for tests and the curious. Its own file because it is the
// contract with web.test.ts, which reads it through playwright and imports its type from here.
import { deviceStatus } from '../../src/format.js'
import { page } from './page-state.js'
import { connectionList, iceCandidates, selectedPairs, type SelectedPair } from './transports.js'
import { hex, showValue } from './view.js'

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

export function exposePageApi(): void {
  window.hypha = {
    phase: () => page.phase,
    writable: () => page.account?.writable ?? false,
    connections: connectionList,
    webrtcSelectedPairs: selectedPairs,
    webrtcPeerId: () => page.rtc?.peerId ?? '',
    iceCandidates,
    entries: () => page.lastEntries.map((e) => ({ key: e.key, value: showValue(e.value) })),
    databaseKey: () => (page.account ? hex(page.account.node.key) : null),
    locator: () => page.account?.locator ?? null,
    requestCodes: () => (page.request?.codes ?? []).map(({ approverName, code }) => ({ approverName, code })),
    devices: () =>
      page.lastDevices.map((d) => ({ name: d.name, current: d.current, active: d.active, recovery: d.recovery, status: deviceStatus(d, page.lastDevices) }))
  }
}
