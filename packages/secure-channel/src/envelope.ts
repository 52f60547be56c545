/**
 * The envelope's wire format and its one encoder/decoder, with sealing, verifying and opening.
 * Just over ~400 lines, most of it the format's documentation: `sealEnvelope` writes the layout in
 * place (header, ciphertext, signature and tag into one buffer), so the layout and the code that
 * writes it must change together. The sealed plaintext and its padding are in plaintext.ts.
 */
import c from 'compact-encoding'
import sodium from 'sodium-universal'
import b4a from 'b4a'
import { canonicalUint, canonicalUint8array, type CompactEncoding, type CompactState } from '@hypha/ephemeral-ext'
import { EnvelopeDecodeError, SecureChannelError } from './errors.js'
import { MIN_PADDING_BYTES, paddedLength, plaintextLength, readPlaintext, stateOver, writePlaintext, checkContentType, type Plaintext } from './plaintext.js'

export { EnvelopeDecodeError }
export {
  MAX_CONTENT_TYPE_BYTES,
  PADDING_BUCKETS,
  PADDING_HEADROOM_BYTES,
  MIN_PADDING_BYTES,
  paddedLength,
  checkContentType
} from './plaintext.js'

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
 *   ciphertext buffer    XSalsa20-Poly1305 secretbox of the padded plaintext (below)
 *   ── end of signed ───────────────────────────────────────────────────────────────
 *   signature  64 bytes  ed25519 signature by `sender` over the signed bytes
 *   tag        16 bytes  member tag: BLAKE2b-128(key = member key, signed bytes ‖ signature)
 *
 * The member tag (version 2) lets a node that holds the account's member key, an always-on relay
 * included, tell a member's envelope from a stranger's with one keyed hash, before any ed25519
 * verify and without being able to read anything: the member key decrypts nothing. Version 1
 * (no tag) is refused as `unsupported-version`.
 *
 * The sealed plaintext (version 3) is `string contentType ‖ payload ‖ 0x80 ‖ 0x00…`, padded to a
 * size class (plaintext.ts: a payload of up to 256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB, then multiples
 * of 64 KiB, plus a fixed 130-byte headroom for the content type and marker; never past what
 * `maxEnvelopeBytes` leaves room for), so the ciphertext length gives away the class, not the
 * size, and the content type is hidden with the payload. The padding is ISO/IEC 7816-4's (one 0x80
 * byte, then zeros: the scheme of libsodium's `sodium_pad`), inside the secretbox, so it is
 * authenticated; opening strips it, and anything else at the end (no 0x80 before the zeros) is
 * `malformed`. Receivers accept any padding length, so the classes can change without a new
 * version. Version 2 (unpadded) is refused as `unsupported-version`.
 *
 * The box key is BLAKE2b(header, key = channel key), header being the signed bytes before the
 * ciphertext: a relay that rewrites any header field (a new id to defeat replay protection, a
 * new timestamp) and re-signs with its own key still fails decryption, since it lacks the
 * channel key. Secretbox rather than an AEAD because sodium-javascript (the browser's libsodium)
 * has secretbox and no XChaCha20-Poly1305.
 */
export const ENVELOPE_VERSION = 3
/** The version before member tags: refused with a message that says so. */
const UNTAGGED_VERSION = 1
/** The version before padding: refused with a message that says so. */
const UNPADDED_VERSION = 2

export const ID_BYTES = 16
export const KEY_BYTES = 32
export const NONCE_BYTES = 24
export const MAC_BYTES = 16
export const SIGNATURE_BYTES = 64
/** A member tag: BLAKE2b-128 keyed with the member key. */
export const TAG_BYTES = 16

const FLAG_RECIPIENT = 1
const fixed16 = c.fixed(ID_BYTES)
const fixed24 = c.fixed(NONCE_BYTES)
const fixedTag = c.fixed(TAG_BYTES)

/**
 * Largest envelope overhead around the content type and payload (ttl, header with recipient,
 * ciphertext prefix, MAC, signature, tag, the padding's marker byte). Padding beyond the marker
 * is never counted: with `maxEnvelopeBytes`, {@link sealEnvelope} pads only as far as the limit.
 */
export const ENVELOPE_OVERHEAD_BYTES =
  1 + 1 + ID_BYTES + KEY_BYTES + 1 + KEY_BYTES + 9 + NONCE_BYTES + 5 + MAC_BYTES + SIGNATURE_BYTES + TAG_BYTES + MIN_PADDING_BYTES

/** An ed25519 key pair: 32-byte `publicKey`, 64-byte `secretKey`. */
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

/** A decoded envelope: its fields, signature, member tag and the byte views they cover. */
export interface Envelope extends EnvelopeFields {
  signature: Uint8Array
  /** The member tag over `tagged`. */
  tag: Uint8Array
  /** The bytes the member tag covers (version … signature: all but the ttl), a view into the frame. */
  tagged: Uint8Array
  /** The signed bytes (version … ciphertext), a view into the frame. */
  signed: Uint8Array
  /** The header bytes the box key is bound to (version … nonce), a view into the frame. */
  header: Uint8Array
}

/** What `sealEnvelope` takes: the keys, the payload and its content type, the recipient, the hop limit (`ttl`), the time and the size limit. */
export interface SealInput {
  channelKey: Uint8Array
  /** The account's member key: tags the envelope as a member's (see {@link memberTag}). */
  memberKey: Uint8Array
  keyPair: KeyPair
  contentType: string
  payload: Uint8Array
  ttl: number
  recipient?: Uint8Array | null
  timestamp: number
  /**
   * The largest frame the receivers accept (the channel's `maxEnvelopeBytes`): padding stops at
   * what fits, so the top bucket is "up to the limit", and a message that cannot fit even unpadded
   * throws `ERR_PAYLOAD_TOO_LARGE`. Without it, padding follows {@link PADDING_BUCKETS} alone.
   */
  maxEnvelopeBytes?: number
  /** Random by default; tests pass one to build exact frames. */
  id?: Uint8Array
  nonce?: Uint8Array
}

/** What the header encoding writes: the envelope's fields from version to nonce. */
type HeaderFields = Omit<EnvelopeFields, 'ciphertext' | 'ttl'>

/** Version … nonce: the bytes the box key is bound to. */
const headerEncoding: CompactEncoding<HeaderFields> = {
  preencode(state, h) {
    c.uint.preencode(state, h.version)
    fixed16.preencode(state, h.id)
    c.fixed32.preencode(state, h.sender)
    c.uint.preencode(state, h.recipient ? FLAG_RECIPIENT : 0)
    if (h.recipient) c.fixed32.preencode(state, h.recipient)
    c.uint.preencode(state, h.timestamp)
    fixed24.preencode(state, h.nonce)
  },
  encode(state, h) {
    c.uint.encode(state, h.version)
    fixed16.encode(state, h.id)
    c.fixed32.encode(state, h.sender)
    c.uint.encode(state, h.recipient ? FLAG_RECIPIENT : 0)
    if (h.recipient) c.fixed32.encode(state, h.recipient)
    c.uint.encode(state, h.timestamp)
    fixed24.encode(state, h.nonce)
  },
  decode(state) {
    const version = canonicalUint.decode(state)
    if (version === UNPADDED_VERSION) {
      throw new EnvelopeDecodeError(
        'unsupported-version',
        `envelope version ${version} is unpadded and is no longer accepted: the sender runs an older @hypha/secure-channel (version ${ENVELOPE_VERSION} needed)`
      )
    }
    if (version === UNTAGGED_VERSION) {
      throw new EnvelopeDecodeError(
        'unsupported-version',
        `envelope version ${version} has no member tag and is no longer accepted: the sender runs an older @hypha/secure-channel (version ${ENVELOPE_VERSION} needed)`
      )
    }
    if (version !== ENVELOPE_VERSION) {
      throw new EnvelopeDecodeError('unsupported-version', `envelope version ${version} is not supported`)
    }
    const id = fixed16.decode(state)
    const sender = c.fixed32.decode(state)
    const flags = canonicalUint.decode(state)
    // Compared, not masked: `&` sees only the low 32 bits, so 2^32 would pass as 0.
    if (flags !== 0 && flags !== FLAG_RECIPIENT) throw new EnvelopeDecodeError('malformed', `unknown flags ${flags}`)
    const recipient = flags & FLAG_RECIPIENT ? c.fixed32.decode(state) : null
    return { version, id, sender, recipient, timestamp: canonicalUint.decode(state), nonce: fixed24.decode(state) }
  }
}

/** What the frame encoding writes: every field, the signature and tag included. */
type SignedFields = EnvelopeFields & { signature: Uint8Array; tag: Uint8Array }

/**
 * A whole frame, `uint8 ttl ‖ header ‖ uint8array ciphertext ‖ fixed64 signature`; decoding
 * refuses trailing bytes and also gives the signed and header bytes as views into the frame.
 */
const envelopeEncoding: CompactEncoding<SignedFields> & { decode(state: CompactState): Envelope } = {
  preencode(state, e) {
    c.uint8.preencode(state, e.ttl)
    headerEncoding.preencode(state, e)
    c.uint8array.preencode(state, e.ciphertext)
    c.fixed64.preencode(state, e.signature)
    fixedTag.preencode(state, e.tag)
  },
  encode(state, e) {
    c.uint8.encode(state, e.ttl)
    headerEncoding.encode(state, e)
    c.uint8array.encode(state, e.ciphertext)
    c.fixed64.encode(state, e.signature)
    fixedTag.encode(state, e.tag)
  },
  decode(state) {
    const ttl = c.uint8.decode(state)
    const signedStart = state.start
    const header = headerEncoding.decode(state) as Envelope
    const headerEnd = state.start
    const ciphertext = canonicalUint8array.decode(state)
    if (ciphertext.byteLength < MAC_BYTES) throw new EnvelopeDecodeError('malformed', 'ciphertext is shorter than its MAC')
    const signedEnd = state.start
    const signature = c.fixed64.decode(state)
    const taggedEnd = state.start
    const tag = fixedTag.decode(state)
    if (state.start !== state.end) throw new EnvelopeDecodeError('malformed', 'trailing bytes after the member tag')
    const frame = state.buffer!
    // Filled in on the header's object: one object per envelope, no spread.
    header.ttl = ttl
    header.ciphertext = ciphertext
    header.signature = signature
    header.tag = tag
    header.tagged = frame.subarray(signedStart, taggedEnd)
    header.signed = frame.subarray(signedStart, signedEnd)
    header.header = frame.subarray(signedStart, headerEnd)
    return header
  }
}

/** Zeros where the signature (and tag) go until the bytes they cover, which precede them in the frame, are there. */
const UNSIGNED = new Uint8Array(SIGNATURE_BYTES)
const UNTAGGED = new Uint8Array(TAG_BYTES)

/**
 * Pads (to a size class), encrypts, signs and tags one message into a frame. Throws
 * SecureChannelError `ERR_INVALID_ARGUMENT` for a content type that is not well-formed text (a
 * lone surrogate) of at most {@link MAX_CONTENT_TYPE_BYTES} bytes: receivers would refuse it;
 * `ERR_PAYLOAD_TOO_LARGE` if `maxEnvelopeBytes` is given and the message does not fit in it.
 * The frame is laid out once: the header is written where it goes, the secretbox writes the
 * ciphertext into its place, and the signature and tag are made over views of it (no copies).
 */
export function sealEnvelope(input: SealInput): Uint8Array {
  checkContentType(input.contentType)
  const fields: HeaderFields = {
    version: ENVELOPE_VERSION,
    id: input.id ?? randomBytes(ID_BYTES),
    sender: input.keyPair.publicKey,
    recipient: input.recipient ?? null,
    timestamp: input.timestamp,
    nonce: input.nonce ?? randomBytes(NONCE_BYTES)
  }
  const content: Plaintext = { contentType: input.contentType, payload: input.payload }
  const unpadded = plaintextLength(content) + MIN_PADDING_BYTES
  const headerState = c.state()
  headerEncoding.preencode(headerState, fields)
  const headerBytes = headerState.end
  let cap: number | undefined
  if (input.maxEnvelopeBytes !== undefined) {
    cap = maxPlaintextBytes(input.maxEnvelopeBytes, headerBytes)
    if (unpadded > cap) {
      throw new SecureChannelError(
        'ERR_PAYLOAD_TOO_LARGE',
        `a payload of ${input.payload.byteLength} bytes does not fit in an envelope of at most ${input.maxEnvelopeBytes} bytes`
      )
    }
  }
  const plaintext = b4a.allocUnsafe(paddedLength(unpadded, cap))
  writePlaintext(plaintext, content)
  const ciphertextBytes = plaintext.byteLength + MAC_BYTES
  const headerEnd = 1 + headerBytes
  const ciphertextStart = headerEnd + uintBytes(ciphertextBytes)
  const signedEnd = ciphertextStart + ciphertextBytes
  const frame = b4a.allocUnsafe(signedEnd + SIGNATURE_BYTES + TAG_BYTES)
  const state = stateOver(frame, frame.byteLength)
  c.uint8.encode(state, input.ttl)
  headerEncoding.encode(state, fields)
  c.uint.encode(state, ciphertextBytes)
  const ciphertext = frame.subarray(ciphertextStart, signedEnd)
  sodium.crypto_secretbox_easy(ciphertext, plaintext, fields.nonce, messageKey(input.channelKey, frame.subarray(1, headerEnd)))
  signAndTag(frame, input.keyPair.secretKey, input.memberKey)
  return frame
}

/**
 * Lays out a frame from its fields, signs it with `secretKey` (or uses the given `signature` as
 * is) and tags it with `memberKey` (or uses the given `tag` as is). No encryption: `sealEnvelope`
 * is the way to send; this is the one place the layout is written, also for tools and tests that
 * build frames by hand.
 */
export function assembleEnvelope(
  fields: EnvelopeFields,
  signer: { secretKey: Uint8Array } | { signature: Uint8Array },
  member: { memberKey: Uint8Array } | { tag: Uint8Array }
): Uint8Array {
  const signed = 'signature' in signer
  const tagged = 'tag' in member
  const frame = c.encode(envelopeEncoding, {
    ...fields,
    signature: signed ? signer.signature : UNSIGNED,
    tag: tagged ? member.tag : UNTAGGED
  })
  signAndTag(frame, signed ? null : signer.secretKey, tagged ? null : member.memberKey)
  return frame
}

/**
 * Writes, in place, a laid-out frame's signature (over version … ciphertext, with `secretKey`) and
 * then its member tag (over version … signature, with `memberKey`): its last SIGNATURE_BYTES +
 * TAG_BYTES. A null key leaves that part as it is (already given). The one definition of what is
 * signed and what is tagged, for sealEnvelope and assembleEnvelope.
 */
function signAndTag(frame: Uint8Array, secretKey: Uint8Array | null, memberKey: Uint8Array | null): void {
  const tagStart = frame.byteLength - TAG_BYTES
  const signedEnd = tagStart - SIGNATURE_BYTES
  if (secretKey !== null) sodium.crypto_sign_detached(frame.subarray(signedEnd, tagStart), frame.subarray(1, signedEnd), secretKey)
  if (memberKey !== null) sodium.crypto_generichash(frame.subarray(tagStart), frame.subarray(1, tagStart), memberKey)
}

/** The member tag of the bytes an envelope's tag covers (version … signature). */
export function memberTag(tagged: Uint8Array, memberKey: Uint8Array): Uint8Array {
  const tag = b4a.allocUnsafe(TAG_BYTES)
  sodium.crypto_generichash(tag, tagged, memberKey)
  return tag
}

/** True if the envelope was tagged with `memberKey`: sent by a holder of the account's member key. */
export function verifyMemberTag(envelope: Envelope, memberKey: Uint8Array): boolean {
  return sodium.sodium_memcmp(memberTag(envelope.tagged, memberKey), envelope.tag)
}

/** The largest sealed plaintext whose frame, with a header of `headerBytes`, is at most `maxEnvelopeBytes`. */
function maxPlaintextBytes(maxEnvelopeBytes: number, headerBytes: number): number {
  // ttl ‖ header ‖ uint ciphertext length ‖ plaintext + MAC ‖ signature ‖ tag
  const room = maxEnvelopeBytes - 1 - headerBytes - MAC_BYTES - SIGNATURE_BYTES - TAG_BYTES
  let plaintext = room - 1
  while (plaintext > 0 && plaintext + uintBytes(plaintext + MAC_BYTES) > room) plaintext--
  return Math.max(0, plaintext)
}

/** Bytes of a compact-encoding uint. */
function uintBytes(n: number): number {
  return n <= 0xfc ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9
}

/** The header bytes (version … nonce) that the box key is bound to. */
export function encodeHeader(fields: HeaderFields): Uint8Array {
  return c.encode(headerEncoding, fields)
}

/** Parses a frame without any key. Throws {@link EnvelopeDecodeError} if it is not exactly one envelope. */
export function decodeEnvelope(frame: Uint8Array): Envelope {
  try {
    // Canonical by construction (every uint is read with canonicalUint, lengths included): no
    // decodeCanonical, whose second encoding copied the whole frame per envelope.
    return (envelopeEncoding.decode as (state: CompactState) => Envelope)(stateOver(frame, frame.byteLength))
  } catch (err) {
    if (err instanceof EnvelopeDecodeError) throw err
    throw new EnvelopeDecodeError('malformed', 'envelope is truncated or malformed', { cause: err })
  }
}

/** Whether the envelope's ed25519 signature over its signed bytes verifies under its sender key. */
export function verifyEnvelope(envelope: Envelope): boolean {
  return sodium.crypto_sign_verify_detached(envelope.signature, envelope.signed, envelope.sender)
}

/**
 * Decrypts a verified envelope and strips its padding; null if the channel key is wrong or the
 * ciphertext/header was altered. Throws {@link EnvelopeDecodeError} (`malformed`) if it decrypts to
 * something that is not `string contentType ‖ payload ‖ 0x80 ‖ zeros` with a UTF-8 content type:
 * made with the key, but broken.
 */
export function openEnvelope(
  envelope: Envelope,
  channelKey: Uint8Array
): { contentType: string; payload: Uint8Array } | null {
  const plaintext = b4a.allocUnsafe(envelope.ciphertext.byteLength - MAC_BYTES)
  const boxKey = messageKey(channelKey, envelope.header)
  if (!sodium.crypto_secretbox_open_easy(plaintext, envelope.ciphertext, envelope.nonce, boxKey)) return null
  return readPlaintext(plaintext)
}

/** A copy of `frame` with its ttl byte replaced: what a relay forwards (the ttl is not signed). */
export function withTtl(frame: Uint8Array, ttl: number): Uint8Array {
  const copy = b4a.allocUnsafe(frame.byteLength)
  copy.set(frame)
  copy[0] = ttl
  return copy
}

/** `n` random bytes from libsodium. */
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

/** A fresh ed25519 key pair for a node (nodes of a Hypha database derive theirs: see @hypha/node-core). */
export function createKeyPair(seed?: Uint8Array): KeyPair {
  const publicKey = b4a.allocUnsafe(32)
  const secretKey = b4a.allocUnsafe(64)
  if (seed) sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  else sodium.crypto_sign_keypair(publicKey, secretKey)
  return { publicKey, secretKey }
}

/** A fresh random 32-byte member key (Hypha nodes derive theirs from the root secret: see @hypha/node-core). */
export function createMemberKey(): Uint8Array {
  return randomBytes(KEY_BYTES)
}

/** A fresh random 32-byte channel key. */
export function createChannelKey(): Uint8Array {
  return randomBytes(KEY_BYTES)
}
