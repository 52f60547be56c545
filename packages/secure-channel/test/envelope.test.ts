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
  SecureChannelError,
  ENVELOPE_OVERHEAD_BYTES,
  MAX_CONTENT_TYPE_BYTES,
  PADDING_BUCKETS,
  PADDING_HEADROOM_BYTES,
  paddedLength
} from '@hypha/secure-channel'
import sodium from 'sodium-universal'
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
const HEADER = ['03', '02'.repeat(16), SENDER, '01', '03'.repeat(32), TIMESTAMP, '04'.repeat(24)].join('')
// What the secretbox seals: string 'text/plain' ‖ 'hi' ‖ 0x80, zeros up to the 256-byte class
// plus the 130-byte headroom (PADDING_HEADROOM_BYTES): 386 bytes.
const PLAINTEXT = ['0a', b4a.toString(b4a.from('text/plain'), 'hex'), '6869', '80', '00'.repeat(386 - 14)].join('')
// 386 + 16 bytes (MAC first); its length prefix is the uint fd 9201 (402).
const CIPHERTEXT_PREFIX = 'fd9201'
const CIPHERTEXT = [
  '8d9580236facba99568f870531efc7029b8d14f9b0ab608dcfad8aa0a444271ef416d5cd671a23223f5d0bf800d9fc6a',
  '1cdb18c0c1ee1b61f73b3bfad47e7f264913c8c167abad4d2b46521e76c809c054ac1205665700c19dcfba4ca0a7624e',
  'af4b9958012856f7da17a798ed3285358556f507c8e59736ad8bf094f028f4e2d2e98a7a4e69617841285559c0d0f9a9',
  'dec28a1e4e11613106d0991f9c87ec53e50d4043b72a6413b30cd20574c507bcf25e779c8e106b4249fa18e8ca979be3',
  '35cf549d756544fb161dafba826749b8d20e22fd7668b4d5ab90878bfee3582874a7e8d9bc01e27f425fd74586b6e6c7',
  'd2ecaaa1cbaa7e693be3b52a5013d3c3f9a1d2c45cb6ec210c03e70450d22c7bfe95be0e54ebc685772e67fa2dfe8018',
  'd4d0ccd48928b53f69be3d8d40351ec8dac2c1d0bf3eff45d3b38e3754be9d5d164066b3a6b02c9724e82f7ee1dc2e41',
  '23e31b6aa720737de084c152079bde81ba0613b4a5462dff817b8d8a568def18d0eb0e5164c16693a0bd17b5775ca94b',
  '2cb5cfa6632fe2b409f68161f31cf220737c'
].join('')
const SIGNATURE =
  '1ca32f50069ae6b28220ada490d1c8ed10f3e795160b3fc885c50fa213a1380986fc7a8a581904dd04f5c4d32757ce1e8bf8ada5ddb4af9a61076a1ede286203'
// Checked with Python: hashlib.blake2b(frame[1:-16], key=bytes([6]) * 32, digest_size=16).
const TAG = '43055b0104124c420677a5269abc4519'

/**
 * The same message as sealed before issue 14 (the sealed plaintext padded to 256 bytes, the
 * classes then being sealed sizes): byte for byte what a sender of @hypha/secure-channel 0.1.0
 * sent. Same version, so receivers must still open it (they accept any padding length).
 */
const OLD_CLASS_FRAME = [
  '04',
  ['03', '02'.repeat(16), '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c', '01', '03'.repeat(32), 'ff0068e5cf8b010000', '04'.repeat(24)].join(''),
  'fd1001',
  [
    'cb862deb4a24370e72ac340c322796769b8d14f9b0ab608dcfad8aa0a444271ef416d5cd671a23223f5d0bf800d9fc6a',
    '1cdb18c0c1ee1b61f73b3bfad47e7f264913c8c167abad4d2b46521e76c809c054ac1205665700c19dcfba4ca0a7624e',
    'af4b9958012856f7da17a798ed3285358556f507c8e59736ad8bf094f028f4e2d2e98a7a4e69617841285559c0d0f9a9',
    'dec28a1e4e11613106d0991f9c87ec53e50d4043b72a6413b30cd20574c507bcf25e779c8e106b4249fa18e8ca979be3',
    '35cf549d756544fb161dafba826749b8d20e22fd7668b4d5ab90878bfee3582874a7e8d9bc01e27f425fd74586b6e6c7',
    'd2ecaaa1cbaa7e693be3b52a5013d3c3f9a1d2c45cb6ec210c03e70450d22c7b'
  ].join(''),
  '998413a94e454161aedc36b43fd76b91a0308a38d37d16c048cfb03f4669f6a7a0c28d41af8888678aab3d1e75a0ec53adc828a8bd24409c29e501835e59bd04',
  '2c7ad4144c2c68205a631d51bf920e7b'
].join('')

describe('envelope wire format', () => {
  it('is ttl ‖ header ‖ ciphertext ‖ signature ‖ member tag, byte for byte', () => {
    expect(hex(keyPair.publicKey)).toBe(SENDER)
    expect(hex(encodeHeader({ ...input, version: 3, sender: keyPair.publicKey }))).toBe(HEADER)
    expect(hex(encodeHeader({ ...input, version: 3, sender: keyPair.publicKey, recipient: null }))).toBe(
      ['03', '02'.repeat(16), SENDER, '00', TIMESTAMP, '04'.repeat(24)].join('')
    )
    const frame = sealEnvelope(input)
    expect(hex(frame)).toBe(['04', HEADER, CIPHERTEXT_PREFIX, CIPHERTEXT, SIGNATURE, TAG].join(''))
    // The ciphertext, opened with libsodium directly under BLAKE2b(header, key = channel key), is
    // the padded plaintext byte for byte.
    const boxKey = b4a.alloc(32)
    sodium.crypto_generichash(boxKey, b4a.from(HEADER, 'hex'), channelKey)
    const plain = b4a.alloc(386)
    expect(sodium.crypto_secretbox_open_easy(plain, b4a.from(CIPHERTEXT, 'hex'), input.nonce, boxKey)).toBe(true)
    expect(hex(plain)).toBe(PLAINTEXT)
  })

  it('decodes, verifies and opens what it sealed; assembleEnvelope re-lays the same frame', () => {
    const frame = sealEnvelope(input)
    const env = decodeEnvelope(frame)
    expect(env).toMatchObject({ ttl: 4, version: 3, timestamp: input.timestamp })
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

  it('still opens an envelope padded to the classes of before issue 14 (same version, any padding length)', () => {
    const old = b4a.from(OLD_CLASS_FRAME, 'hex')
    const env = decodeEnvelope(old)
    expect(env.ciphertext.byteLength).toBe(256 + 16)
    expect(hex(env.header)).toBe(HEADER)
    expect(verifyEnvelope(env)).toBe(true)
    expect(verifyMemberTag(env, memberKey)).toBe(true)
    expect(openEnvelope(env, channelKey)).toEqual({ contentType: 'text/plain', payload: b4a.from('hi') })
    // The same message sealed now is longer (256 + 130) but differs only in its padding.
    expect(sealEnvelope(input).byteLength - old.byteLength).toBe(130)
  })

  it('rejects what is not exactly one envelope with EnvelopeDecodeError and a reason', () => {
    const frame = sealEnvelope(input)
    const reasonOf = (bytes: Uint8Array) => {
      try {
        decodeEnvelope(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(EnvelopeDecodeError)
        expect(err).toBeInstanceOf(SecureChannelError) // the package's typed error, with a code
        const { reason, code } = err as EnvelopeDecodeError
        expect(code).toBe(reason === 'malformed' ? 'ERR_MALFORMED_ENVELOPE' : 'ERR_UNSUPPORTED_VERSION')
        return reason
      }
      return 'decoded'
    }
    const v1 = b4a.from(frame)
    v1[1] = 1
    const v2 = b4a.from(frame)
    v2[1] = 2
    const v4 = b4a.from(frame)
    v4[1] = 4
    const badFlags = b4a.from(frame)
    badFlags[1 + 1 + 16 + 32] = 3
    expect(reasonOf(new Uint8Array(0))).toBe('malformed')
    expect(reasonOf(frame.subarray(0, frame.byteLength - 1))).toBe('malformed')
    expect(reasonOf(b4a.concat([frame, b4a.from([0])]))).toBe('malformed')
    expect(reasonOf(v1)).toBe('unsupported-version')
    expect(() => decodeEnvelope(v1)).toThrow(/no member tag/)
    expect(reasonOf(v2)).toBe('unsupported-version')
    expect(() => decodeEnvelope(v2)).toThrow(/version 2 is unpadded/)
    expect(reasonOf(v4)).toBe('unsupported-version')
    expect(reasonOf(badFlags)).toBe('malformed')
    // A ciphertext shorter than its MAC.
    const env = decodeEnvelope(frame)
    expect(reasonOf(assembleEnvelope({ ...env, ciphertext: new Uint8Array(15) }, { signature: env.signature }, { tag: env.tag }))).toBe('malformed')
  })
})

describe('sealed content type', () => {
  it('opens strictly: a content type that is not UTF-8 is malformed (EnvelopeDecodeError, cause kept), not U+FFFD', () => {
    // string contentType = 03 ed a0 80 (a lone surrogate's bytes), then the payload 'hi'; each
    // padded (0x80, zeros) so that only the content type is wrong.
    for (const plain of ['03eda0806869', '01ff', '01c0', '81', '02c328']) {
      const env = decodeEnvelope(sealRaw(channelKey, keyPair, b4a.from(plain + '800000', 'hex')))
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
    const long = decodeEnvelope(sealRaw(channelKey, keyPair, b4a.concat([b4a.from([129]), b4a.alloc(129, 0x78), b4a.from([0x80])])))
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

const sealedLength = (payload: Uint8Array, extra: { recipient?: Uint8Array | null; contentType?: string; maxEnvelopeBytes?: number } = {}) =>
  sealEnvelope({ ...input, ...extra, payload }).byteLength
const ciphertextLength = (frame: Uint8Array) => decodeEnvelope(frame).ciphertext.byteLength
// 'text/plain' takes 11 bytes sealed (its length, then the text); the padding at least 1.
const CONTENT_TYPE_AND_MARKER = 12

describe('padding to size classes', () => {
  it('has the classes 256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB of payload, then multiples of 64 KiB, plus 130 bytes of headroom', () => {
    expect(PADDING_BUCKETS).toEqual([256, 1024, 4096, 16384, 65536])
    // The content type's length prefix, the longest content type (128 bytes) and the marker.
    expect(PADDING_HEADROOM_BYTES).toBe(1 + MAX_CONTENT_TYPE_BYTES + 1)
    const table: Array<[number, number]> = [
      [1, 256],
      [256 + 130, 256],
      [256 + 131, 1024],
      [1024 + 130, 1024],
      [1024 + 131, 4096],
      [4096 + 130, 4096],
      [4096 + 131, 16384],
      [16384 + 131, 65536],
      [65536 + 130, 65536],
      [65536 + 131, 131072],
      [131072 + 131, 196608],
      [16 * 1024 * 1024 + 130, 16 * 1024 * 1024]
    ]
    for (const [unpadded, bucket] of table) expect(paddedLength(unpadded), `${unpadded}`).toBe(bucket + PADDING_HEADROOM_BYTES)
    // A cap (the room maxEnvelopeBytes leaves) stops the padding there, if the content fits under it.
    expect(paddedLength(200, 10_000)).toBe(386)
    expect(paddedLength(5000, 10_000)).toBe(10_000)
    expect(paddedLength(10_000, 10_000)).toBe(10_000)
    expect(paddedLength(10_001, 10_000)).toBe(16384 + 130)
  })

  it('seals a payload of up to each class, with any content type, in that class (a 1 KiB payload as 1 KiB + 130, not 4 KiB)', () => {
    for (const bucket of PADDING_BUCKETS) {
      for (const contentType of ['', 'text/plain', 'x'.repeat(MAX_CONTENT_TYPE_BYTES)]) {
        expect(ciphertextLength(sealEnvelope({ ...input, contentType, payload: b4a.alloc(bucket, 7) })), `${bucket} ${contentType.length}`).toBe(
          bucket + PADDING_HEADROOM_BYTES + 16
        )
      }
    }
    expect(ciphertextLength(sealEnvelope({ ...input, payload: b4a.alloc(1024, 7) }))).toBe(1024 + 130 + 16)
  })

  it('payloads of different sizes within one class make envelopes of one length', () => {
    for (const bucket of PADDING_BUCKETS) {
      const lower = PADDING_BUCKETS[PADDING_BUCKETS.indexOf(bucket) - 1] ?? 0
      const smallest = lower === 0 ? 0 : lower + PADDING_HEADROOM_BYTES + 1 - CONTENT_TYPE_AND_MARKER
      const largest = bucket + PADDING_HEADROOM_BYTES - CONTENT_TYPE_AND_MARKER
      const frames = [smallest, Math.floor((smallest + largest) / 2), largest].map((n) => sealEnvelope({ ...input, payload: b4a.alloc(n, 7) }))
      for (const frame of frames) expect(ciphertextLength(frame), `${bucket}`).toBe(bucket + PADDING_HEADROOM_BYTES + 16)
      expect(new Set(frames.map((f) => f.byteLength)).size, `${bucket}`).toBe(1)
      // One byte more and it is the next class.
      expect(ciphertextLength(sealEnvelope({ ...input, payload: b4a.alloc(largest + 1, 7) }))).toBe(
        paddedLength(bucket + PADDING_HEADROOM_BYTES + 1) + 16
      )
    }
    // The example: 5,000 and 9,000 bytes are both the 16 KiB bucket; 3,000 is 4 KiB.
    expect(sealedLength(b4a.alloc(5000))).toBe(sealedLength(b4a.alloc(9000)))
    expect(sealedLength(b4a.alloc(3000))).toBeLessThan(sealedLength(b4a.alloc(5000)))
    // Past 64 KiB: multiples of 64 KiB.
    expect(sealedLength(b4a.alloc(70_000))).toBe(sealedLength(b4a.alloc(131_000)))
    expect(ciphertextLength(sealEnvelope({ ...input, payload: b4a.alloc(70_000) }))).toBe(131072 + 130 + 16)
    // The content type is inside the padding too: a long one changes nothing while it fits.
    expect(sealedLength(b4a.from('hi'), { contentType: 'x'.repeat(MAX_CONTENT_TYPE_BYTES) })).toBe(sealedLength(b4a.from('hi')))
  })

  it('opens to the exact payload: zeros and 0x80 at its end are the payload’s, not padding', () => {
    const payloads = [
      new Uint8Array(0),
      b4a.from([0]),
      b4a.from([0x80]),
      b4a.from([1, 0x80, 0, 0]),
      b4a.alloc(243 + 130, 0), // fills the 256 class exactly
      b4a.alloc(244 + 130, 0x80), // one more: the 1 KiB class
      b4a.alloc(5000, 0xff),
      b4a.concat([b4a.alloc(70_000, 9), b4a.alloc(10, 0)])
    ]
    for (const payload of payloads) {
      for (const recipient of [null, fill(32, 3)]) {
        const opened = openEnvelope(decodeEnvelope(sealEnvelope({ ...input, payload, recipient })), channelKey)
        expect(opened?.contentType).toBe('text/plain')
        expect(hex(opened!.payload), `${payload.byteLength}`).toBe(hex(payload))
      }
    }
  })

  it('with maxEnvelopeBytes, pads only up to the limit; the channel’s largest payload still fits', () => {
    for (const recipient of [null, fill(32, 3)]) {
      // 10 KiB, the ephemeral extension's default: 5,000 and 9,000 bytes both fill it exactly.
      expect(sealedLength(b4a.alloc(5000), { recipient, maxEnvelopeBytes: 10_240 })).toBe(10_240)
      expect(sealedLength(b4a.alloc(9000), { recipient, maxEnvelopeBytes: 10_240 })).toBe(10_240)
      // Below the limit, the buckets as usual.
      expect(sealedLength(b4a.alloc(100), { recipient, maxEnvelopeBytes: 10_240 })).toBe(sealedLength(b4a.alloc(100), { recipient }))
      // The largest payload a channel allows with this limit, with the longest content type.
      const max = 10_240 - ENVELOPE_OVERHEAD_BYTES - 1 - MAX_CONTENT_TYPE_BYTES
      const payload = b4a.alloc(max, 0x80)
      const frame = sealEnvelope({ ...input, payload, recipient, contentType: 'x'.repeat(128), maxEnvelopeBytes: 10_240 })
      expect(frame.byteLength).toBeLessThanOrEqual(10_240)
      expect(hex(openEnvelope(decodeEnvelope(frame), channelKey)!.payload)).toBe(hex(payload))
      // What cannot fit even unpadded is refused, not sent oversized.
      expect(() => sealEnvelope({ ...input, recipient, payload: b4a.alloc(10_240), maxEnvelopeBytes: 10_240 })).toThrow(
        expect.objectContaining({ code: 'ERR_PAYLOAD_TOO_LARGE' })
      )
    }
    // Around the ciphertext length prefix's step from 3 to 5 bytes (65,535), the frame stays within
    // the limit and fills it but for at most the 2 bytes the step costs (up to 65,720: from 65,851
    // on, the 64 KiB class fits whole, its 130 bytes of headroom included).
    for (let limit = 65_600; limit <= 65_720; limit++) {
      const length = sealedLength(b4a.alloc(30_000), { recipient: null, maxEnvelopeBytes: limit })
      expect(length, `${limit}`).toBeLessThanOrEqual(limit)
      expect(length, `${limit}`).toBeGreaterThanOrEqual(limit - 2)
    }
  })

  it('refuses broken padding as malformed and altered padding as a failed decryption', () => {
    const malformed = (plain: string) => {
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
    }
    const content = '0178' + '6869' // content type 'x', payload 'hi'
    malformed(content) // no padding at all
    malformed(content + '0000') // zeros, no marker
    malformed(content + '8001') // something after the marker
    malformed(content + '81') // not the marker
    malformed('00'.repeat(256)) // all zeros
    malformed('') // nothing
    malformed('80') // the marker, but no content type before it
    // Well-formed padding of any length opens (a receiver cannot know the sender's limit).
    const ok = openEnvelope(decodeEnvelope(sealRaw(channelKey, keyPair, b4a.from(content + '80' + '00'.repeat(5), 'hex'))), channelKey)
    expect(ok).toEqual({ contentType: 'x', payload: b4a.from('hi') })

    // The padding is inside the secretbox: changing one byte of it, even re-signed and re-tagged, fails the MAC.
    const env = decodeEnvelope(sealEnvelope(input))
    for (const at of [20, 100, env.ciphertext.byteLength - 1]) {
      const ciphertext = b4a.from(env.ciphertext)
      ciphertext[at]! ^= 1
      const altered = decodeEnvelope(assembleEnvelope({ ...env, ciphertext }, { secretKey: keyPair.secretKey }, { memberKey }))
      expect(verifyEnvelope(altered)).toBe(true)
      expect(openEnvelope(altered, channelKey), `${at}`).toBeNull()
    }
    // Cutting the padding off (a shorter ciphertext) fails the same way.
    const cut = decodeEnvelope(assembleEnvelope({ ...env, ciphertext: env.ciphertext.subarray(0, 16 + 20) }, { secretKey: keyPair.secretKey }, { memberKey }))
    expect(openEnvelope(cut, channelKey)).toBeNull()
  })
})

describe('one encoding per envelope', () => {
  it('refuses flags of 2^32 (a mask would read them as 0) and a timestamp in more bytes than it needs', () => {
    const frame = sealEnvelope(input)
    const env = decodeEnvelope(frame)
    // The flags sit after ttl, version, id (16) and sender (32): 1 byte, 0 or 1 (a recipient).
    const at = 1 + 1 + 16 + 32
    const flags = frame[at]!
    expect(flags).toBe(env.recipient ? 1 : 0)
    // The same low bits with 2^32 added, as a uint64; and the same value in three bytes.
    const wide = b4a.concat([frame.subarray(0, at), b4a.from([0xff, flags, 0, 0, 0, 1, 0, 0, 0]), frame.subarray(at + 1)])
    expect(() => decodeEnvelope(wide)).toThrow(EnvelopeDecodeError)
    const padded = b4a.concat([frame.subarray(0, at), b4a.from([0xfd, flags, 0]), frame.subarray(at + 1)])
    expect(() => decodeEnvelope(padded)).toThrow(EnvelopeDecodeError)
  })
})
