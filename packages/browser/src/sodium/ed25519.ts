/**
 * ed25519 for the shim, from @noble/curves, following libsodium to the byte: signatures
 * (crypto_sign_*_keypair, _detached, _verify_detached, with the verification cache) and scalar
 * multiplication (crypto_scalarmult_ed25519*), which sodium-javascript 0.8 lacks.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import sodiumJs from './sodium-javascript.js'
import { checkLength, fail } from './checks.js'

const Point = ed25519.Point
const BASE = Point.BASE
const L = Point.Fn.ORDER

export const crypto_scalarmult_ed25519_BYTES = 32
export const crypto_scalarmult_ed25519_SCALARBYTES = 32

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}

function scalarBytes(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}

function sha512(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.byteLength
  const input = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    input.set(part, at)
    at += part.byteLength
  }
  const out = new Uint8Array(64)
  sodiumJs.crypto_hash_sha512(out, input)
  return out
}

function sha512ModL(...parts: Uint8Array[]): bigint {
  return littleEndian(sha512(...parts)) % L
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let diff = 0
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

type EdPoint = ReturnType<typeof Point.fromBytes>

/** A canonical, on-curve, not small-order encoding, or null (libsodium's checks on public keys). */
function decodePublicPoint(bytes: Uint8Array): EdPoint | null {
  let point: EdPoint
  try {
    point = Point.fromBytes(bytes, false) // strict: y < p, on the curve
  } catch {
    return null
  }
  return point.isSmallOrder() ? null : point
}

function multiplyScalar(point: EdPoint, scalar: bigint, secret: boolean): EdPoint {
  if (scalar === 0n) return Point.ZERO
  return secret ? point.multiply(scalar) : point.multiplyUnsafe(scalar)
}

// ---- ed25519 signatures -------------------------------------------------------------------

export function crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void {
  checkLength(publicKey, 32, 'pk')
  checkLength(secretKey, 64, 'sk')
  checkLength(seed, 32, 'seed')
  const seedCopy = new Uint8Array(seed)
  const pub = ed25519.getPublicKey(seedCopy)
  secretKey.set(seedCopy, 0)
  secretKey.set(pub, 32)
  publicKey.set(pub)
}

export function crypto_sign_keypair(publicKey: Uint8Array, secretKey: Uint8Array): void {
  const seed = new Uint8Array(32)
  sodiumJs.randombytes_buf(seed)
  crypto_sign_seed_keypair(publicKey, secretKey, seed)
}

/** libsodium's ed25519 signature: the public key is taken from the secret key's second half. */
export function crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void {
  checkLength(signature, 64, 'sig')
  checkLength(message, -1, 'm')
  checkLength(secretKey, 64, 'sk')
  const h = sha512(secretKey.subarray(0, 32))
  const head = h.slice(0, 32)
  head[0]! &= 248
  head[31]! &= 127
  head[31]! |= 64
  const a = littleEndian(head) % L
  const r = sha512ModL(h.subarray(32, 64), message)
  const R = multiplyScalar(BASE, r, true).toBytes()
  const k = sha512ModL(R, secretKey.subarray(32, 64), message)
  const s = (r + k * a) % L
  signature.set(R, 0)
  signature.set(scalarBytes(s), 32)
}

// Verification is a pure function of (signature, public key, message), and hypercore and Autobase
// verify the same few signatures over and over: a read-only node catching up on 3,000 entries made
// about 10,000 verify calls for 13 distinct (signature, key, message) triples (Autobase's Signer
// re-checks the indexer's checkpoint signature on every update). In Node that costs microseconds
// each; here a verification costs about half a millisecond. So results for short messages are
// remembered, keyed by the exact bytes of all three inputs (no hash: two different inputs never
// share an entry), in a small least-recently-used map.
const VERIFY_CACHE_MAX_MESSAGE = 1024
const VERIFY_CACHE_SIZE = 512
const verifyCache = new Map<string, boolean>()

function bytesKey(signature: Uint8Array, publicKey: Uint8Array, message: Uint8Array): string {
  let key = ''
  for (const part of [signature, publicKey, message]) {
    for (let i = 0; i < part.byteLength; i += 4096) {
    key += String.fromCharCode.apply(null, part.subarray(i, i + 4096) as unknown as number[])
    }
  }
  return key // signature and key have fixed lengths, so the concatenation is unambiguous
}

/** libsodium's strict, cofactorless verification (results for short messages are cached). */
export function crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  checkLength(signature, 64, 'sig')
  checkLength(message, -1, 'm')
  checkLength(publicKey, 32, 'pk')
  if (message.byteLength > VERIFY_CACHE_MAX_MESSAGE) return verifyDetached(signature, message, publicKey)
  const key = bytesKey(signature, publicKey, message)
  const cached = verifyCache.get(key)
  if (cached !== undefined) {
    verifyCache.delete(key) // move to the most recently used end
    verifyCache.set(key, cached)
    return cached
  }
  const result = verifyDetached(signature, message, publicKey)
  if (verifyCache.size >= VERIFY_CACHE_SIZE) verifyCache.delete(verifyCache.keys().next().value!)
  verifyCache.set(key, result)
  return result
}

function verifyDetached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const s = littleEndian(signature.subarray(32, 64))
  if (s >= L) return false
  const A = decodePublicPoint(publicKey)
  if (A === null) return false
  const R = signature.subarray(0, 32)
  const k = sha512ModL(R, publicKey, message)
  // R' = sB - kA, compared byte for byte with R (so a non-canonical R never matches)
  const expected = multiplyScalar(BASE, s, false).subtract(multiplyScalar(A, k, false))
  if (!equalBytes(expected.toBytes(), R)) return false
  return !expected.isSmallOrder() // libsodium rejects small-order R
}

// ---- ed25519 scalar multiplication --------------------------------------------------------

function scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array | null, clamp: boolean): void {
  checkLength(q, 32, 'q')
  checkLength(n, 32, 'n')
  let point: EdPoint = BASE
  if (p !== null) {
    checkLength(p, 32, 'p')
    const decoded = decodePublicPoint(p)
    if (decoded === null || !decoded.isTorsionFree()) fail()
    point = decoded
  }
  const t = new Uint8Array(n) // a copy (Buffer#slice would be a view)
  if (clamp) {
    t[0]! &= 248
    t[31]! |= 64
  }
  t[31]! &= 127
  // The point is in the prime-order subgroup, so t·P = (t mod L)·P; zero means the identity.
  const scalar = littleEndian(t) % L
  if (scalar === 0n || n.every((b) => b === 0)) fail()
  q.set(point.multiply(scalar).toBytes())
}

export function crypto_scalarmult_ed25519_noclamp(q: Uint8Array, n: Uint8Array, p: Uint8Array): void {
  scalarmult(q, n, p, false)
}

export function crypto_scalarmult_ed25519(q: Uint8Array, n: Uint8Array, p: Uint8Array): void {
  scalarmult(q, n, p, true)
}

export function crypto_scalarmult_ed25519_base_noclamp(q: Uint8Array, n: Uint8Array): void {
  scalarmult(q, n, null, false)
}

export function crypto_scalarmult_ed25519_base(q: Uint8Array, n: Uint8Array): void {
  scalarmult(q, n, null, true)
}
