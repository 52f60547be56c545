import c from 'compact-encoding'
import { EphemeralError } from './errors.js'
import { canonicalUint, canonicalUint8array, isWellFormed, strictUtf8, utf8ByteLength, type CompactEncoding } from './codec.js'

/** Version of the frame layout below; a receiver drops frames of any other version. */
export const FRAME_VERSION = 1

/** Content types are short labels such as `hypha/secure/1`; a longer one is refused. */
export const MAX_CONTENT_TYPE_BYTES = 128

/** Bytes a frame adds around its payload at most: version, content type and two length prefixes. */
export const FRAME_OVERHEAD_BYTES = 1 + 1 + MAX_CONTENT_TYPE_BYTES + 5

/** A content type that is not UTF-8 (or too long) is refused as any other bad content type is. */
const contentTypeText = strictUtf8(
  (message, cause) => new EphemeralError('ERR_CONTENT_TYPE_INVALID', `content type: ${message}`, { cause }),
  MAX_CONTENT_TYPE_BYTES
)

/** What one frame carries: a content type and a payload. */
export interface Frame {
  contentType: string
  payload: Uint8Array
}

/**
 * One ephemeral message on the wire: `uint version ‖ string contentType ‖ uint8array payload`.
 * Length-prefixed so a truncated frame is detected rather than read short. A frame is a whole
 * message: decoding refuses trailing bytes. The payload limit is the receiver's, so
 * {@link decodeFrame} checks it. Decoding is canonical by construction (every uint is read with
 * `canonicalUint`): one frame, one encoding, without `decodeCanonical`'s second encoding (a copy
 * of the payload per message).
 */
export const frameEncoding: CompactEncoding<Frame> = {
  preencode(state, f) {
    c.uint.preencode(state, FRAME_VERSION)
    contentTypeText.preencode(state, f.contentType)
    c.uint8array.preencode(state, f.payload)
  },
  encode(state, f) {
    c.uint.encode(state, FRAME_VERSION)
    contentTypeText.encode(state, f.contentType)
    c.uint8array.encode(state, f.payload)
  },
  decode(state) {
    const version = canonicalUint.decode(state)
    if (version !== FRAME_VERSION) {
      throw new EphemeralError('ERR_UNSUPPORTED_VERSION', `frame version ${version} is not supported`)
    }
    const contentType = contentTypeText.decode(state)
    const payload = canonicalUint8array.decode(state)
    if (state.start !== state.end) {
      throw new EphemeralError('ERR_MALFORMED_FRAME', `frame has ${state.end - state.start} trailing bytes`)
    }
    checkContentType(contentType)
    return { contentType, payload }
  }
}

/** The wire bytes of a frame (`frameEncoding`); `decodeFrame` reads them back. */
export function encodeFrame(frame: Frame): Uint8Array {
  return c.encode(frameEncoding, frame)
}

/**
 * The Protomux message encoding of an ephemeral channel: sends a {@link Frame} (written straight
 * into Protomux's buffer, not first into a frame of its own), receives the frame's bytes as they
 * are (a view), for {@link decodeFrame} to check where a bad frame cannot close the connection.
 */
export const frameMessageEncoding: CompactEncoding<Frame | Uint8Array> = {
  preencode(state, f) {
    if (f instanceof Uint8Array) c.raw.preencode(state, f)
    else frameEncoding.preencode(state, f)
  },
  encode(state, f) {
    if (f instanceof Uint8Array) c.raw.encode(state, f)
    else frameEncoding.encode(state, f)
  },
  decode(state) {
    return c.raw.decode(state)
  }
}

/**
 * Decodes and checks one frame. Throws an {@link EphemeralError} for anything that is not
 * exactly one well-formed frame within the limits; never reads past `bytes`.
 */
export function decodeFrame(bytes: Uint8Array, maxPayloadBytes: number): Frame {
  if (bytes.byteLength > maxPayloadBytes + FRAME_OVERHEAD_BYTES) {
    throw new EphemeralError('ERR_FRAME_TOO_LARGE', `frame of ${bytes.byteLength} bytes exceeds the limit`)
  }
  let frame: Frame
  try {
    frame = c.decode(frameEncoding, bytes)
  } catch (err) {
    if (err instanceof EphemeralError) throw err
    throw new EphemeralError('ERR_MALFORMED_FRAME', 'frame is truncated or malformed', { cause: err })
  }
  checkPayloadSize(frame.payload, maxPayloadBytes)
  return frame
}

export function checkContentType(contentType: unknown): asserts contentType is string {
  if (typeof contentType !== 'string' || contentType.length === 0) {
    throw new EphemeralError('ERR_CONTENT_TYPE_INVALID', 'content type must be a non-empty string')
  }
  if (!isWellFormed(contentType)) {
    throw new EphemeralError('ERR_CONTENT_TYPE_INVALID', 'content type must be well-formed text (no lone surrogates)')
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only long strings need measuring.
  if (contentType.length * 3 > MAX_CONTENT_TYPE_BYTES && utf8ByteLength(contentType) > MAX_CONTENT_TYPE_BYTES) {
    throw new EphemeralError('ERR_CONTENT_TYPE_INVALID', `content type is longer than ${MAX_CONTENT_TYPE_BYTES} bytes`)
  }
}

export function checkPayloadSize(payload: Uint8Array, maxPayloadBytes: number): void {
  if (payload.byteLength > maxPayloadBytes) {
    throw new EphemeralError(
      'ERR_PAYLOAD_TOO_LARGE',
      `payload of ${payload.byteLength} bytes exceeds the limit of ${maxPayloadBytes} bytes`
    )
  }
}
