/**
 * How Hypha writes its messages, in every package: each message is a compact-encoding encoding, a
 * plain `{ preencode, encode, decode }` object written by hand from compact-encoding's primitives,
 * and a message that holds another calls that one's functions (as autobase's lib/messages.js
 * does). `c.encode(encoding, value)` and `c.decode(encoding, bytes)` are the entry points.
 *
 *   - A version field, where a format has one, is its first uint; decode refuses any other value.
 *   - Decode checks what it reads and throws the package's typed error; a message that is a whole
 *     payload (a frame, an envelope, an op) also refuses trailing bytes, so `c.decode` is strict.
 *   - The exported `encodeX` / `decodeX` functions wrap compact-encoding's own errors (truncation)
 *     in that typed error, with the original as its cause.
 *   - Every text field is {@link strictUtf8} (never `c.string`, `c.utf8` or a lenient TextDecoder),
 *     given the package's typed error.
 *   - A whole message is read with {@link decodeCanonical}: one value, one encoding. compact-encoding
 *     reads a uint written in more bytes than it needs (`fd 01 00` for 1) and rounds one above 2^53;
 *     without the check one message would have several encodings (and ids or digests over its bytes
 *     could differ for the same value).
 *
 * The type lives here, in the lowest package, so that every package above names the same one.
 */
import c, { type Encoder, type State } from 'compact-encoding'
import b4a from 'b4a'

export type CompactEncoding<T> = Encoder<T>
export type CompactState = State

/**
 * Text, in every package: UTF-8, decoded strictly. compact-encoding's `c.string` decodes leniently
 * (bytes that are not UTF-8 become U+FFFD) and encodes a lone surrogate as U+FFFD; TextDecoder by
 * default drops a leading U+FEFF. Either way the text read would not be the text written.
 */
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const encoder = new TextEncoder()

/** The text these bytes are in UTF-8, or null if they are not UTF-8. A leading U+FEFF is kept. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictDecoder.decode(bytes)
  } catch {
    return null
  }
}

/** String.prototype.isWellFormed (Node 20+, every current browser), with a fallback: text that UTF-8 can hold as it is. */
export function isWellFormed(s: string): boolean {
  const f = (s as unknown as { isWellFormed?: () => boolean }).isWellFormed
  return f ? f.call(s) : !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
}

/** UTF-8 length of a string (at most 3 bytes per UTF-16 unit, so short strings are not measured). */
export function utf8ByteLength(s: string): number {
  return encoder.encode(s).byteLength
}

/**
 * The one string encoding of Hypha's formats: `c.string`'s wire form (uint length ‖ UTF-8 bytes),
 * but strict both ways, each failure thrown as `fail(message, cause)` (the package's typed error):
 *   - decode refuses bytes that are not UTF-8, a length in more bytes than it needs
 *     ({@link canonicalUint}) and, with `maxBytes`, more than `maxBytes` bytes (checked before
 *     decoding them); a leading U+FEFF is kept.
 *   - preencode (the first pass of `c.encode`) refuses what is not a string and a string with a
 *     lone surrogate (UTF-8 cannot hold it as it is, `c.string` would write U+FFFD). Lengths are the
 *     sender's API to check (with its own error): encoding does not refuse a long string, so tools
 *     and tests can still build over-long messages by hand.
 * Valid text is written exactly as `c.string` writes it.
 */
export function strictUtf8(
  fail: (message: string, cause?: unknown) => Error,
  maxBytes = Number.POSITIVE_INFINITY
): CompactEncoding<string> {
  return {
    preencode(state, s) {
      if (typeof s !== 'string') throw fail('text must be a string')
      if (!isWellFormed(s)) throw fail('text must be well-formed (no lone surrogates)')
      c.string.preencode(state, s)
    },
    encode(state, s) {
      c.string.encode(state, s)
    },
    decode(state) {
      const bytes = canonicalUint8array.decode(state)
      if (bytes.byteLength > maxBytes) throw fail(`text is longer than ${maxBytes} bytes`)
      try {
        return strictDecoder.decode(bytes)
      } catch (err) {
        throw fail('text is not UTF-8', err)
      }
    }
  }
}

/** What a non-canonical field throws; the caller wraps it in its package's typed error. */
const notCanonical = (): Error => new Error('not in canonical form')

/**
 * `c.uint`, whose decode refuses what `c.uint` would not write back byte for byte: a value in more
 * bytes than it needs (`fd 01 00` for 1) or past 2^53 (rounded by the read). For the hot formats
 * (an ephemeral frame, a secure envelope): built only from canonical parts (this, fixed-size
 * fields, {@link strictUtf8}, {@link canonicalUint8array}, a raw tail), a format is canonical by
 * construction and can skip {@link decodeCanonical}'s second encoding and compare.
 */
export const canonicalUint: CompactEncoding<number> = {
  preencode: c.uint.preencode,
  encode: c.uint.encode,
  decode(state) {
    const start = state.start
    const n = c.uint.decode(state)
    const bytes = state.start - start
    if (bytes === 1) return n
    if (bytes === 3 ? n <= 0xfc : bytes === 5 ? n <= 0xffff : n <= 0xffffffff || !roundTrips64(state.buffer!, start + 1, n)) {
      throw notCanonical()
    }
    return n
  }
}

/** Whether the 8 little-endian bytes at `at` are exactly `n` (past 2^53 the read rounds). */
function roundTrips64(buffer: Uint8Array, at: number, n: number): boolean {
  const lo = (buffer[at]! | (buffer[at + 1]! << 8) | (buffer[at + 2]! << 16) | (buffer[at + 3]! << 24)) >>> 0
  const hi = (buffer[at + 4]! | (buffer[at + 5]! << 8) | (buffer[at + 6]! << 16) | (buffer[at + 7]! << 24)) >>> 0
  return Math.floor(n / 0x100000000) === hi && n % 0x100000000 === lo
}

/** `c.uint8array` with its length read by {@link canonicalUint}; the bytes are a view, not a copy. */
export const canonicalUint8array: CompactEncoding<Uint8Array> = {
  preencode: c.uint8array.preencode,
  encode: c.uint8array.encode,
  decode(state) {
    const len = canonicalUint.decode(state)
    if (state.end - state.start < len) throw new Error('Out of bounds')
    return state.buffer!.subarray(state.start, (state.start += len))
  }
}

/**
 * `c.decode(encoding, bytes)`, refusing bytes that are not the one encoding of what they decode to
 * (re-encoded, they must come back byte for byte): a uint in more bytes than it needs, a number
 * past 2^53 (rounded), trailing bytes an encoding ignores, flag bits it drops. Throws compact-
 * encoding's own error for truncation and `Error('not in canonical form')` otherwise: the caller
 * wraps either in its package's typed error.
 */
export function decodeCanonical<T>(encoding: CompactEncoding<T>, bytes: Uint8Array): T {
  const value = c.decode(encoding, bytes)
  const again = c.encode(encoding, value)
  // b4a.equals (a native compare): a per-byte `every` costs ~100 µs on a 1 KiB envelope.
  if (!b4a.equals(again, bytes)) throw new Error('not in canonical form')
  return value
}
