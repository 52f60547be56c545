// One file of about 400 lines on purpose: it is the whole wire format of the auth protocol (the
// message types, their one encoding, the limits checked on decoding, and the digest, commitment and
// code derived from them), reviewed and versioned together under AUTH_CONTENT_TYPE. Split, a change
// to one message could miss its limit check or what its digest covers.
import c from 'compact-encoding'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { decodeCanonical, isWellFormed, strictUtf8, MAX_DEVICE_NAME_BYTES, type CompactEncoding } from '@hypha/node-core'

/**
 * Messages of the authorisation flow. They travel inside the secure channel (content type
 * {@link AUTH_CONTENT_TYPE}), so they are already encrypted, signed by the sending node and
 * deduplicated; this layer adds the binding between a request and its answers.
 */
export const AUTH_CONTENT_TYPE = 'hypha/auth/2'

/** A node name becomes the device's name in the registry: node-core's limit. */
export const MAX_NODE_NAME_BYTES = MAX_DEVICE_NAME_BYTES
/** The longest deny reason, in UTF-8 bytes: a longer one could not be sent. */
export const MAX_REASON_BYTES = 256
const REQUEST_ID_BYTES = 16

/** Every message of the authorisation protocol (inside secure-channel envelopes of `AUTH_CONTENT_TYPE`). */
export type AuthMessage = AuthRequest | AuthChallenge | AuthReveal | AuthApprove | AuthDeny | AuthCancel | AuthRefuse

/**
 * The verification code is a short authentication string with a commitment (as in Matrix SAS,
 * ZRTP and Bluetooth numeric comparison):
 *   1. request   (requester → all)    commitment = BLAKE2b-256('hypha/auth/commit/1' ‖ nonceR)
 *   2. challenge (approver → requester) the approver's random nonceA, one per request
 *   3. reveal    (requester → approver) nonceR, checked against the commitment
 * (and `refuse`, approver → requester: the request was not shown there, and why)
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

/**
 * Why an approving device did not show a request (see README "request-refused"). On the wire a
 * number, in this order from 1: an unknown number is a malformed message.
 */
export const REFUSAL_REASONS = [
  /** Its device (channel key) already has `maxPendingPerDevice` prompts open there. */
  'too-many-pending',
  /** `maxOpenPrompts` prompts are open there, from all devices: many devices are asking. */
  'too-many-prompts',
  /** Its reveal did not open its commitment. */
  'bad-reveal',
  /** Its channel-key proof did not hold. */
  'bad-channel-proof',
  /** That device settled this very request already (approved, denied, cancelled, expired): never shown twice. */
  'settled',
  /** Its `createdAt` is more than a day old, or more than 10 minutes ahead, by that device's clock. */
  'stale',
  /**
   * Its envelope's timestamp is further from that device's clock than the secure channel accepts
   * (10 minutes by default): one of the two clocks is off. The requester fails with `ERR_CLOCK_SKEW`.
   */
  'clock-skew'
] as const
/** Why a request was not shown: one of `REFUSAL_REASONS`. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number]

/**
 * From an approving node (a current writer), to the requester: the request was not shown there,
 * and why. The requester keeps waiting (another device may show it, or a re-send later may).
 */
export interface AuthRefuse {
  type: 'refuse'
  requestId: Uint8Array
  requestDigest: Uint8Array
  reason: RefusalReason
}

const fixed16 = c.fixed(REQUEST_ID_BYTES)
const utf8 = new TextEncoder()

/** An auth message that could not be decoded (reported as `bad-message`). */
export class AuthMessageError extends Error {
  readonly code = 'ERR_BAD_AUTH_MESSAGE'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AuthMessageError'
  }
}

/** A text field that is not UTF-8 (or over its limit) makes the message malformed. */
const textFail = (field: string) => (message: string, cause?: unknown) => new AuthMessageError(`${field}: ${message}`, { cause })

/** Text fields decode strictly (strictUtf8: no U+FFFD for bytes that are not UTF-8, a leading U+FEFF kept). */
const nodeNameText = strictUtf8(textFail('node name'), MAX_NODE_NAME_BYTES)
const reasonText = strictUtf8(textFail('deny reason'), MAX_REASON_BYTES)

type MessageOf<K extends AuthMessage['type']> = Extract<AuthMessage, { type: K }>

// Each type's fields, from the request id on (every type starts with it).

const requestFields: CompactEncoding<AuthRequest> = {
  preencode(state, m) {
    fixed16.preencode(state, m.requestId)
    nodeNameText.preencode(state, m.nodeName)
    c.fixed32.preencode(state, m.writerKey)
    c.uint.preencode(state, m.createdAt)
    c.fixed32.preencode(state, m.commitment)
    c.fixed64.preencode(state, m.channelProof)
  },
  encode(state, m) {
    fixed16.encode(state, m.requestId)
    nodeNameText.encode(state, m.nodeName)
    c.fixed32.encode(state, m.writerKey)
    c.uint.encode(state, m.createdAt)
    c.fixed32.encode(state, m.commitment)
    c.fixed64.encode(state, m.channelProof)
  },
  decode(state) {
    return {
      type: 'request',
      requestId: fixed16.decode(state),
      nodeName: nodeNameText.decode(state),
      writerKey: c.fixed32.decode(state),
      createdAt: c.uint.decode(state),
      commitment: c.fixed32.decode(state),
      channelProof: c.fixed64.decode(state)
    }
  }
}

const challengeFields: CompactEncoding<AuthChallenge> = {
  preencode(state, m) {
    fixed16.preencode(state, m.requestId)
    c.fixed32.preencode(state, m.requestDigest)
    c.fixed32.preencode(state, m.nonce)
  },
  encode(state, m) {
    fixed16.encode(state, m.requestId)
    c.fixed32.encode(state, m.requestDigest)
    c.fixed32.encode(state, m.nonce)
  },
  decode(state) {
    return { type: 'challenge', requestId: fixed16.decode(state), requestDigest: c.fixed32.decode(state), nonce: c.fixed32.decode(state) }
  }
}

const revealFields: CompactEncoding<AuthReveal> = {
  preencode(state, m) {
    fixed16.preencode(state, m.requestId)
    c.fixed32.preencode(state, m.requestDigest)
    c.fixed32.preencode(state, m.approver)
    c.fixed32.preencode(state, m.nonce)
  },
  encode(state, m) {
    fixed16.encode(state, m.requestId)
    c.fixed32.encode(state, m.requestDigest)
    c.fixed32.encode(state, m.approver)
    c.fixed32.encode(state, m.nonce)
  },
  decode(state) {
    return {
      type: 'reveal',
      requestId: fixed16.decode(state),
      requestDigest: c.fixed32.decode(state),
      approver: c.fixed32.decode(state),
      nonce: c.fixed32.decode(state)
    }
  }
}

const approveFields: CompactEncoding<AuthApprove> = {
  preencode(state, m) {
    fixed16.preencode(state, m.requestId)
    c.fixed32.preencode(state, m.requestDigest)
    c.fixed32.preencode(state, m.writerKey)
  },
  encode(state, m) {
    fixed16.encode(state, m.requestId)
    c.fixed32.encode(state, m.requestDigest)
    c.fixed32.encode(state, m.writerKey)
  },
  decode(state) {
    return { type: 'approve', requestId: fixed16.decode(state), requestDigest: c.fixed32.decode(state), writerKey: c.fixed32.decode(state) }
  }
}

const denyFields: CompactEncoding<AuthDeny> = {
  preencode(state, m) {
    fixed16.preencode(state, m.requestId)
    c.fixed32.preencode(state, m.requestDigest)
    reasonText.preencode(state, m.reason)
  },
  encode(state, m) {
    fixed16.encode(state, m.requestId)
    c.fixed32.encode(state, m.requestDigest)
    reasonText.encode(state, m.reason)
  },
  decode(state) {
    return { type: 'deny', requestId: fixed16.decode(state), requestDigest: c.fixed32.decode(state), reason: reasonText.decode(state) }
  }
}

const cancelFields: CompactEncoding<AuthCancel> = {
  preencode(state, m) {
    fixed16.preencode(state, m.requestId)
    c.fixed32.preencode(state, m.requestDigest)
  },
  encode(state, m) {
    fixed16.encode(state, m.requestId)
    c.fixed32.encode(state, m.requestDigest)
  },
  decode(state) {
    return { type: 'cancel', requestId: fixed16.decode(state), requestDigest: c.fixed32.decode(state) }
  }
}

const refuseFields: CompactEncoding<AuthRefuse> = {
  preencode(state, m) {
    fixed16.preencode(state, m.requestId)
    c.fixed32.preencode(state, m.requestDigest)
    c.uint.preencode(state, REFUSAL_REASONS.indexOf(m.reason) + 1)
  },
  encode(state, m) {
    fixed16.encode(state, m.requestId)
    c.fixed32.encode(state, m.requestDigest)
    c.uint.encode(state, REFUSAL_REASONS.indexOf(m.reason) + 1)
  },
  decode(state) {
    const requestId = fixed16.decode(state)
    const requestDigest = c.fixed32.decode(state)
    const n = c.uint.decode(state)
    const reason = REFUSAL_REASONS[n - 1]
    if (reason === undefined) throw new AuthMessageError(`unknown refusal reason ${n}`)
    return { type: 'refuse', requestId, requestDigest, reason }
  }
}

/** Each type's number on the wire and the encoding of its fields. */
const TYPES: { [K in AuthMessage['type']]: { tag: number; fields: CompactEncoding<MessageOf<K>> } } = {
  request: { tag: 1, fields: requestFields },
  approve: { tag: 2, fields: approveFields },
  deny: { tag: 3, fields: denyFields },
  cancel: { tag: 4, fields: cancelFields },
  challenge: { tag: 5, fields: challengeFields },
  reveal: { tag: 6, fields: revealFields },
  // Added within hypha/auth/2: a node from before it drops a refusal as a bad message, nothing else.
  refuse: { tag: 7, fields: refuseFields }
}
// Widened to AuthMessage: the message given to a type's encoding is always of that type (TS cannot see it).
const fieldsOf = (type: AuthMessage['type']) => TYPES[type].fields as CompactEncoding<AuthMessage>
const BY_TAG = new Map(Object.entries(TYPES).map(([type, { tag }]) => [tag, fieldsOf(type as AuthMessage['type'])]))

/**
 * `uint type ‖ the type's fields`, a whole message: decoding refuses trailing bytes and anything
 * past the limits, with {@link AuthMessageError}. Versioned by its content type ({@link AUTH_CONTENT_TYPE}).
 */
export const authMessageEncoding: CompactEncoding<AuthMessage> = {
  preencode(state, m) {
    c.uint.preencode(state, TYPES[m.type].tag)
    fieldsOf(m.type).preencode(state, m)
  },
  encode(state, m) {
    c.uint.encode(state, TYPES[m.type].tag)
    fieldsOf(m.type).encode(state, m)
  },
  decode(state) {
    const tag = c.uint.decode(state)
    const fields = BY_TAG.get(tag)
    if (!fields) throw new AuthMessageError(`unknown auth message type ${tag}`)
    const message = fields.decode(state)
    if (state.start !== state.end) throw new AuthMessageError('trailing bytes after the auth message')
    checkLimits(message)
    return message
  }
}

/** Encodes one message; throws {@link AuthMessageError} if it is past the limits. */
export function encodeAuthMessage(message: AuthMessage): Uint8Array {
  checkLimits(message)
  return c.encode(authMessageEncoding, message)
}

/** Decodes one message; throws {@link AuthMessageError} for anything else. Never reads past `bytes`. */
export function decodeAuthMessage(bytes: Uint8Array): AuthMessage {
  try {
    return decodeCanonical(authMessageEncoding, bytes)
  } catch (err) {
    if (err instanceof AuthMessageError) throw err
    throw new AuthMessageError('auth message is truncated or malformed', { cause: err })
  }
}

function checkLimits(message: AuthMessage): void {
  // Text UTF-8 cannot hold as it is (a lone surrogate) would go out as U+FFFD: refused instead.
  if (message.type === 'request' && (typeof message.nodeName !== 'string' || !isWellFormed(message.nodeName))) {
    throw new AuthMessageError('node name must be well-formed text')
  }
  if (message.type === 'deny' && (typeof message.reason !== 'string' || !isWellFormed(message.reason))) {
    throw new AuthMessageError('deny reason must be well-formed text')
  }
  if (message.type === 'request') {
    const name = utf8.encode(message.nodeName)
    if (name.byteLength === 0 || name.byteLength > MAX_NODE_NAME_BYTES) {
      throw new AuthMessageError(`node name must be 1 to ${MAX_NODE_NAME_BYTES} bytes`)
    }
    if (!Number.isSafeInteger(message.createdAt)) throw new AuthMessageError('createdAt must be a safe integer')
  }
  if (message.type === 'refuse' && !REFUSAL_REASONS.includes(message.reason)) {
    throw new AuthMessageError(`unknown refusal reason ${String(message.reason)}`)
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
