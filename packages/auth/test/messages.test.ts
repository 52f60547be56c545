import { describe, it, expect } from 'vitest'
import b4a from 'b4a'
import {
  encodeAuthMessage,
  decodeAuthMessage,
  requestDigest,
  verificationCode,
  commitment,
  AuthMessageError,
  REFUSAL_REASONS,
  type AuthRequest,
  type AuthMessage
} from '@hypha/auth'

const request: AuthRequest = {
  type: 'request',
  requestId: b4a.alloc(16, 1),
  nodeName: 'Firefox on Ubuntu 64-bit',
  writerKey: b4a.alloc(32, 2),
  createdAt: 1_764_000_000_000,
  commitment: commitment(b4a.alloc(32, 8)),
  channelProof: b4a.alloc(64, 13)
}

const hex = (b: Uint8Array) => b4a.toString(b, 'hex')
/** Bytes as hex, so that a Buffer and a Uint8Array with the same bytes compare equal. */
const plain = (v: unknown): unknown =>
  v instanceof Uint8Array ? b4a.toString(v, 'hex') : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v

describe('auth message wire format', () => {
  // uint type ‖ fixed16 requestId ‖ the type's fields (see messages.ts)
  const id = '01'.repeat(16)
  const digest = b4a.alloc(32, 3)
  const vectors: Array<[AuthMessage, string]> = [
    [
      { ...request, nodeName: 'Laptop', commitment: b4a.alloc(32, 8) },
      ['01', id, '06', hex(b4a.from('Laptop')), '02'.repeat(32), 'ff00e897b69a010000', '08'.repeat(32), '0d'.repeat(64)].join('')
    ],
    [{ type: 'approve', requestId: request.requestId, requestDigest: digest, writerKey: b4a.alloc(32, 2) }, ['02', id, '03'.repeat(32), '02'.repeat(32)].join('')],
    [{ type: 'deny', requestId: request.requestId, requestDigest: digest, reason: 'no' }, ['03', id, '03'.repeat(32), '02', '6e6f'].join('')],
    [{ type: 'cancel', requestId: request.requestId, requestDigest: digest }, ['04', id, '03'.repeat(32)].join('')],
    [{ type: 'challenge', requestId: request.requestId, requestDigest: digest, nonce: b4a.alloc(32, 5) }, ['05', id, '03'.repeat(32), '05'.repeat(32)].join('')],
    [
      { type: 'reveal', requestId: request.requestId, requestDigest: digest, approver: b4a.alloc(32, 6), nonce: b4a.alloc(32, 7) },
      ['06', id, '03'.repeat(32), '06'.repeat(32), '07'.repeat(32)].join('')
    ],
    // reason: its number in REFUSAL_REASONS, from 1
    [{ type: 'refuse', requestId: request.requestId, requestDigest: digest, reason: 'too-many-prompts' }, ['07', id, '03'.repeat(32), '02'].join('')],
    [{ type: 'refuse', requestId: request.requestId, requestDigest: digest, reason: 'stale' }, ['07', id, '03'.repeat(32), '06'].join('')],
    [{ type: 'refuse', requestId: request.requestId, requestDigest: digest, reason: 'clock-skew' }, ['07', id, '03'.repeat(32), '07'].join('')]
  ]
  it.each(vectors.map(([m, bytes]) => [m.type, m, bytes] as const))('%s: byte for byte, and back', (_, message, bytes) => {
    expect(hex(encodeAuthMessage(message))).toBe(bytes)
    expect(plain(decodeAuthMessage(b4a.from(bytes, 'hex')))).toEqual(plain(message))
  })
})

describe('auth messages', () => {
  it('round-trip every type', () => {
    const digest = b4a.alloc(32, 3)
    const messages: AuthMessage[] = [
      request,
      { type: 'approve', requestId: request.requestId, requestDigest: digest, writerKey: request.writerKey },
      { type: 'deny', requestId: request.requestId, requestDigest: digest, reason: 'not my device' },
      { type: 'cancel', requestId: request.requestId, requestDigest: digest },
      { type: 'challenge', requestId: request.requestId, requestDigest: digest, nonce: b4a.alloc(32, 5) },
      { type: 'reveal', requestId: request.requestId, requestDigest: digest, approver: b4a.alloc(32, 6), nonce: b4a.alloc(32, 7) },
      ...REFUSAL_REASONS.map((reason) => ({ type: 'refuse' as const, requestId: request.requestId, requestDigest: digest, reason }))
    ]
    for (const m of messages) expect(decodeAuthMessage(encodeAuthMessage(m))).toEqual(m)
  })

  it('rejects truncated, trailing, unknown, empty and over-limit messages with AuthMessageError', () => {
    const bytes = encodeAuthMessage(request)
    const bad = [
      bytes.subarray(0, bytes.byteLength - 1),
      b4a.concat([bytes, b4a.from([0])]),
      b4a.concat([b4a.from([9]), bytes.subarray(1)]),
      new Uint8Array(0),
      encodeAuthMessage({ ...request, nodeName: 'x' }).map((b, i, a) => (i === 17 ? 0 : b)) // empty name
    ]
    for (const frame of bad) expect(() => decodeAuthMessage(frame)).toThrow(AuthMessageError)
    expect(() => encodeAuthMessage({ ...request, nodeName: 'x'.repeat(129) })).toThrow(AuthMessageError)
    expect(() => encodeAuthMessage({ ...request, nodeName: '' })).toThrow(AuthMessageError)
    // A refusal reason outside REFUSAL_REASONS, on the wire or given to encode.
    const refuse = (n: string) => b4a.from(['07', '01'.repeat(16), '03'.repeat(32), n].join(''), 'hex')
    for (const n of ['00', '08', 'fd0001', 'fe01000000']) expect(() => decodeAuthMessage(refuse(n))).toThrow(AuthMessageError)
    expect(() => encodeAuthMessage({ type: 'refuse', requestId: request.requestId, requestDigest: b4a.alloc(32), reason: 'busy' as never })).toThrow(AuthMessageError)
  })

  it('rejects node names and deny reasons that are not UTF-8 with AuthMessageError (never U+FFFD)', () => {
    const id = '01'.repeat(16)
    const lengthPrefixed = (h: string) => b4a.toString(b4a.from([h.length / 2]), 'hex') + h
    for (const text of ['eda080', 'c080', '80', 'e282', 'f4908080', '41ff42']) {
      const requestFrame = ['01', id, lengthPrefixed(text), '02'.repeat(32), '00', '08'.repeat(32), '0d'.repeat(64)].join('')
      const denyFrame = ['03', id, '03'.repeat(32), lengthPrefixed(text)].join('')
      for (const frame of [requestFrame, denyFrame]) {
        let thrown: unknown = null
        try {
          decodeAuthMessage(b4a.from(frame, 'hex'))
        } catch (err) {
          thrown = err
        }
        expect(thrown, frame).toBeInstanceOf(AuthMessageError)
        expect((thrown as AuthMessageError).code).toBe('ERR_BAD_AUTH_MESSAGE')
        expect((thrown as AuthMessageError).cause, frame).toBeInstanceOf(Error) // the decoder's own error
      }
    }
    // Text UTF-8 cannot hold (a lone surrogate) is refused when encoding, not sent as U+FFFD.
    expect(() => encodeAuthMessage({ ...request, nodeName: 'Phone \uD800' })).toThrow(AuthMessageError)
    expect(() => encodeAuthMessage({ type: 'deny', requestId: request.requestId, requestDigest: b4a.alloc(32), reason: '\uDC00' })).toThrow(AuthMessageError)
    // A leading U+FEFF is text like any other: it comes back.
    const bom = decodeAuthMessage(encodeAuthMessage({ ...request, nodeName: '\uFEFFPhone' }))
    expect((bom as AuthRequest).nodeName).toBe('\uFEFFPhone')
  })

  it('survives 5,000 random frames from a fixed seed: each decodes or throws AuthMessageError', () => {
    let seed = 7
    const rand = () => ((seed = (Math.imul(seed, 48271) + 11) >>> 0) / 2 ** 32)
    let rejected = 0
    for (let i = 0; i < 5000; i++) {
      const frame = new Uint8Array(Math.floor(rand() * 120))
      for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(rand() * 256)
      if (frame.length > 0) frame[0] = 1 + (i % 7) // reach every decoder branch
      try {
        decodeAuthMessage(frame)
      } catch (err) {
        expect(err).toBeInstanceOf(AuthMessageError)
        rejected++
      }
    }
    expect(rejected).toBeGreaterThan(4500)
  })

  it('binds answers to the request and its requester; the code depends on both nonces, the request and the approver', () => {
    const requester = b4a.alloc(32, 4)
    const digest = requestDigest(request, requester)
    expect(requestDigest(request, requester)).toEqual(digest)
    expect(requestDigest(request, b4a.alloc(32, 5))).not.toEqual(digest)
    expect(requestDigest({ ...request, writerKey: b4a.alloc(32, 6) }, requester)).not.toEqual(digest)
    expect(requestDigest({ ...request, nodeName: 'Other' }, requester)).not.toEqual(digest)
    expect(requestDigest({ ...request, commitment: commitment(b4a.alloc(32, 9)) }, requester)).not.toEqual(digest)
    const approver = b4a.alloc(32, 10)
    const nA = b4a.alloc(32, 11)
    const nR = b4a.alloc(32, 8)
    const code = verificationCode(digest, approver, nA, nR)
    expect(code).toMatch(/^\d{3} \d{3}$/)
    expect(verificationCode(requestDigest(request, requester), approver, nA, nR)).toBe(code)
    // Changing any input gives another code (checked over many nonces: never all the same).
    const others = Array.from({ length: 50 }, (_, i) => verificationCode(digest, approver, b4a.alloc(32, 100 + i), nR))
    expect(new Set(others).size).toBeGreaterThan(45)
    expect(verificationCode(digest, b4a.alloc(32, 12), nA, nR)).not.toBe(code)
  })
})
