/**
 * The libsodium of Hypha's browser builds: sodium-javascript (what sodium-universal maps to in a
 * browser) with the ed25519 pieces replaced or added from @noble/curves.
 *
 * - `crypto_scalarmult_ed25519_noclamp` (+ the clamped and `_base` variants, `_BYTES`,
 *   `_SCALARBYTES`): missing from sodium-javascript 0.8, and the Noise handshake of
 *   @hyperswarm/secret-stream (noise-curve-ed) needs it — without it every handshake fails.
 * - `crypto_sign_detached` / `crypto_sign_verify_detached` / `crypto_sign_keypair` /
 *   `crypto_sign_seed_keypair`: sodium-javascript's are slow (about 7 ms a sign, 12 ms a verify);
 *   these are several times faster. Hypercore signs and verifies every append.
 *
 * Everything here follows libsodium (1.0.18+, as sodium-native builds it) to the byte, including
 * its strict rules: verification is cofactorless (R is recomputed and compared as bytes), s must
 * be below the group order, small-order R and public keys and non-canonical public keys are
 * rejected; the scalarmult functions reject non-canonical, small-order and non-prime-order points
 * and an all-zero result. The tests compare it with sodium-native on random and crafted inputs.
 *
 * The bundle aliases `sodium-native` and `sodium-javascript` to this module (see build.ts).
 */
import sodiumJs from 'sodium-javascript'
import { ed25519 } from '@noble/curves/ed25519.js'

const Point = ed25519.Point
const BASE = Point.BASE
const L = Point.Fn.ORDER

export const crypto_scalarmult_ed25519_BYTES = 32
export const crypto_scalarmult_ed25519_SCALARBYTES = 32

function fail(): never {
  // sodium-native throws this when libsodium returns -1.
  throw new Error('status: -1')
}

function checkLength(buf: Uint8Array, length: number, name: string): void {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`)
  if (length >= 0 && buf.byteLength !== length) throw new RangeError(`${name} must be ${length} bytes long`)
}

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

/** libsodium's strict, cofactorless verification. */
export function crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  checkLength(signature, 64, 'sig')
  checkLength(message, -1, 'm')
  checkLength(publicKey, 32, 'pk')
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

/** The replacements and additions, by libsodium name. */
export const overrides = {
  crypto_scalarmult_ed25519_BYTES,
  crypto_scalarmult_ed25519_SCALARBYTES,
  crypto_scalarmult_ed25519,
  crypto_scalarmult_ed25519_noclamp,
  crypto_scalarmult_ed25519_base,
  crypto_scalarmult_ed25519_base_noclamp,
  crypto_sign_keypair,
  crypto_sign_seed_keypair,
  crypto_sign_detached,
  crypto_sign_verify_detached
}

/** sodium-javascript with the overrides: what `sodium-native` resolves to in a browser bundle. */
const sodium: Record<string, unknown> & typeof overrides = Object.assign({}, sodiumJs as Record<string, unknown>, overrides)
export default sodium
