// The page's transports, all to the server it came from: the WebSocket to the always-on node and
// WebRTC (signalled there), with the ?loopback=1 candidate filter; and what the connections are,
// down to the ICE pair each WebRTC one uses, for the status line and window.hypha.
import { type NodeConnection, type Transport } from '@hypha/node-core'
import { webRtcTransport } from '@hypha/transport-webrtc'
import { webSocketClient } from '@hypha/transport-websocket'
import { loopbackOnly, page } from './page-state.js'

interface CandidateRecord {
  direction: 'filter'
  candidate: string
  allowed: boolean
}

const candidates: CandidateRecord[] = []

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

export function transportsFor(): Transport[] {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  const ws = webSocketClient({ url: `${scheme}://${location.host}/hypha` })
  // No memberKey option: the transport proves the account's member key, which HyphaNode passes
  // in its TransportContext, to the always-on node's signalling server (members only).
  const rtc = webRtcTransport({
    signallingUrl: `${scheme}://${location.host}/hypha-signal`,
    ...(loopbackOnly ? { candidateFilter: loopbackFilter } : {})
  })
  rtc.on('connection-error', (err) => console.warn(`webrtc: ${err.code} ${err.message}`))
  page.rtc = rtc
  return [ws, rtc]
}

/**
 * Chromium gathers host ICE candidates (rather than mDNS names, or none on a loopback-only
 * machine) once the page has media permission. Only for ?loopback=1; the track is stopped at once.
 */
export async function unlockHostCandidates(): Promise<void> {
  if (!loopbackOnly) return
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true })
  for (const track of stream.getTracks()) track.stop()
}

export function connectionList(): { transport: string; remote: string | null; peerId: string | null }[] {
  return (page.account?.node.connections ?? []).map((conn: NodeConnection) => {
    const info = conn.info as NodeConnection['info'] & { peerId?: string }
    return { transport: info.transport, remote: info.remote ?? null, peerId: info.peerId ?? null }
  })
}

/** `address:port` of both ends; a peer-reflexive remote's address is hidden by the browser (":port"). */
export interface SelectedPair {
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
export async function selectedPairs(): Promise<SelectedPair[]> {
  const out: SelectedPair[] = []
  for (const conn of page.account?.node.connections ?? []) {
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

/** Every ICE candidate the ?loopback=1 filter saw (sent and received), and whether it passed. */
export function iceCandidates(): { candidate: string; allowed: boolean }[] {
  return candidates.map(({ candidate, allowed }) => ({ candidate, allowed }))
}
