import c from 'compact-encoding'
import sodium from 'sodium-universal'
import b4a from 'b4a'

/**
 * The wire format of one secure-channel message (encrypt-then-sign):
 *
 *   ttl        uint8     hops left; relays decrement it, so it is outside the signature
 *   ── signed ──────────────────────────────────────────────────────────────────────
 *   version    uint      ENVELOPE_VERSION
 *   id         16 bytes  random message id
 *   sender     32 bytes  sender node's ed25519 public key
 *   flags      uint      bit 0: a recipient follows
 *   recipient  32 bytes  (only with flag bit 0) the one node meant to read it
 *   timestamp  uint      sender's clock, ms since the epoch
 *   nonce      24 bytes  random secretbox nonce
 *   ciphertext buffer    XSalsa20-Poly1305 secretbox of `string contentType | raw payload`
 *   ── end of signed ───────────────────────────────────────────────────────────────
 *   signature  64 bytes  ed25519 signature by `sender` over the signed bytes
 *
 * The box key is BLAKE2b(header, key = channel key), header being the signed bytes before the
 * ciphertext: a relay that rewrites any header field (a new id to defeat replay protection, a
 * new timestamp) and re-signs with its own key still fails decryption, since it lacks the
 * channel key. Secretbox rather than an AEAD because sodium-javascript (the browser's libsodium)
 * has secretbox and no XChaCha20-Poly1305.
 */
export const ENVELOPE_VERSION = 1

export const ID_BYTES = 16
export const KEY_BYTES = 32
export const NONCE_BYTES = 24
export const MAC_BYTES = 16
export const SIGNATURE_BYTES = 64

const FLAG_RECIPIENT = 1
const fixed16 = c.fixed(ID_BYTES)
const fixed24 = c.fixed(NONCE_BYTES)

/** Largest envelope overhead around the plaintext (ttl, header with recipient, MAC, signature, prefixes). */
export const ENVELOPE_OVERHEAD_BYTES = 1 + 1 + ID_BYTES + KEY_BYTES + 1 + KEY_BYTES + 9 + NONCE_BYTES + 5 + MAC_BYTES + SIGNATURE_BYTES

export interface KeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

/** The parts of an envelope anyone can read, relays included. */
export interface EnvelopeHeader {
  ttl: number
  version: number
  id: Uint8Array
  sender: Uint8Array
  recipient: Uint8Array | null
  timestamp: number
}

/** Every field of an envelope but its signature. */
export interface EnvelopeFields extends EnvelopeHeader {
  nonce: Uint8Array
  ciphertext: Uint8Array
}

export interface Envelope extends EnvelopeFields {
  signature: Uint8Array
  /** The signed bytes (version … ciphertext), a view into the frame. */
  signed: Uint8Array
  /** The header bytes the box key is bound to (version … nonce), a view into the frame. */
  header: Uint8Array
}

export interface SealInput {
  channelKey: Uint8Array
  keyPair: KeyPair
  contentType: string
  payload: Uint8Array
  ttl: number
  recipient?: Uint8Array | null
  timestamp: number
  /** Random by default; tests pass one to build exact frames. */
  id?: Uint8Array
  nonce?: Uint8Array
}

export class EnvelopeDecodeError extends Error {
  constructor(
    readonly reason: 'malformed' | 'unsupported-version',
    message: string
  ) {
    super(message)
    this.name = 'EnvelopeDecodeError'
  }
}

/** Encrypts and signs one message into a frame. */
export function sealEnvelope(input: SealInput): Uint8Array {
  const fields: Omit<EnvelopeFields, 'ciphertext'> = {
    ttl: input.ttl,
    version: ENVELOPE_VERSION,
    id: input.id ?? randomBytes(ID_BYTES),
    sender: input.keyPair.publicKey,
    recipient: input.recipient ?? null,
    timestamp: input.timestamp,
    nonce: input.nonce ?? randomBytes(NONCE_BYTES)
  }
  const header = encodeHeader(fields)
  const plaintext = encodePlaintext(input.contentType, input.payload)
  const ciphertext = b4a.allocUnsafe(plaintext.byteLength + MAC_BYTES)
  sodium.crypto_secretbox_easy(ciphertext, plaintext, fields.nonce, messageKey(input.channelKey, header))
  return assembleEnvelope({ ...fields, ciphertext }, { secretKey: input.keyPair.secretKey }, header)
}

/**
 * Lays out a frame from its fields and signs it with `secretKey` (or uses the given `signature`
 * as is). No encryption: `sealEnvelope` is the way to send; this is the one place the layout is
 * written, also for tools and tests that build frames by hand.
 */
export function assembleEnvelope(
  fields: EnvelopeFields,
  signer: { secretKey: Uint8Array } | { signature: Uint8Array },
  header: Uint8Array = encodeHeader(fields)
): Uint8Array {
  const state = c.state()
  c.uint.preencode(state, fields.ciphertext.byteLength)
  const signedEnd = 1 + header.byteLength + state.end + fields.ciphertext.byteLength
  const frame = b4a.allocUnsafe(signedEnd + SIGNATURE_BYTES)
  frame[0] = fields.ttl
  frame.set(header, 1)
  state.buffer = frame
  state.start = 1 + header.byteLength
  state.end = frame.byteLength
  c.uint8array.encode(state, fields.ciphertext)
  const signature = frame.subarray(signedEnd)
  if ('signature' in signer) signature.set(signer.signature)
  else sodium.crypto_sign_detached(signature, frame.subarray(1, signedEnd), signer.secretKey)
  return frame
}

/** The header bytes (version … nonce) that the box key is bound to. */
export function encodeHeader(fields: Omit<EnvelopeFields, 'ciphertext' | 'ttl'>): Uint8Array {
  const flags = fields.recipient ? FLAG_RECIPIENT : 0
  const state = c.state()
  c.uint.preencode(state, fields.version)
  fixed16.preencode(state, fields.id)
  c.fixed32.preencode(state, fields.sender)
  c.uint.preencode(state, flags)
  if (fields.recipient) c.fixed32.preencode(state, fields.recipient)
  c.uint.preencode(state, fields.timestamp)
  fixed24.preencode(state, fields.nonce)
  state.buffer = b4a.allocUnsafe(state.end)
  c.uint.encode(state, fields.version)
  fixed16.encode(state, fields.id)
  c.fixed32.encode(state, fields.sender)
  c.uint.encode(state, flags)
  if (fields.recipient) c.fixed32.encode(state, fields.recipient)
  c.uint.encode(state, fields.timestamp)
  fixed24.encode(state, fields.nonce)
  return state.buffer
}

/** Parses a frame without any key. Throws {@link EnvelopeDecodeError} if it is not exactly one envelope. */
export function decodeEnvelope(frame: Uint8Array): Envelope {
  const state = c.state(0, frame.byteLength, frame)
  try {
    const ttl = c.uint8.decode(state)
    const signedStart = state.start
    const version = c.uint.decode(state)
    if (version !== ENVELOPE_VERSION) {
      throw new EnvelopeDecodeError('unsupported-version', `envelope version ${version} is not supported`)
    }
    const id = fixed16.decode(state)
    const sender = c.fixed32.decode(state)
    const flags = c.uint.decode(state)
    if ((flags & ~FLAG_RECIPIENT) !== 0) throw new EnvelopeDecodeError('malformed', `unknown flags ${flags}`)
    const recipient = flags & FLAG_RECIPIENT ? c.fixed32.decode(state) : null
    const timestamp = c.uint.decode(state)
    const nonce = fixed24.decode(state)
    const headerEnd = state.start
    const ciphertext = c.uint8array.decode(state)
    if (ciphertext.byteLength < MAC_BYTES) throw new EnvelopeDecodeError('malformed', 'ciphertext is shorter than its MAC')
    const signedEnd = state.start
    const signature = c.fixed64.decode(state)
    if (state.start !== state.end) throw new EnvelopeDecodeError('malformed', 'trailing bytes after the signature')
    return {
      ttl,
      version,
      id,
      sender,
      recipient,
      timestamp,
      nonce,
      ciphertext,
      signature,
      signed: frame.subarray(signedStart, signedEnd),
      header: frame.subarray(signedStart, headerEnd)
    }
  } catch (err) {
    if (err instanceof EnvelopeDecodeError) throw err
    throw new EnvelopeDecodeError('malformed', 'envelope is truncated or malformed')
  }
}

export function verifyEnvelope(envelope: Envelope): boolean {
  return sodium.crypto_sign_verify_detached(envelope.signature, envelope.signed, envelope.sender)
}

/** Decrypts a verified envelope; null if the channel key is wrong or the ciphertext/header was altered. */
export function openEnvelope(
  envelope: Envelope,
  channelKey: Uint8Array
): { contentType: string; payload: Uint8Array } | null {
  const plaintext = b4a.allocUnsafe(envelope.ciphertext.byteLength - MAC_BYTES)
  const boxKey = messageKey(channelKey, envelope.header)
  if (!sodium.crypto_secretbox_open_easy(plaintext, envelope.ciphertext, envelope.nonce, boxKey)) return null
  return decodePlaintext(plaintext)
}

/** A copy of `frame` with its ttl byte replaced: what a relay forwards (the ttl is not signed). */
export function withTtl(frame: Uint8Array, ttl: number): Uint8Array {
  const copy = b4a.allocUnsafe(frame.byteLength)
  copy.set(frame)
  copy[0] = ttl
  return copy
}

export function randomBytes(n: number): Uint8Array {
  const buf = b4a.allocUnsafe(n)
  sodium.randombytes_buf(buf)
  return buf
}

function messageKey(channelKey: Uint8Array, header: Uint8Array): Uint8Array {
  const key = b4a.allocUnsafe(KEY_BYTES)
  sodium.crypto_generichash(key, header, channelKey)
  return key
}

function encodePlaintext(contentType: string, payload: Uint8Array): Uint8Array {
  const state = c.state()
  c.string.preencode(state, contentType)
  c.raw.preencode(state, payload)
  state.buffer = b4a.allocUnsafe(state.end)
  c.string.encode(state, contentType)
  c.raw.encode(state, payload)
  return state.buffer
}

function decodePlaintext(plaintext: Uint8Array): { contentType: string; payload: Uint8Array } | null {
  try {
    const state = c.state(0, plaintext.byteLength, plaintext)
    const contentType = c.string.decode(state)
    return { contentType, payload: c.raw.decode(state) }
  } catch {
    return null
  }
}

/** A fresh ed25519 key pair for a node (nodes of a Hypha database derive theirs: see @hypha/node-core). */
export function createKeyPair(seed?: Uint8Array): KeyPair {
  const publicKey = b4a.allocUnsafe(32)
  const secretKey = b4a.allocUnsafe(64)
  if (seed) sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  else sodium.crypto_sign_keypair(publicKey, secretKey)
  return { publicKey, secretKey }
}

/** A fresh random 32-byte channel key. */
export function createChannelKey(): Uint8Array {
  return randomBytes(KEY_BYTES)
}
