// The signalling protocol shared by the WebRTC transport (the client) and the signalling server.
// Browser-safe: no Node built-ins.
import { memberProof, verifyMemberProof } from '@hypha/node-core/transport'
export { MEMBER_PROOF_BYTES } from '@hypha/node-core/transport'
// ---------------------------------------------------------------------------------------------
// Signalling protocol (JSON text frames)
//   server → client  { type: 'challenge', challenge }         first frame: 32 random bytes, hex, new per socket
//   client → server  { type: 'join', room, peer, proof? }      room = hex discovery key, peer = random id,
//                                                             proof = hex {@link joinProof} (see below)
//                    { type: 'signal', to, signal }            offer/answer (no candidate lines) or a trickled candidate
//   server → client  { type: 'peers', peers: string[] }       ids already in the room, once, after a join it accepted
//                    { type: 'signal', from, to, signal }      `from` is set by the server, never trusted from the sender
//                    { type: 'left', peer }                    a member's signalling socket closed
//                    { type: 'error', code, peer? }            e.g. ERR_UNKNOWN_PEER: `to` is not in your room
//
// Membership: a server that holds the member key of a room accepts a join to it only with
//   proof = BLAKE2b-256(key = BLAKE2b-256(key = member key, 'hypha/signalling/1'),
//                       challenge ‖ room ‖ UTF-8 peer id)
// (memberProof of @hypha/node-core/transport). Anything else closes the socket with 4403
// (ERR_NOT_A_MEMBER) before the joiner learns any id. A server given no member key at all is open
// (tests and development): every well-formed join is accepted.
// ---------------------------------------------------------------------------------------------

/** Path the always-on node serves signalling on by default. */
export const DEFAULT_SIGNALLING_PATH = '/hypha-signal'
/** Largest signalling frame either side accepts (an SDP is a few KiB). */
export const MAX_SIGNAL_MESSAGE_BYTES = 64 * 1024
/** Close codes the signalling server uses (4000–4999 are application codes). */
export const SIGNAL_CLOSE = {
  BAD_MESSAGE: 4400,
  NOT_A_MEMBER: 4403,
  JOIN_TIMEOUT: 4408,
  DUPLICATE_PEER: 4409,
  ROOM_FULL: 4429,
  /** A text frame that is not valid UTF-8 (the WebSocket code for bad payload data). */
  NOT_UTF8: 1007,
  MESSAGE_TOO_LARGE: 1009
} as const

/** Purpose of the member key's signalling proofs (see {@link joinProof}). */
export const SIGNALLING_PROOF_PURPOSE = 'hypha/signalling/1'
/** Bytes of the server's challenge. */
export const CHALLENGE_BYTES = 32

const ROOM_RE = /^[0-9a-f]{64}$/
const HEX_RE = /^(?:[0-9a-f]{2})*$/
const encoder = new TextEncoder()

/** `challenge ‖ room ‖ peer id`: what a join proof covers. */
function joinMessage(challenge: Uint8Array, room: string, peer: string): Uint8Array {
  const roomBytes = fromHex(room)
  const peerBytes = encoder.encode(peer)
  const message = new Uint8Array(challenge.byteLength + roomBytes.byteLength + peerBytes.byteLength)
  message.set(challenge, 0)
  message.set(roomBytes, challenge.byteLength)
  message.set(peerBytes, challenge.byteLength + roomBytes.byteLength)
  return message
}

/** The proof a member sends in its join: keyed BLAKE2b-256 under its member key over challenge ‖ room ‖ peer id. */
export function joinProof(memberKey: Uint8Array, challenge: Uint8Array, room: string, peer: string): Uint8Array {
  return memberProof(memberKey, SIGNALLING_PROOF_PURPOSE, joinMessage(challenge, room, peer))
}

/** True if `proof` is the join proof of this room's member key (constant-time comparison). */
export function verifyJoinProof(memberKey: Uint8Array, challenge: Uint8Array, room: string, peer: string, proof: Uint8Array): boolean {
  return verifyMemberProof(memberKey, SIGNALLING_PROOF_PURPOSE, joinMessage(challenge, room, peer), proof)
}

export function toHex(bytes: Uint8Array): string {
  let hex = ''
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0')
  return hex
}

/** Lowercase hex to bytes; null if it is not. */
export function parseHex(value: unknown, bytes: number): Uint8Array | null {
  if (typeof value !== 'string' || value.length !== bytes * 2 || !HEX_RE.test(value)) return null
  return fromHex(value)
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}
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
