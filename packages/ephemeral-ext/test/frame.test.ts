import { describe, it, expect } from 'vitest'
import b4a from 'b4a'
import c from 'compact-encoding'
import { encodeFrame, decodeFrame, canonicalUint, decodeCanonical, EphemeralError, type EphemeralErrorCode } from '@hypha/ephemeral-ext'

const hex = (b: Uint8Array) => b4a.toString(b, 'hex')
/** Bytes as hex, so that a Buffer and a Uint8Array with the same bytes compare equal. */
const plain = (v: unknown): unknown =>
  v instanceof Uint8Array ? b4a.toString(v, 'hex') : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v

function codeOf(bytes: Uint8Array, max = 1024): EphemeralErrorCode {
  try {
    decodeFrame(bytes, max)
  } catch (err) {
    expect(err).toBeInstanceOf(EphemeralError)
    return (err as EphemeralError).code
  }
  throw new Error('decoded')
}

describe('frame wire format', () => {
  it('is uint version ‖ string contentType ‖ uint8array payload, and round-trips', () => {
    const frame = { contentType: 'text/plain', payload: b4a.from('hi') }
    const bytes = encodeFrame(frame)
    expect(hex(bytes)).toBe(['01', '0a', hex(b4a.from('text/plain')), '02', '6869'].join(''))
    expect(plain(decodeFrame(bytes, 1024))).toEqual(plain(frame))
    expect(plain(decodeFrame(encodeFrame({ contentType: 'a', payload: new Uint8Array(0) }), 0))).toEqual({ contentType: 'a', payload: '' })
  })

  it('rejects what is not exactly one frame within the limits, with a typed code', () => {
    const ok = encodeFrame({ contentType: 'a/b', payload: b4a.from('xyz') })
    expect(codeOf(new Uint8Array(0))).toBe('ERR_MALFORMED_FRAME')
    expect(codeOf(ok.subarray(0, ok.byteLength - 1))).toBe('ERR_MALFORMED_FRAME')
    expect(codeOf(b4a.concat([ok, b4a.from([0])]))).toBe('ERR_MALFORMED_FRAME')
    expect(codeOf(b4a.concat([b4a.from([2]), ok.subarray(1)]))).toBe('ERR_UNSUPPORTED_VERSION')
    expect(codeOf(encodeFrame({ contentType: '', payload: b4a.from('x') }))).toBe('ERR_CONTENT_TYPE_INVALID')
    expect(codeOf(encodeFrame({ contentType: 'x'.repeat(129), payload: b4a.from('x') }))).toBe('ERR_CONTENT_TYPE_INVALID')
    expect(codeOf(ok, 2)).toBe('ERR_PAYLOAD_TOO_LARGE')
    // A content type that is not UTF-8 (a lone surrogate's bytes ED A0 80) is refused, not read as U+FFFD.
    expect(codeOf(b4a.from('0103eda08000', 'hex'))).toBe('ERR_CONTENT_TYPE_INVALID')
    expect(codeOf(new Uint8Array(200), 0)).toBe('ERR_FRAME_TOO_LARGE')
    // A truncated frame keeps the compact-encoding error as its cause.
    try {
      decodeFrame(ok.subarray(0, 3), 1024)
    } catch (err) {
      expect((err as Error).cause).toBeInstanceOf(Error)
    }
  })
})

describe('content type text', () => {
  it('decodes strictly: bytes that are not UTF-8 are refused with the cause kept; a leading U+FEFF is kept', () => {
    for (const bad of ['0103eda08000', '0101ff00', '0102c3280178', '0101c000']) {
      let caught: unknown
      try {
        decodeFrame(b4a.from(bad, 'hex'), 1024)
      } catch (err) {
        caught = err
      }
      expect(caught, bad).toBeInstanceOf(EphemeralError)
      expect((caught as EphemeralError).code, bad).toBe('ERR_CONTENT_TYPE_INVALID')
      expect((caught as EphemeralError).cause, bad).toBeInstanceOf(Error)
    }
    const bom = encodeFrame({ contentType: '\uFEFFa/b', payload: b4a.from('x') })
    expect(hex(bom)).toBe('0106efbbbf612f620178')
    expect(decodeFrame(bom, 1024).contentType).toBe('\uFEFFa/b')
    expect(decodeFrame(encodeFrame({ contentType: 'ü/😀', payload: new Uint8Array(0) }), 0).contentType).toBe('ü/😀')
  })

  it('refuses a lone surrogate at encode instead of writing U+FFFD', () => {
    expect(() => encodeFrame({ contentType: 'a\uD800', payload: b4a.from('x') })).toThrow(
      expect.objectContaining({ code: 'ERR_CONTENT_TYPE_INVALID' })
    )
  })
})

describe('one encoding per frame', () => {
  it('refuses a length or version in more bytes than it needs (the same frame would have several encodings)', () => {
    expect(decodeFrame(b4a.from('01016100', 'hex'), 1024).contentType).toBe('a')
    for (const bad of ['01fd01006100', 'fd01000161' + '00', '0101' + '61' + 'fd0000']) {
      expect(() => decodeFrame(b4a.from(bad, 'hex'), 1024), bad).toThrow(EphemeralError)
    }
  })
})

describe('canonicalUint', () => {
  // What decodeCanonical (decode, encode again, compare) accepts, canonicalUint accepts alone.
  const agrees = (bytes: string) => {
    const viaCanonical = (() => { try { return decodeCanonical(c.uint, b4a.from(bytes, 'hex')) } catch { return 'refused' } })()
    const direct = (() => { try { return c.decode(canonicalUint, b4a.from(bytes, 'hex')) } catch { return 'refused' } })()
    expect(direct, bytes).toBe(viaCanonical)
    return direct
  }

  it('refuses a value in more bytes than it needs and a 9-byte value the read rounds, as decodeCanonical does', () => {
    expect(agrees('fc')).toBe(0xfc)
    expect(agrees('fdfd00')).toBe(0xfd)
    expect(agrees('fdfc00')).toBe('refused')
    expect(agrees('fe00000100')).toBe(0x10000)
    expect(agrees('feffff0000')).toBe('refused')
    expect(agrees('ff0000000001000000')).toBe(2 ** 32)
    expect(agrees('ffffffffff00000000')).toBe('refused')
    expect(agrees('ff0000000000002000')).toBe(2 ** 53) // exact
    expect(agrees('ff0100000000002000')).toBe('refused') // 2^53 + 1 reads as 2^53
    expect(agrees('fd01')).toBe('refused') // truncated
  })
})
