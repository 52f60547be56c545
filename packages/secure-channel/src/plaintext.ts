/**
 * What an envelope's secretbox seals: `string contentType ‖ payload ‖ 0x80 ‖ 0x00…`, padded to a
 * size class (envelope.ts has the frame around it). Split from envelope.ts by job: this file owns
 * the padding policy (the privacy trade-off) and the plaintext's encoding; envelope.ts the wire
 * format, keys and signatures.
 */
import c from 'compact-encoding'
import { strictUtf8, isWellFormed, utf8ByteLength, type CompactState } from '@hypha/ephemeral-ext'
import { EnvelopeDecodeError, SecureChannelError } from './errors.js'

/** A compact-encoding state over `buffer`'s first `end` bytes. */
export function stateOver(buffer: Uint8Array, end: number): CompactState {
  const state = c.state()
  state.buffer = buffer
  state.end = end
  return state
}

/** Longest content type of a secure message, in UTF-8 bytes. */
export const MAX_CONTENT_TYPE_BYTES = 128

/**
 * The size classes, as payload capacities, smallest first; past the last, multiples of it. A
 * payload of up to 256 / 1,024 / 4,096 / 16,384 / 65,536 bytes, with any content type, is sealed
 * in that class: the sealed plaintext is the class plus {@link PADDING_HEADROOM_BYTES}, and the
 * ciphertext that plus the 16-byte MAC. (Before issue 14 the classes were the sealed size itself,
 * so a 1 KiB payload, with its content type and marker 1,030 bytes, was sealed as 4 KiB.)
 */
export const PADDING_BUCKETS: readonly number[] = Object.freeze([256, 1024, 4096, 16384, 65536])
const LARGEST_BUCKET = 65536
/** The padding's first byte (ISO/IEC 7816-4); zeros follow it up to the class's size. */
const PAD_MARKER = 0x80
/** The padding takes at least its marker byte. */
export const MIN_PADDING_BYTES = 1

/**
 * Room each class has beyond its payload capacity, for what is sealed with the payload: the
 * content type's length prefix (1 byte: {@link MAX_CONTENT_TYPE_BYTES} is below 0xfd), the longest
 * content type (128 bytes) and the padding marker (1 byte): 130. So the class a message lands in
 * depends on its payload's size only, never on how long its content type is.
 */
export const PADDING_HEADROOM_BYTES = 1 + MAX_CONTENT_TYPE_BYTES + MIN_PADDING_BYTES

/** A sealed content type that is not UTF-8 (or too long) makes the envelope malformed. */
const contentTypeText = strictUtf8(
  (message, cause) => new EnvelopeDecodeError('malformed', `sealed content type: ${message}`, { cause }),
  MAX_CONTENT_TYPE_BYTES
)

/** What a sealed plaintext holds: its content type and payload. */
export interface Plaintext {
  contentType: string
  payload: Uint8Array
}

/**
 * The length the sealed plaintext is padded to, for `unpadded` bytes (content type with its
 * length prefix, payload and the padding's marker byte): the smallest class of
 * {@link PADDING_BUCKETS} whose capacity plus {@link PADDING_HEADROOM_BYTES} holds it (past the
 * largest, the next multiple of 64 KiB plus the headroom); no more than `cap` (the room left by
 * `maxEnvelopeBytes`) when `unpadded` fits in `cap`.
 */
export function paddedLength(unpadded: number, cap?: number): number {
  const beyondHeadroom = unpadded - PADDING_HEADROOM_BYTES
  const bucket = PADDING_BUCKETS.find((b) => b >= beyondHeadroom) ?? Math.ceil(beyondHeadroom / LARGEST_BUCKET) * LARGEST_BUCKET
  let padded = bucket + PADDING_HEADROOM_BYTES
  if (cap !== undefined && unpadded <= cap && padded > cap) padded = cap
  return padded
}

/** Bytes of `content` before its padding: content type (with its length) and payload. */
export function plaintextLength(content: Plaintext): number {
  const state = c.state()
  contentTypeText.preencode(state, content.contentType)
  return state.end + content.payload.byteLength
}

/** Writes `content`, the marker and zeros into `out` (exactly the padded length). */
export function writePlaintext(out: Uint8Array, content: Plaintext): void {
  const state = stateOver(out, out.byteLength)
  contentTypeText.encode(state, content.contentType)
  out.set(content.payload, state.start)
  const end = state.start + content.payload.byteLength
  out[end] = PAD_MARKER
  out.fill(0, end + 1)
}

/**
 * Reads an opened plaintext back: strips the padding (the last byte that is not zero must be the
 * marker) and decodes the content type; the payload is a view into `plaintext`. Throws
 * {@link EnvelopeDecodeError} (`malformed`) for anything else.
 */
export function readPlaintext(plaintext: Uint8Array): Plaintext {
  let end = plaintext.byteLength - 1
  while (end >= 0 && plaintext[end] === 0) end--
  if (end < 0 || plaintext[end] !== PAD_MARKER) {
    throw new EnvelopeDecodeError('malformed', 'sealed content has no padding marker (0x80 then zeros)')
  }
  const state = stateOver(plaintext, end)
  try {
    // Canonical by construction: strictUtf8 reads its length with canonicalUint, the payload is the rest.
    const contentType = contentTypeText.decode(state)
    return { contentType, payload: plaintext.subarray(state.start, end) }
  } catch (err) {
    if (err instanceof EnvelopeDecodeError) throw err
    throw new EnvelopeDecodeError('malformed', 'sealed content is truncated or malformed', { cause: err })
  }
}

/** What a sender may put as content type: well-formed text of at most MAX_CONTENT_TYPE_BYTES bytes. */
export function checkContentType(contentType: unknown): asserts contentType is string {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only long strings need measuring (once per send).
  const tooLong = (s: string) => s.length * 3 > MAX_CONTENT_TYPE_BYTES && utf8ByteLength(s) > MAX_CONTENT_TYPE_BYTES
  if (typeof contentType !== 'string' || !isWellFormed(contentType) || tooLong(contentType)) {
    throw new SecureChannelError(
      'ERR_INVALID_ARGUMENT',
      `contentType must be well-formed text (no lone surrogates) of at most ${MAX_CONTENT_TYPE_BYTES} bytes`
    )
  }
}
