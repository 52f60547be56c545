// The shim against sodium-native (libsodium itself), byte for byte, in Node.
import { describe, it, expect } from 'vitest'
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js'
import shim, * as shimExports from '../src/sodium-shim.js'

// sodium-universal resolves to sodium-native in Node; node-core depends on it.
const nodeCoreRequire = createRequire(new URL('../../node-core/package.json', import.meta.url))
const native = nodeCoreRequire('sodium-universal') as Record<string, (...args: Uint8Array[]) => unknown>
const javascript = createRequire(import.meta.url)('sodium-javascript') as Record<string, unknown>

const L = ed25519.Point.Fn.ORDER
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

function le(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn)
  return out
}

/** Runs fn against both implementations: what it returned, or that it threw. */
function both<T>(fn: (sodium: Record<string, any>) => T): { native: T | 'threw'; shim: T | 'threw' } {
  const run = (sodium: Record<string, any>) => {
    try {
      return fn(sodium)
    } catch {
      return 'threw' as const
    }
  }
  return { native: run(native), shim: run(shim) }
}

function nativeKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const publicKey = new Uint8Array(32)
  const secretKey = new Uint8Array(64)
  native.crypto_sign_keypair!(publicKey, secretKey)
  return { publicKey, secretKey }
}

function sign(sodium: Record<string, any>, message: Uint8Array, secretKey: Uint8Array): string {
  const sig = new Uint8Array(64)
  sodium.crypto_sign_detached(sig, message, secretKey)
  return hex(sig)
}

function scalarmult(name: string, n: Uint8Array, p?: Uint8Array) {
  return both((sodium) => {
    const q = new Uint8Array(32)
    if (p) sodium[name](q, n, p)
    else sodium[name](q, n)
    return hex(q)
  })
}

describe('sodium shim', () => {
  it('is sodium-javascript plus the ed25519 functions', () => {
    expect(shim.crypto_secretbox_easy).toBe(javascript.crypto_secretbox_easy)
    expect(javascript.crypto_scalarmult_ed25519_noclamp).toBeUndefined()
    expect(shim.crypto_scalarmult_ed25519_noclamp).toBe(shimExports.crypto_scalarmult_ed25519_noclamp)
    expect(shim.crypto_sign_detached).toBe(shimExports.crypto_sign_detached)
    expect(shim.crypto_generichash).toBe(shimExports.crypto_generichash)
    expect(shim.crypto_generichash_batch).toBe(shimExports.crypto_generichash_batch)
    expect(shim.crypto_hash_sha512).toBe(javascript.crypto_hash_sha512)
    for (const name of ['BYTES_MIN', 'BYTES_MAX', 'KEYBYTES_MIN', 'KEYBYTES_MAX']) {
      expect((shimExports as Record<string, unknown>)[`crypto_generichash_${name}`]).toBe(native[`crypto_generichash_${name}`])
    }
    expect(shim.crypto_scalarmult_ed25519_BYTES).toBe(native.crypto_scalarmult_ed25519_BYTES)
    expect(shim.crypto_scalarmult_ed25519_SCALARBYTES).toBe(native.crypto_scalarmult_ed25519_SCALARBYTES)
  })

  it('derives key pairs, signs and verifies byte-identically to sodium-native', () => {
    for (let i = 0; i < 100; i++) {
      const seed = randomBytes(32)
      const keys = both((sodium) => {
        const pk = new Uint8Array(32)
        const sk = new Uint8Array(64)
        sodium.crypto_sign_seed_keypair(pk, sk, seed)
        return { pk: hex(pk), sk: hex(sk) }
      })
      expect(keys.shim).toEqual(keys.native)
      const { publicKey, secretKey } = nativeKeyPair()
      native.crypto_sign_seed_keypair!(publicKey, secretKey, seed)
      const message = randomBytes(i * 13)
      const sigs = both((sodium) => sign(sodium, message, secretKey))
      expect(sigs.shim).toBe(sigs.native)
      const sig = Buffer.from(sigs.native as string, 'hex')
      expect(shim.crypto_sign_verify_detached(sig, message, publicKey)).toBe(true)
    }
  })

  it('keypair() makes working random keys', () => {
    const pk = new Uint8Array(32)
    const sk = new Uint8Array(64)
    shim.crypto_sign_keypair(pk, sk)
    const again = new Uint8Array(32)
    native.crypto_sign_seed_keypair!(again, new Uint8Array(64), sk.subarray(0, 32))
    expect(hex(pk)).toBe(hex(again))
    expect(hex(sk.subarray(32))).toBe(hex(pk))
  })

  it('signs with the public half of the secret key, as libsodium does', () => {
    const a = nativeKeyPair()
    const b = nativeKeyPair()
    const odd = new Uint8Array(64)
    odd.set(a.secretKey.subarray(0, 32))
    odd.set(b.publicKey, 32)
    const message = randomBytes(40)
    const sigs = both((sodium) => sign(sodium, message, odd))
    expect(sigs.shim).toBe(sigs.native)
  })

  it('rejects exactly what sodium-native rejects', () => {
    const { publicKey, secretKey } = nativeKeyPair()
    const message = randomBytes(64)
    const sig = new Uint8Array(64)
    native.crypto_sign_detached!(sig, message, secretKey)
    const verify = (s: Uint8Array, m: Uint8Array, pk: Uint8Array) =>
      both((sodium) => sodium.crypto_sign_verify_detached(s, m, pk) as boolean)

    const cases: Array<[string, Uint8Array, Uint8Array, Uint8Array]> = []
    cases.push(['valid', sig, message, publicKey])
    for (let i = 0; i < 20; i++) {
      const s = sig.slice()
      s[i * 3]! ^= 1 << (i % 8)
      cases.push([`flipped signature bit ${i}`, s, message, publicKey])
      const m = Uint8Array.from(message)
      m[i]! ^= 1
      cases.push([`changed message ${i}`, sig, m, publicKey])
      cases.push([`random public key ${i}`, sig, message, randomBytes(32)])
      cases.push([`random signature ${i}`, randomBytes(64), message, publicKey])
    }
    // s + L: the same scalar, not reduced
    const sPlusL = sig.slice()
    let s = 0n
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!)
    sPlusL.set(le(s + L), 32)
    cases.push(['s + L', sPlusL, message, publicKey])
    // small-order public keys (and a signature that noble's cofactored check would accept)
    for (const t of ED25519_TORSION_SUBGROUP) {
      const pk = Buffer.from(t, 'hex')
      const forged = new Uint8Array(64)
      forged.set(pk, 0)
      cases.push([`small-order key ${t.slice(0, 8)}`, forged, message, pk])
    }
    // non-canonical encoding of a public key (y + p, where it still fits)
    cases.push(['non-canonical key', sig, message, Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex')])

    for (const [name, s, m, pk] of cases) {
      const result = verify(s, m, pk)
      expect(result.shim, name).toBe(result.native)
    }
    expect(verify(sig, message, publicKey).shim).toBe(true)
  })

  it('leaves its inputs alone (Buffer#slice is a view: a copy-by-slice would clamp the caller\'s scalar)', () => {
    const n = Buffer.alloc(32, 0xff)
    const q = new Uint8Array(32)
    shim.crypto_scalarmult_ed25519_base(q, n)
    shim.crypto_scalarmult_ed25519_noclamp(q, n, nativeKeyPair().publicKey)
    expect(hex(n)).toBe('ff'.repeat(32))
  })

  it('verifies cofactorless, like libsodium: keys with a torsion component', () => {
    // A' = aB + T (T of order 8). A signature s = r + k·a passes the cofactored check (what
    // noble's own verify does) for every k, libsodium's only when k·T = 0 (k ≡ 0 mod 8).
    const Point = ed25519.Point
    const torsion = Point.fromBytes(Buffer.from(ED25519_TORSION_SUBGROUP[1]!, 'hex'))
    expect(torsion.multiplyUnsafe(8n).is0() && !torsion.multiplyUnsafe(4n).is0()).toBe(true)
    const a = 1n + (BigInt('0x' + randomBytes(31).toString('hex')) % (L - 1n))
    const dirty = Point.BASE.multiply(a).add(torsion).toBytes()
    let nobleAccepted = 0
    let nativeRejected = 0
    for (let i = 0; i < 24; i++) {
      const message = randomBytes(32)
      const r = 1n + (BigInt('0x' + randomBytes(31).toString('hex')) % (L - 1n))
      const R = Point.BASE.multiply(r).toBytes()
      const h = Buffer.alloc(64)
      native.crypto_hash_sha512!(h, Buffer.concat([R, dirty, message]))
      let k = 0n
      for (let j = 63; j >= 0; j--) k = (k << 8n) | BigInt(h[j]!)
      const sig = Buffer.concat([R, le((r + (k % L) * a) % L)])
      const result = both((sodium) => sodium.crypto_sign_verify_detached(sig, message, dirty) as boolean)
      expect(result.shim).toBe(result.native)
      if (ed25519.verify(sig, message, dirty, { zip215: false })) nobleAccepted++
      if (result.native === false) nativeRejected++
    }
    expect(nobleAccepted).toBe(24)
    expect(nativeRejected).toBeGreaterThan(0)
  })

  it('crypto_scalarmult_ed25519(_noclamp, _base, _base_noclamp) match sodium-native', () => {
    const names = ['crypto_scalarmult_ed25519_noclamp', 'crypto_scalarmult_ed25519']
    const baseNames = ['crypto_scalarmult_ed25519_base_noclamp', 'crypto_scalarmult_ed25519_base']
    const scalars: Uint8Array[] = [
      new Uint8Array(32),
      le(L),
      le(2n * L),
      le(1n),
      le((1n << 255n) - 1n),
      Buffer.alloc(32, 0xff),
      le(L + 5n)
    ]
    for (let i = 0; i < 15; i++) scalars.push(randomBytes(32))
    const points: Uint8Array[] = ED25519_TORSION_SUBGROUP.map((t) => Buffer.from(t, 'hex'))
    points.push(Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex'))
    const torsion = ed25519.Point.fromBytes(Buffer.from(ED25519_TORSION_SUBGROUP[1]!, 'hex'))
    points.push(ed25519.Point.BASE.multiply(12345n).add(torsion).toBytes()) // not in the prime-order subgroup
    for (let i = 0; i < 5; i++) points.push(nativeKeyPair().publicKey, randomBytes(32))

    let succeeded = 0
    let failed = 0
    for (const n of scalars) {
      for (const name of baseNames) {
        const result = scalarmult(name, n)
        expect(result.shim, `${name} ${hex(n)}`).toBe(result.native)
      }
      for (const p of points) {
        for (const name of names) {
          const result = scalarmult(name, n, p)
          expect(result.shim, `${name} ${hex(n)} ${hex(p)}`).toBe(result.native)
          if (result.native === 'threw') failed++
          else succeeded++
        }
      }
    }
    // Both outcomes were exercised.
    expect(succeeded).toBeGreaterThan(50)
    expect(failed).toBeGreaterThan(50)
  })

  // ---- BLAKE2b ----------------------------------------------------------------------------

  const generichash = (sodium: Record<string, any>, outlen: number, input: Uint8Array, key?: Uint8Array | null) => {
    const out = new Uint8Array(outlen)
    sodium.crypto_generichash(out, input, key)
    return hex(out)
  }

  it('BLAKE2b: the RFC 7693 vector, and byte-identical to sodium-native for every output and key length', () => {
    // RFC 7693, appendix A: BLAKE2b-512("abc").
    expect(generichash(shim, 64, new TextEncoder().encode('abc'))).toBe(
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1' +
        '7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923'
    )
    // Every input length up to three blocks (all the block-boundary cases), then random ones,
    // crossed with every output length (16–64) and no key or every key length (16–64).
    for (let i = 0; i < 1500; i++) {
      const input = randomBytes(i <= 400 ? i : Math.floor(Math.random() * 5000))
      const outlen = 16 + (i % 49)
      const key = i % 4 === 0 ? undefined : i % 4 === 1 ? null : randomBytes(16 + ((i * 7) % 49))
      expect(generichash(shim, outlen, input, key)).toBe(generichash(native, outlen, input, key))
    }
    // A large input (many blocks, the counter well past one 32-bit word of bits).
    const big = randomBytes(3 * 1024 * 1024 + 5)
    expect(generichash(shim, 32, big)).toBe(generichash(native, 32, big))
    expect(generichash(shim, 64, big, randomBytes(64).fill(7))).toBe(generichash(native, 64, big, randomBytes(64).fill(7)))
  })

  it('BLAKE2b batch: byte-identical to sodium-native, for hypercore\'s hashes and random splits', () => {
    // hypercore-crypto: leaf = [0, uint64 size, data], parent = [1, uint64 size, left, right],
    // tree = [2, (hash, uint64 index, uint64 size)…], discovery key = keyed 32-byte hash.
    const u64 = (n: number) => {
      const b = Buffer.alloc(8)
      b.writeBigUInt64LE(BigInt(n))
      return b
    }
    for (let i = 0; i < 300; i++) {
      const data = randomBytes(i * 3)
      const cases: Array<[number, Uint8Array[], Uint8Array | undefined]> = [
        [32, [Uint8Array.of(0), u64(data.byteLength), data], undefined],
        [32, [Uint8Array.of(1), u64(i * 1000), randomBytes(32), randomBytes(32)], undefined],
        [32, [Uint8Array.of(2), ...Array.from({ length: i % 9 }, () => [randomBytes(32), u64(i), u64(i * 7)]).flat()], undefined],
        [32, [new TextEncoder().encode('hypercore')], randomBytes(32)],
        [32, [randomBytes(32), randomBytes(32)], undefined] // noise-curve-ed: [epk, pk]
      ]
      // Random splits of a random input, with empty parts, every output and key length.
      const input = randomBytes(Math.floor(Math.random() * 1200))
      const parts: Uint8Array[] = []
      for (let at = 0; at < input.byteLength; ) {
        const n = Math.min(input.byteLength - at, Math.floor(Math.random() * 300))
        parts.push(input.subarray(at, at + n))
        at += n
      }
      cases.push([16 + (i % 49), parts, i % 2 ? randomBytes(16 + (i % 49)) : undefined])
      for (const [outlen, inputs, key] of cases) {
        const out = both((sodium) => {
          const o = new Uint8Array(outlen)
          sodium.crypto_generichash_batch(o, inputs, key)
          return hex(o)
        })
        expect(out.shim).toBe(out.native)
        expect(out.shim).toBe(generichash(native, outlen, Buffer.concat(inputs), key))
      }
    }
  })

  it('BLAKE2b: rejects the output and key lengths sodium-native rejects, and leaves inputs alone', () => {
    const input = randomBytes(100)
    for (const outlen of [0, 1, 15, 16, 32, 64, 65, 128]) {
      const r = both((sodium) => generichash(sodium, outlen, input))
      expect(r.shim).toBe(r.native)
      if (outlen < 16 || outlen > 64) expect(r.shim).toBe('threw')
    }
    for (const keylen of [0, 1, 15, 16, 32, 64, 65]) {
      const key = randomBytes(keylen)
      const r = both((sodium) => generichash(sodium, 32, input, key))
      expect(r.shim).toBe(r.native)
      if (keylen < 16 || keylen > 64) expect(r.shim).toBe('threw')
    }
    // sodium-native's batch passes lengths straight to libsodium: output 1–64, key 0–64 (empty
    // = no key) succeed there, and so here.
    for (const outlen of [0, 1, 8, 15, 16, 64, 65]) {
      for (const keylen of [-1, 0, 1, 15, 16, 64, 65]) {
        const key = keylen < 0 ? undefined : randomBytes(keylen)
        const b = both((sodium) => {
          const o = new Uint8Array(outlen)
          sodium.crypto_generichash_batch(o, [input.subarray(0, 50), input.subarray(50)], key)
          return hex(o)
        })
        expect(b.shim).toBe(b.native)
        expect(b.shim === 'threw').toBe(outlen < 1 || outlen > 64 || keylen > 64)
      }
    }
    const key = randomBytes(32)
    const before = [hex(input), hex(key)]
    generichash(shim, 64, input, key)
    expect([hex(input), hex(key)]).toEqual(before)
    // The output may be the input (hashed in place).
    const inPlace = new Uint8Array(input.subarray(0, 32))
    const expectedHash = generichash(native, 32, inPlace, key)
    shim.crypto_generichash(inPlace, inPlace, key)
    expect(hex(inPlace)).toBe(expectedHash)
  })

  it('verification results are remembered only for exactly the same inputs', () => {
    const { publicKey, secretKey } = nativeKeyPair()
    const other = nativeKeyPair()
    const message = randomBytes(112)
    const sig = new Uint8Array(64)
    native.crypto_sign_detached!(sig, message, secretKey)
    const verify = (s: Uint8Array, m: Uint8Array, pk: Uint8Array) => ({
      shim: shim.crypto_sign_verify_detached(s, m, pk),
      native: native.crypto_sign_verify_detached!(s, m, pk) as boolean
    })
    for (let round = 0; round < 3; round++) {
      expect(verify(sig, message, publicKey)).toEqual({ shim: true, native: true })
      // The same buffers, changed in place after a cached success: never a stale answer.
      for (const [buf, at] of [[message, 5], [sig, 3], [sig, 40], [publicKey, 0]] as const) {
        buf[at]! ^= 1
        expect(verify(sig, message, publicKey)).toEqual({ shim: false, native: false })
        buf[at]! ^= 1
      }
      expect(verify(sig, message, other.publicKey)).toEqual({ shim: false, native: false })
      expect(verify(sig, message.subarray(0, 111), publicKey)).toEqual({ shim: false, native: false })
      // Long messages (not cached) and many distinct entries (the cache evicts).
      const long = randomBytes(5000)
      const longSig = new Uint8Array(64)
      native.crypto_sign_detached!(longSig, long, secretKey)
      expect(verify(longSig, long, publicKey)).toEqual({ shim: true, native: true })
      long[4000]! ^= 1
      expect(verify(longSig, long, publicKey)).toEqual({ shim: false, native: false })
      for (let i = 0; i < 600; i++) {
        const m = randomBytes(i % 50)
        const s = new Uint8Array(64)
        native.crypto_sign_detached!(s, m, secretKey)
        if (i % 3 === 0) s[i % 64]! ^= 1 << (i % 8)
        const r = verify(s, m, publicKey)
        expect(r.shim).toBe(r.native)
      }
    }
  })
})
