// The signalling protocol shared by the WebRTC transport (the client) and the signalling server.
// Browser-safe: no Node built-ins.
// ---------------------------------------------------------------------------------------------
// Signalling protocol (shared with signalling.ts; JSON text frames)
//   client → server  { type: 'join', room, peer }            room = hex discovery key, peer = random id
//                    { type: 'signal', to, signal }            offer/answer (no candidate lines) or a trickled candidate
//   server → client  { type: 'peers', peers: string[] }       ids already in the room, once, after join
//                    { type: 'signal', from, to, signal }      `from` is set by the server, never trusted from the sender
//                    { type: 'left', peer }                    a member's signalling socket closed
//                    { type: 'error', code, peer? }            e.g. ERR_UNKNOWN_PEER: `to` is not in your room
// ---------------------------------------------------------------------------------------------

/** Path the always-on node serves signalling on by default. */
export const DEFAULT_SIGNALLING_PATH = '/hypha-signal'
/** Largest signalling frame either side accepts (an SDP is a few KiB). */
export const MAX_SIGNAL_MESSAGE_BYTES = 64 * 1024
/** Close codes the signalling server uses (4000–4999 are application codes). */
export const SIGNAL_CLOSE = {
  BAD_MESSAGE: 4400,
  JOIN_TIMEOUT: 4408,
  DUPLICATE_PEER: 4409,
  ROOM_FULL: 4429,
  MESSAGE_TOO_LARGE: 1009
} as const

const ROOM_RE = /^[0-9a-f]{64}$/
const PEER_ID_RE = /^[0-9A-Za-z_-]{8,64}$/

export function isValidRoom(room: unknown): room is string {
  return typeof room === 'string' && ROOM_RE.test(room)
}

export function isValidPeerId(id: unknown): id is string {
  return typeof id === 'string' && PEER_ID_RE.test(id)
}

/** A signal as simple-peer emits it; only offers, answers and trickled candidates are relayed. */
export type Signal =
  | { type: 'offer' | 'answer'; sdp: string }
  | { type: 'candidate'; candidate: { candidate: string; sdpMLineIndex?: number | null; sdpMid?: string | null } }

/** Checks the shape of a signal received from the network before it reaches simple-peer. */
export function isValidSignal(value: unknown): value is Signal {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const s = value as Record<string, unknown>
  if (s.type === 'offer' || s.type === 'answer') return typeof s.sdp === 'string'
  if (s.type === 'candidate') {
    const c = s.candidate as Record<string, unknown> | null
    return typeof c === 'object' && c !== null && typeof c.candidate === 'string'
  }
  return false
}

/** The connection address of an ICE candidate line (`candidate:… <address> <port> typ …`), or null. */
export function candidateAddress(candidate: string): string | null {
  const parts = candidate.trim().replace(/^a=/, '').split(/\s+/)
  if (parts.length < 8 || !parts[0]!.startsWith('candidate:')) return null
  return parts[4] ?? null
}

/** True for host candidates on a loopback address (127.0.0.0/8 or ::1). */
export function isLoopbackCandidate(candidate: string): boolean {
  const address = candidateAddress(candidate)
  return address !== null && (address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address))
}

/** Every ICE candidate line a signal carries: a trickled candidate or `a=candidate` lines in an SDP. */
export function signalCandidates(signal: Signal): string[] {
  if (signal.type === 'candidate') return signal.candidate.candidate === '' ? [] : [signal.candidate.candidate]
  return signal.sdp
    .split(/\r?\n/)
    .filter((line) => line.startsWith('a=candidate:'))
    .map((line) => line.slice(2))
}

/**
 * Applies a candidate filter to a signal: drops a trickled candidate that fails it, strips failing
 * `a=candidate` lines from an SDP. Returns null when nothing is left to send.
 */
export function filterSignal(signal: Signal, allow: (candidate: string) => boolean): Signal | null {
  if (signal.type === 'candidate') {
    const line = signal.candidate.candidate
    return line === '' || allow(line) ? signal : null // '' is end-of-candidates: no address in it
  }
  const sdp = signal.sdp
    .split(/\r\n|\n/)
    .filter((line) => !line.startsWith('a=candidate:') || allow(line.slice(2)))
    .join('\r\n')
  return { type: signal.type, sdp }
}
