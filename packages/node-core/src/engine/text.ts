/**
 * Text in node-core's formats: every string field is UTF-8 and is decoded strictly. compact-encoding's
 * `c.string` decodes leniently (bytes that are not UTF-8 become U+FFFD), and TextDecoder by default
 * drops a leading U+FEFF: either way the text read is not the text written.
 */
import c from 'compact-encoding'
import type { CompactEncoding } from '@hypha/ephemeral-ext'

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const lenient = new TextDecoder('utf-8', { ignoreBOM: true })

/** The text these bytes are in UTF-8, or null if they are not UTF-8. A leading U+FEFF is kept. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strict.decode(bytes)
  } catch {
    return null
  }
}

/** For bytes that need not be text (keys): U+FFFD for what is not UTF-8, a leading U+FEFF kept. */
export function decodeUtf8Lenient(bytes: Uint8Array): string {
  return lenient.decode(bytes)
}

/**
 * `c.string`'s wire form (uint length ‖ UTF-8 bytes), but decoding throws `fail(message)` for bytes
 * that are not UTF-8: the one string encoding of node-core's formats.
 */
export function utf8String(fail: (message: string) => Error): CompactEncoding<string> {
  return {
    preencode(state, s) {
      c.string.preencode(state, s)
    },
    encode(state, s) {
      c.string.encode(state, s)
    },
    decode(state) {
      const text = decodeUtf8(c.uint8array.decode(state))
      if (text === null) throw fail('text is not UTF-8')
      return text
    }
  }
}

/** String.prototype.isWellFormed (Node 20+, every current browser), with a fallback: text that UTF-8 can hold as it is. */
export function isWellFormed(s: string): boolean {
  const f = (s as unknown as { isWellFormed?: () => boolean }).isWellFormed
  return f ? f.call(s) : !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
}
