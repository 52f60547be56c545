import { describe, it, expect } from 'vitest'
import b4a from 'b4a'
import {
  sealEnvelope,
  encodeHeader,
  decodeEnvelope,
  verifyEnvelope,
  openEnvelope,
  assembleEnvelope,
  createKeyPair,
  verifyMemberTag,
  EnvelopeDecodeError,
  SecureChannelError
} from '@hypha/secure-channel'
import { sealRaw } from './helpers.js'

const hex = (b: Uint8Array) => b4a.toString(b, 'hex')
const fill = (n: number, v: number) => b4a.alloc(n, v)

// Everything fixed: ed25519 signatures and secretbox are deterministic, so the frame is too.
const keyPair = createKeyPair(fill(32, 1))
const channelKey = fill(32, 5)
const memberKey = fill(32, 6)
const input = {
  channelKey,
  memberKey,
  keyPair,
  contentType: 'text/plain',
  payload: b4a.from('hi'),
  ttl: 4,
  recipient: fill(32, 3),
  timestamp: 1_700_000_000_000,
  id: fill(16, 2),
  nonce: fill(24, 4)
}
const SENDER = '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c'
const TIMESTAMP = 'ff0068e5cf8b010000' // uint, 9 bytes
const HEADER = ['02', '02'.repeat(16), SENDER, '01', '03'.repeat(32), TIMESTAMP, '04'.repeat(24)].join('')
const CIPHERTEXT = '617ea2d72b7aa34e3d6d9c5c5808b4e0cc76ee230c70da8fdba40dfab2'
const SIGNATURE =
  '4dbd3f8bff87eed52373b9023d50bf75260856b3d7a44c09fd94cb8fe1fdc8fb0ac3f4af731eab18ac9799817377ba54e440e55d03600b8f28d95d7134491607'
// Checked with Python: hashlib.blake2b(frame[1:-16], key=bytes([6]) * 32, digest_size=16).
const TAG = '36940327478ffc40166f7f1f667a79ea'

describe('envelope wire format', () => {
  it('is ttl ‖ header ‖ ciphertext ‖ signature ‖ member tag, byte for byte', () => {
    expect(hex(keyPair.publicKey)).toBe(SENDER)
    expect(hex(encodeHeader({ ...input, version: 2, sender: keyPair.publicKey }))).toBe(HEADER)
    expect(hex(encodeHeader({ ...input, version: 2, sender: keyPair.publicKey, recipient: null }))).toBe(
      ['02', '02'.repeat(16), SENDER, '00', TIMESTAMP, '04'.repeat(24)].join('')
    )
    const frame = sealEnvelope(input)
    expect(hex(frame)).toBe(['04', HEADER, '1d', CIPHERTEXT, SIGNATURE, TAG].join(''))
  })

  it('decodes, verifies and opens what it sealed; assembleEnvelope re-lays the same frame', () => {
    const frame = sealEnvelope(input)
    const env = decodeEnvelope(frame)
    expect(env).toMatchObject({ ttl: 4, version: 2, timestamp: input.timestamp })
    expect(hex(env.id)).toBe(hex(input.id))
    expect(hex(env.recipient!)).toBe(hex(input.recipient))
    expect(hex(env.header)).toBe(HEADER)
    expect(hex(env.signed)).toBe(hex(frame.subarray(1, frame.byteLength - 80)))
    expect(hex(env.tagged)).toBe(hex(frame.subarray(1, frame.byteLength - 16)))
    expect(hex(env.tag)).toBe(TAG)
    expect(verifyEnvelope(env)).toBe(true)
    expect(verifyMemberTag(env, memberKey)).toBe(true)
    expect(verifyMemberTag(env, channelKey)).toBe(false)
    // The ttl is outside the tag, like the signature: relays change it.
    expect(verifyMemberTag(decodeEnvelope(b4a.concat([b4a.from([1]), frame.subarray(1)])), memberKey)).toBe(true)
    expect(openEnvelope(env, channelKey)).toEqual({ contentType: 'text/plain', payload: b4a.from('hi') })
    expect(hex(assembleEnvelope(env, { secretKey: keyPair.secretKey }, { memberKey }))).toBe(hex(frame))
    expect(hex(assembleEnvelope(env, { signature: env.signature }, { tag: env.tag }))).toBe(hex(frame))
    const noRecipient = decodeEnvelope(sealEnvelope({ ...input, recipient: null, ttl: 0 }))
    expect(noRecipient.recipient).toBeNull()
    expect(noRecipient.ttl).toBe(0)
  })

  it('rejects what is not exactly one envelope with EnvelopeDecodeError and a reason', () => {
    const frame = sealEnvelope(input)
    const reasonOf = (bytes: Uint8Array) => {
      try {
        decodeEnvelope(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(EnvelopeDecodeError)
        return (err as EnvelopeDecodeError).reason
      }
      return 'decoded'
    }
    const v1 = b4a.from(frame)
    v1[1] = 1
    const v3 = b4a.from(frame)
    v3[1] = 3
    const badFlags = b4a.from(frame)
    badFlags[1 + 1 + 16 + 32] = 3
    expect(reasonOf(new Uint8Array(0))).toBe('malformed')
    expect(reasonOf(frame.subarray(0, frame.byteLength - 1))).toBe('malformed')
    expect(reasonOf(b4a.concat([frame, b4a.from([0])]))).toBe('malformed')
    expect(reasonOf(v1)).toBe('unsupported-version')
    expect(() => decodeEnvelope(v1)).toThrow(/no member tag/)
    expect(reasonOf(v3)).toBe('unsupported-version')
    expect(reasonOf(badFlags)).toBe('malformed')
    // A ciphertext shorter than its MAC.
    const env = decodeEnvelope(frame)
    expect(reasonOf(assembleEnvelope({ ...env, ciphertext: new Uint8Array(15) }, { signature: env.signature }, { tag: env.tag }))).toBe('malformed')
  })
})

describe('sealed content type', () => {
  it('opens strictly: a content type that is not UTF-8 is malformed (EnvelopeDecodeError, cause kept), not U+FFFD', () => {
    // string contentType = 03 ed a0 80 (a lone surrogate's bytes), then the payload 'hi'.
    for (const plain of ['03eda0806869', '01ff', '01c0', '81', '02c328']) {
      const env = decodeEnvelope(sealRaw(channelKey, keyPair, b4a.from(plain, 'hex')))
      expect(verifyEnvelope(env)).toBe(true)
      let caught: unknown
      try {
        openEnvelope(env, channelKey)
      } catch (err) {
        caught = err
      }
      expect(caught, plain).toBeInstanceOf(EnvelopeDecodeError)
      expect((caught as EnvelopeDecodeError).reason, plain).toBe('malformed')
      expect((caught as EnvelopeDecodeError).cause, plain).toBeInstanceOf(Error)
    }
    // Too long for any sender: 129 bytes.
    const long = decodeEnvelope(sealRaw(channelKey, keyPair, b4a.concat([b4a.from([129]), b4a.alloc(129, 0x78)])))
    expect(() => openEnvelope(long, channelKey)).toThrow(EnvelopeDecodeError)
    // The wrong key is still null, not an error.
    expect(openEnvelope(decodeEnvelope(sealRaw(channelKey, keyPair, b4a.from('03eda080', 'hex'))), fill(32, 6))).toBeNull()
    // A leading U+FEFF is kept.
    const bom = decodeEnvelope(sealEnvelope({ ...input, contentType: '\uFEFFx' }))
    expect(openEnvelope(bom, channelKey)!.contentType).toBe('\uFEFFx')
  })

  it('sealEnvelope refuses a content type receivers would refuse', () => {
    for (const contentType of ['a\uD800', '\uDC00', 'x'.repeat(129), 7 as unknown as string]) {
      expect(() => sealEnvelope({ ...input, contentType })).toThrow(SecureChannelError)
      expect(() => sealEnvelope({ ...input, contentType })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    }
    expect(() => sealEnvelope({ ...input, contentType: 'x'.repeat(128) })).not.toThrow()
  })
})
