import c from 'compact-encoding'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { compactStruct } from '@hypha/node-core'

/**
 * Messages of the authorisation flow. They travel inside the secure channel (content type
 * {@link AUTH_CONTENT_TYPE}), so they are already encrypted, signed by the sending node and
 * deduplicated; this layer adds the binding between a request and its answers.
 */
export const AUTH_CONTENT_TYPE = 'hypha/auth/2'

export const MAX_NODE_NAME_BYTES = 128
export const MAX_REASON_BYTES = 256
const REQUEST_ID_BYTES = 16

export type AuthMessage = AuthRequest | AuthChallenge | AuthReveal | AuthApprove | AuthDeny | AuthCancel

/**
 * The verification code is a short authentication string with a commitment (as in Matrix SAS,
 * ZRTP and Bluetooth numeric comparison):
 *   1. request   (requester → all)    commitment = BLAKE2b-256('hypha/auth/commit/1' ‖ nonceR)
 *   2. challenge (approver → requester) the approver's random nonceA, one per request
 *   3. reveal    (requester → approver) nonceR, checked against the commitment
 *   code = six digits of BLAKE2b-256('hypha/auth/sas/1' ‖ requestDigest ‖ approver key ‖ nonceA ‖ nonceR)
 * The requester is bound to nonceR before it sees nonceA, and the approver picks nonceA before it
 * sees nonceR, so someone who reads the whole channel and makes requests of its own gets one
 * guess (10⁻⁶) per request it makes, each of which the person sees as a prompt.
 */
export const NONCE_BYTES = 32

/** From the new node: "add me as a writer". Re-sent unchanged while it waits. */
export interface AuthRequest {
  type: 'request'
  requestId: Uint8Array
  /** Shown to the person: "Firefox on Ubuntu 64-bit". */
  nodeName: string
  /** The Autobase writer key to add. */
  writerKey: Uint8Array
  /** Requester's clock when the request was made (ms); re-sends keep it. */
  createdAt: number
  /** Commitment to the requester's secret nonce (see {@link commitment}). */
  commitment: Uint8Array
  /**
   * The requester's proof that its channel key (the envelope's signer) belongs to `writerKey` in
   * this database (`node.channelProof()`): the approver records both in the registry.
   */
  channelProof: Uint8Array
}

/** From an approving node (a current writer), to the requester: its nonce for the code. */
export interface AuthChallenge {
  type: 'challenge'
  requestId: Uint8Array
  requestDigest: Uint8Array
  nonce: Uint8Array
}

/** From the requester, to one approver: the nonce it committed to. */
export interface AuthReveal {
  type: 'reveal'
  requestId: Uint8Array
  requestDigest: Uint8Array
  /** The approver's channel key this reveal answers. */
  approver: Uint8Array
  nonce: Uint8Array
}

/** From an authorised node: the writer was added. Bound to the exact request by its digest. */
export interface AuthApprove {
  type: 'approve'
  requestId: Uint8Array
  requestDigest: Uint8Array
  writerKey: Uint8Array
}

/** From an authorised node: the person said no. */
export interface AuthDeny {
  type: 'deny'
  requestId: Uint8Array
  requestDigest: Uint8Array
  reason: string
}

/** From the requester: it gave up; prompts for this request can close. */
export interface AuthCancel {
  type: 'cancel'
  requestId: Uint8Array
  requestDigest: Uint8Array
}

const TYPES = { request: 1, approve: 2, deny: 3, cancel: 4, challenge: 5, reveal: 6 } as const
const fixed16 = c.fixed(REQUEST_ID_BYTES)
const utf8 = new TextEncoder()

export class AuthMessageError extends Error {
  readonly code = 'ERR_BAD_AUTH_MESSAGE'
  constructor(message: string) {
    super(message)
    this.name = 'AuthMessageError'
  }
}

/** Writes a message's fields; decoding is {@link decodeAuthMessage} (strict, with its own checks). */
const messageFields = compactStruct<AuthMessage>(
  (enc, message) => {
    enc(c.uint, TYPES[message.type])
    enc(fixed16, message.requestId)
    switch (message.type) {
      case 'request':
        enc(c.string, message.nodeName)
        enc(c.fixed32, message.writerKey)
        enc(c.uint, message.createdAt)
        enc(c.fixed32, message.commitment)
        enc(c.fixed64, message.channelProof)
        break
      case 'challenge':
        enc(c.fixed32, message.requestDigest)
        enc(c.fixed32, message.nonce)
        break
      case 'reveal':
        enc(c.fixed32, message.requestDigest)
        enc(c.fixed32, message.approver)
        enc(c.fixed32, message.nonce)
        break
      case 'approve':
        enc(c.fixed32, message.requestDigest)
        enc(c.fixed32, message.writerKey)
        break
      case 'deny':
        enc(c.fixed32, message.requestDigest)
        enc(c.string, message.reason)
        break
      case 'cancel':
        enc(c.fixed32, message.requestDigest)
        break
    }
  },
  // A message is always a whole frame: decoding takes the rest of the buffer.
  (state) => {
    const message = decodeAuthMessage(state.buffer!.subarray(state.start, state.end))
    state.start = state.end
    return message
  }
)

export function encodeAuthMessage(message: AuthMessage): Uint8Array {
  checkLimits(message)
  return c.encode(messageFields, message)
}

/** Decodes one message; throws {@link AuthMessageError} for anything else. Never reads past `bytes`. */
export function decodeAuthMessage(bytes: Uint8Array): AuthMessage {
  let message: AuthMessage
  const state = c.state(0, bytes.byteLength, bytes)
  try {
    const type = c.uint.decode(state)
    const requestId = fixed16.decode(state)
    switch (type) {
      case TYPES.request:
        message = {
          type: 'request',
          requestId,
          nodeName: c.string.decode(state),
          writerKey: c.fixed32.decode(state),
          createdAt: c.uint.decode(state),
          commitment: c.fixed32.decode(state),
          channelProof: c.fixed64.decode(state)
        }
        break
      case TYPES.challenge:
        message = { type: 'challenge', requestId, requestDigest: c.fixed32.decode(state), nonce: c.fixed32.decode(state) }
        break
      case TYPES.reveal:
        message = {
          type: 'reveal',
          requestId,
          requestDigest: c.fixed32.decode(state),
          approver: c.fixed32.decode(state),
          nonce: c.fixed32.decode(state)
        }
        break
      case TYPES.approve:
        message = { type: 'approve', requestId, requestDigest: c.fixed32.decode(state), writerKey: c.fixed32.decode(state) }
        break
      case TYPES.deny:
        message = { type: 'deny', requestId, requestDigest: c.fixed32.decode(state), reason: c.string.decode(state) }
        break
      case TYPES.cancel:
        message = { type: 'cancel', requestId, requestDigest: c.fixed32.decode(state) }
        break
      default:
        throw new AuthMessageError(`unknown auth message type ${type}`)
    }
  } catch (err) {
    if (err instanceof AuthMessageError) throw err
    throw new AuthMessageError('auth message is truncated or malformed')
  }
  if (state.start !== state.end) throw new AuthMessageError('trailing bytes after the auth message')
  checkLimits(message)
  return message
}

function checkLimits(message: AuthMessage): void {
  if (message.type === 'request') {
    const name = utf8.encode(message.nodeName)
    if (name.byteLength === 0 || name.byteLength > MAX_NODE_NAME_BYTES) {
      throw new AuthMessageError(`node name must be 1 to ${MAX_NODE_NAME_BYTES} bytes`)
    }
    if (!Number.isSafeInteger(message.createdAt)) throw new AuthMessageError('createdAt must be a safe integer')
  }
  if (message.type === 'deny' && utf8.encode(message.reason).byteLength > MAX_REASON_BYTES) {
    throw new AuthMessageError(`deny reason must be at most ${MAX_REASON_BYTES} bytes`)
  }
}

/**
 * What answers are bound to: a hash of the request's bytes together with the key of the node that
 * signed it, so an approval cannot be replayed for another request, another writer key or another
 * requester (even one that reuses the request id).
 */
export function requestDigest(request: AuthRequest, requesterKey: Uint8Array): Uint8Array {
  const out = b4a.allocUnsafe(32)
  const input = b4a.concat([b4a.from('hypha/auth/request/1'), requesterKey, encodeAuthMessage(request)])
  sodium.crypto_generichash(out, input)
  return out
}

/** The requester's commitment to its nonce. */
export function commitment(nonce: Uint8Array): Uint8Array {
  const out = b4a.allocUnsafe(32)
  sodium.crypto_generichash(out, b4a.concat([b4a.from('hypha/auth/commit/1\0'), nonce]))
  return out
}

/**
 * The six digits the requester and one approver both show ("482 193"): from the request digest,
 * the approver's channel key and both nonces. Uniform to anyone who did not pick both nonces.
 */
export function verificationCode(
  requestDigest: Uint8Array,
  approverKey: Uint8Array,
  approverNonce: Uint8Array,
  requesterNonce: Uint8Array
): string {
  const digest = b4a.allocUnsafe(32)
  sodium.crypto_generichash(
    digest,
    b4a.concat([b4a.from('hypha/auth/sas/1\0'), requestDigest, approverKey, approverNonce, requesterNonce])
  )
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength)
  // 2^64 mod 10^6 is tiny next to 2^64: the bias is below 10^-13.
  const n = Number(view.getBigUint64(0) % 1_000_000n)
  const digits = n.toString().padStart(6, '0')
  return `${digits.slice(0, 3)} ${digits.slice(3)}`
}
