import { describe, it, expect } from 'vitest'
import b4a from 'b4a'
import { encodeFrame, decodeFrame, EphemeralError, type EphemeralErrorCode } from '@hypha/ephemeral-ext'

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
    expect(codeOf(new Uint8Array(200), 0)).toBe('ERR_FRAME_TOO_LARGE')
    // A truncated frame keeps the compact-encoding error as its cause.
    try {
      decodeFrame(ok.subarray(0, 3), 1024)
    } catch (err) {
      expect((err as Error).cause).toBeInstanceOf(Error)
    }
  })
})
