/**
 * BLAKE2b for the shim (crypto_generichash, crypto_generichash_batch): allocation-free, several
 * times faster than sodium-javascript's.
 */
import { checkLength, fail } from './checks.js'

// Hypercore hashes every tree node with crypto_generichash_batch (and every block, parent and
// root): sodium-javascript's goes through the `blake2b` package, which allocates a context per
// hash and adds 64-bit words through helper functions on arrays. This one keeps the working
// vector in 32 local variables (each 64-bit word as a low and a high 32-bit half), works on one
// preallocated state (hashing is synchronous, so it is never re-entered) and never allocates.
// RFC 7693 / libsodium's crypto_generichash_blake2b: unsalted, no personalisation; output and key
// lengths checked as sodium-native checks them (16–64 bytes each for crypto_generichash; 1–64 and
// 0–64 for crypto_generichash_batch, which sodium-native passes straight to libsodium).

export const crypto_generichash_BYTES_MIN = 16
export const crypto_generichash_BYTES_MAX = 64
export const crypto_generichash_KEYBYTES_MIN = 16
export const crypto_generichash_KEYBYTES_MAX = 64

/** The BLAKE2b IV, as (low, high) 32-bit halves. */
const B2B_IV = new Int32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
  0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19
])

/** The message schedule of the 12 rounds, as indexes of the low half of each message word. */
const SIGMA2 = new Uint8Array([
  0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30,
  28, 20, 8, 16, 18, 30, 26, 12, 2, 24, 0, 4, 22, 14, 10, 6,
  22, 16, 24, 0, 10, 4, 30, 26, 20, 28, 6, 12, 14, 2, 18, 8,
  14, 18, 6, 2, 26, 24, 22, 28, 4, 12, 10, 20, 8, 0, 30, 16,
  18, 0, 10, 14, 4, 8, 20, 30, 28, 2, 22, 24, 12, 16, 6, 26,
  4, 24, 12, 20, 0, 22, 16, 6, 8, 26, 14, 10, 30, 28, 2, 18,
  24, 10, 2, 30, 28, 26, 8, 20, 0, 14, 12, 6, 18, 4, 16, 22,
  26, 22, 14, 28, 24, 2, 6, 18, 10, 0, 30, 8, 16, 12, 4, 20,
  12, 30, 28, 18, 22, 6, 0, 16, 24, 4, 26, 14, 2, 8, 20, 10,
  20, 4, 16, 8, 14, 12, 2, 10, 30, 22, 18, 28, 6, 24, 26, 0,
  0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30,
  28, 20, 8, 16, 18, 30, 26, 12, 2, 24, 0, 4, 22, 14, 10, 6
])

const b2bH = new Int32Array(16) // the chaining value
const b2bM = new Uint32Array(32) // the message block being compressed, as 32-bit words
const b2bBlock = new Uint8Array(128) // bytes not compressed yet
let b2bFill = 0 // bytes in b2bBlock
let b2bCount = 0 // bytes compressed so far (the counter t; below 2^53)

function b2bLoad(src: Uint8Array, at: number): void {
  const m = b2bM
  for (let i = 0; i < 32; i++, at += 4) m[i] = src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24)
}

function b2bCompress(last: boolean): void {
  const h = b2bH
  const m = b2bM
  let v0l = h[0]!, v0h = h[1]!, v1l = h[2]!, v1h = h[3]!, v2l = h[4]!, v2h = h[5]!, v3l = h[6]!, v3h = h[7]!
  let v4l = h[8]!, v4h = h[9]!, v5l = h[10]!, v5h = h[11]!, v6l = h[12]!, v6h = h[13]!, v7l = h[14]!, v7h = h[15]!
  let v8l = B2B_IV[0]!, v8h = B2B_IV[1]!, v9l = B2B_IV[2]!, v9h = B2B_IV[3]!
  let v10l = B2B_IV[4]!, v10h = B2B_IV[5]!, v11l = B2B_IV[6]!, v11h = B2B_IV[7]!
  let v12l = B2B_IV[8]! ^ (b2bCount >>> 0), v12h = B2B_IV[9]! ^ ((b2bCount / 0x100000000) | 0)
  let v13l = B2B_IV[10]!, v13h = B2B_IV[11]!
  let v14l = last ? ~B2B_IV[12]! : B2B_IV[12]!, v14h = last ? ~B2B_IV[13]! : B2B_IV[13]!
  let v15l = B2B_IV[14]!, v15h = B2B_IV[15]!
  let t = 0, xl = 0, xh = 0, xi = 0, yi = 0
  for (let o = 0; o < 192; o += 16) {
    // G(v0, v4, v8, v12)
    xi = SIGMA2[o + 0]!; yi = SIGMA2[o + 1]!
    t = (v0l >>> 0) + (v4l >>> 0) + m[xi]!; v0h = (v0h + v4h + m[xi + 1]! + ((t / 0x100000000) | 0)) | 0; v0l = t | 0
    t = v12l ^ v0l; v12l = v12h ^ v0h; v12h = t
    t = (v8l >>> 0) + (v12l >>> 0); v8h = (v8h + v12h + ((t / 0x100000000) | 0)) | 0; v8l = t | 0
    xl = v4l ^ v8l; xh = v4h ^ v8h; v4l = (xl >>> 24) | (xh << 8); v4h = (xh >>> 24) | (xl << 8)
    t = (v0l >>> 0) + (v4l >>> 0) + m[yi]!; v0h = (v0h + v4h + m[yi + 1]! + ((t / 0x100000000) | 0)) | 0; v0l = t | 0
    xl = v12l ^ v0l; xh = v12h ^ v0h; v12l = (xl >>> 16) | (xh << 16); v12h = (xh >>> 16) | (xl << 16)
    t = (v8l >>> 0) + (v12l >>> 0); v8h = (v8h + v12h + ((t / 0x100000000) | 0)) | 0; v8l = t | 0
    xl = v4l ^ v8l; xh = v4h ^ v8h; v4l = (xl << 1) | (xh >>> 31); v4h = (xh << 1) | (xl >>> 31)
    // G(v1, v5, v9, v13)
    xi = SIGMA2[o + 2]!; yi = SIGMA2[o + 3]!
    t = (v1l >>> 0) + (v5l >>> 0) + m[xi]!; v1h = (v1h + v5h + m[xi + 1]! + ((t / 0x100000000) | 0)) | 0; v1l = t | 0
    t = v13l ^ v1l; v13l = v13h ^ v1h; v13h = t
    t = (v9l >>> 0) + (v13l >>> 0); v9h = (v9h + v13h + ((t / 0x100000000) | 0)) | 0; v9l = t | 0
    xl = v5l ^ v9l; xh = v5h ^ v9h; v5l = (xl >>> 24) | (xh << 8); v5h = (xh >>> 24) | (xl << 8)
    t = (v1l >>> 0) + (v5l >>> 0) + m[yi]!; v1h = (v1h + v5h + m[yi + 1]! + ((t / 0x100000000) | 0)) | 0; v1l = t | 0
    xl = v13l ^ v1l; xh = v13h ^ v1h; v13l = (xl >>> 16) | (xh << 16); v13h = (xh >>> 16) | (xl << 16)
    t = (v9l >>> 0) + (v13l >>> 0); v9h = (v9h + v13h + ((t / 0x100000000) | 0)) | 0; v9l = t | 0
    xl = v5l ^ v9l; xh = v5h ^ v9h; v5l = (xl << 1) | (xh >>> 31); v5h = (xh << 1) | (xl >>> 31)
    // G(v2, v6, v10, v14)
    xi = SIGMA2[o + 4]!; yi = SIGMA2[o + 5]!
    t = (v2l >>> 0) + (v6l >>> 0) + m[xi]!; v2h = (v2h + v6h + m[xi + 1]! + ((t / 0x100000000) | 0)) | 0; v2l = t | 0
    t = v14l ^ v2l; v14l = v14h ^ v2h; v14h = t
    t = (v10l >>> 0) + (v14l >>> 0); v10h = (v10h + v14h + ((t / 0x100000000) | 0)) | 0; v10l = t | 0
    xl = v6l ^ v10l; xh = v6h ^ v10h; v6l = (xl >>> 24) | (xh << 8); v6h = (xh >>> 24) | (xl << 8)
    t = (v2l >>> 0) + (v6l >>> 0) + m[yi]!; v2h = (v2h + v6h + m[yi + 1]! + ((t / 0x100000000) | 0)) | 0; v2l = t | 0
    xl = v14l ^ v2l; xh = v14h ^ v2h; v14l = (xl >>> 16) | (xh << 16); v14h = (xh >>> 16) | (xl << 16)
    t = (v10l >>> 0) + (v14l >>> 0); v10h = (v10h + v14h + ((t / 0x100000000) | 0)) | 0; v10l = t | 0
    xl = v6l ^ v10l; xh = v6h ^ v10h; v6l = (xl << 1) | (xh >>> 31); v6h = (xh << 1) | (xl >>> 31)
    // G(v3, v7, v11, v15)
    xi = SIGMA2[o + 6]!; yi = SIGMA2[o + 7]!
    t = (v3l >>> 0) + (v7l >>> 0) + m[xi]!; v3h = (v3h + v7h + m[xi + 1]! + ((t / 0x100000000) | 0)) | 0; v3l = t | 0
    t = v15l ^ v3l; v15l = v15h ^ v3h; v15h = t
    t = (v11l >>> 0) + (v15l >>> 0); v11h = (v11h + v15h + ((t / 0x100000000) | 0)) | 0; v11l = t | 0
    xl = v7l ^ v11l; xh = v7h ^ v11h; v7l = (xl >>> 24) | (xh << 8); v7h = (xh >>> 24) | (xl << 8)
    t = (v3l >>> 0) + (v7l >>> 0) + m[yi]!; v3h = (v3h + v7h + m[yi + 1]! + ((t / 0x100000000) | 0)) | 0; v3l = t | 0
    xl = v15l ^ v3l; xh = v15h ^ v3h; v15l = (xl >>> 16) | (xh << 16); v15h = (xh >>> 16) | (xl << 16)
    t = (v11l >>> 0) + (v15l >>> 0); v11h = (v11h + v15h + ((t / 0x100000000) | 0)) | 0; v11l = t | 0
    xl = v7l ^ v11l; xh = v7h ^ v11h; v7l = (xl << 1) | (xh >>> 31); v7h = (xh << 1) | (xl >>> 31)
    // G(v0, v5, v10, v15)
    xi = SIGMA2[o + 8]!; yi = SIGMA2[o + 9]!
    t = (v0l >>> 0) + (v5l >>> 0) + m[xi]!; v0h = (v0h + v5h + m[xi + 1]! + ((t / 0x100000000) | 0)) | 0; v0l = t | 0
    t = v15l ^ v0l; v15l = v15h ^ v0h; v15h = t
    t = (v10l >>> 0) + (v15l >>> 0); v10h = (v10h + v15h + ((t / 0x100000000) | 0)) | 0; v10l = t | 0
    xl = v5l ^ v10l; xh = v5h ^ v10h; v5l = (xl >>> 24) | (xh << 8); v5h = (xh >>> 24) | (xl << 8)
    t = (v0l >>> 0) + (v5l >>> 0) + m[yi]!; v0h = (v0h + v5h + m[yi + 1]! + ((t / 0x100000000) | 0)) | 0; v0l = t | 0
    xl = v15l ^ v0l; xh = v15h ^ v0h; v15l = (xl >>> 16) | (xh << 16); v15h = (xh >>> 16) | (xl << 16)
    t = (v10l >>> 0) + (v15l >>> 0); v10h = (v10h + v15h + ((t / 0x100000000) | 0)) | 0; v10l = t | 0
    xl = v5l ^ v10l; xh = v5h ^ v10h; v5l = (xl << 1) | (xh >>> 31); v5h = (xh << 1) | (xl >>> 31)
    // G(v1, v6, v11, v12)
    xi = SIGMA2[o + 10]!; yi = SIGMA2[o + 11]!
    t = (v1l >>> 0) + (v6l >>> 0) + m[xi]!; v1h = (v1h + v6h + m[xi + 1]! + ((t / 0x100000000) | 0)) | 0; v1l = t | 0
    t = v12l ^ v1l; v12l = v12h ^ v1h; v12h = t
    t = (v11l >>> 0) + (v12l >>> 0); v11h = (v11h + v12h + ((t / 0x100000000) | 0)) | 0; v11l = t | 0
    xl = v6l ^ v11l; xh = v6h ^ v11h; v6l = (xl >>> 24) | (xh << 8); v6h = (xh >>> 24) | (xl << 8)
    t = (v1l >>> 0) + (v6l >>> 0) + m[yi]!; v1h = (v1h + v6h + m[yi + 1]! + ((t / 0x100000000) | 0)) | 0; v1l = t | 0
    xl = v12l ^ v1l; xh = v12h ^ v1h; v12l = (xl >>> 16) | (xh << 16); v12h = (xh >>> 16) | (xl << 16)
    t = (v11l >>> 0) + (v12l >>> 0); v11h = (v11h + v12h + ((t / 0x100000000) | 0)) | 0; v11l = t | 0
    xl = v6l ^ v11l; xh = v6h ^ v11h; v6l = (xl << 1) | (xh >>> 31); v6h = (xh << 1) | (xl >>> 31)
    // G(v2, v7, v8, v13)
    xi = SIGMA2[o + 12]!; yi = SIGMA2[o + 13]!
    t = (v2l >>> 0) + (v7l >>> 0) + m[xi]!; v2h = (v2h + v7h + m[xi + 1]! + ((t / 0x100000000) | 0)) | 0; v2l = t | 0
    t = v13l ^ v2l; v13l = v13h ^ v2h; v13h = t
    t = (v8l >>> 0) + (v13l >>> 0); v8h = (v8h + v13h + ((t / 0x100000000) | 0)) | 0; v8l = t | 0
    xl = v7l ^ v8l; xh = v7h ^ v8h; v7l = (xl >>> 24) | (xh << 8); v7h = (xh >>> 24) | (xl << 8)
    t = (v2l >>> 0) + (v7l >>> 0) + m[yi]!; v2h = (v2h + v7h + m[yi + 1]! + ((t / 0x100000000) | 0)) | 0; v2l = t | 0
    xl = v13l ^ v2l; xh = v13h ^ v2h; v13l = (xl >>> 16) | (xh << 16); v13h = (xh >>> 16) | (xl << 16)
    t = (v8l >>> 0) + (v13l >>> 0); v8h = (v8h + v13h + ((t / 0x100000000) | 0)) | 0; v8l = t | 0
    xl = v7l ^ v8l; xh = v7h ^ v8h; v7l = (xl << 1) | (xh >>> 31); v7h = (xh << 1) | (xl >>> 31)
    // G(v3, v4, v9, v14)
    xi = SIGMA2[o + 14]!; yi = SIGMA2[o + 15]!
    t = (v3l >>> 0) + (v4l >>> 0) + m[xi]!; v3h = (v3h + v4h + m[xi + 1]! + ((t / 0x100000000) | 0)) | 0; v3l = t | 0
    t = v14l ^ v3l; v14l = v14h ^ v3h; v14h = t
    t = (v9l >>> 0) + (v14l >>> 0); v9h = (v9h + v14h + ((t / 0x100000000) | 0)) | 0; v9l = t | 0
    xl = v4l ^ v9l; xh = v4h ^ v9h; v4l = (xl >>> 24) | (xh << 8); v4h = (xh >>> 24) | (xl << 8)
    t = (v3l >>> 0) + (v4l >>> 0) + m[yi]!; v3h = (v3h + v4h + m[yi + 1]! + ((t / 0x100000000) | 0)) | 0; v3l = t | 0
    xl = v14l ^ v3l; xh = v14h ^ v3h; v14l = (xl >>> 16) | (xh << 16); v14h = (xh >>> 16) | (xl << 16)
    t = (v9l >>> 0) + (v14l >>> 0); v9h = (v9h + v14h + ((t / 0x100000000) | 0)) | 0; v9l = t | 0
    xl = v4l ^ v9l; xh = v4h ^ v9h; v4l = (xl << 1) | (xh >>> 31); v4h = (xh << 1) | (xl >>> 31)
  
  }
  h[0] = h[0]! ^ v0l ^ v8l; h[1] = h[1]! ^ v0h ^ v8h; h[2] = h[2]! ^ v1l ^ v9l; h[3] = h[3]! ^ v1h ^ v9h
  h[4] = h[4]! ^ v2l ^ v10l; h[5] = h[5]! ^ v2h ^ v10h; h[6] = h[6]! ^ v3l ^ v11l; h[7] = h[7]! ^ v3h ^ v11h
  h[8] = h[8]! ^ v4l ^ v12l; h[9] = h[9]! ^ v4h ^ v12h; h[10] = h[10]! ^ v5l ^ v13l; h[11] = h[11]! ^ v5h ^ v13h
  h[12] = h[12]! ^ v6l ^ v14l; h[13] = h[13]! ^ v6h ^ v14h; h[14] = h[14]! ^ v7l ^ v15l; h[15] = h[15]! ^ v7h ^ v15h
}

function b2bInit(outlen: number, key: Uint8Array | null): void {
  b2bH.set(B2B_IV)
  b2bH[0] = b2bH[0]! ^ 0x01010000 ^ ((key === null ? 0 : key.byteLength) << 8) ^ outlen // the parameter block
  b2bCount = 0
  b2bFill = 0
  if (key !== null) {
    b2bBlock.fill(0)
    b2bBlock.set(key)
    b2bFill = 128 // the key, zero-padded, is the first block
  }
}

function b2bUpdate(input: Uint8Array): void {
  const n = input.byteLength
  let i = 0
  while (i < n) {
    if (b2bFill === 128) {
    // More input follows, so the buffered block is not the last one.
    b2bCount += 128
    b2bLoad(b2bBlock, 0)
    b2bCompress(false)
    b2bFill = 0
    }
    if (b2bFill === 0 && n - i > 128) {
    b2bCount += 128
    b2bLoad(input, i)
    b2bCompress(false)
    i += 128
    continue
    }
    const take = Math.min(128 - b2bFill, n - i)
    for (let j = 0; j < take; j++) b2bBlock[b2bFill + j] = input[i + j]!
    b2bFill += take
    i += take
  }
}

function b2bFinal(output: Uint8Array): void {
  b2bCount += b2bFill
  b2bBlock.fill(0, b2bFill)
  b2bLoad(b2bBlock, 0)
  b2bCompress(true)
  const h = b2bH
  for (let i = 0; i < output.byteLength; i++) output[i] = h[i >> 2]! >>> (8 * (i & 3))
}

function generichashArgs(output: Uint8Array, key: Uint8Array | null | undefined): Uint8Array | null {
  checkLength(output, -1, 'output')
  if (output.byteLength < crypto_generichash_BYTES_MIN || output.byteLength > crypto_generichash_BYTES_MAX) {
    throw new RangeError('output must be between crypto_generichash_BYTES_MIN and crypto_generichash_BYTES_MAX bytes')
  }
  if (key === undefined || key === null) return null
  checkLength(key, -1, 'key')
  if (key.byteLength < crypto_generichash_KEYBYTES_MIN || key.byteLength > crypto_generichash_KEYBYTES_MAX) {
    throw new RangeError('key must be between crypto_generichash_KEYBYTES_MIN and crypto_generichash_KEYBYTES_MAX bytes')
  }
  return key
}

/** sodium-native's batch goes straight to libsodium, which only requires 1–64 and 0–64 bytes. */
function generichashBatchArgs(output: Uint8Array, key: Uint8Array | null | undefined): Uint8Array | null {
  checkLength(output, -1, 'output')
  if (output.byteLength < 1 || output.byteLength > crypto_generichash_BYTES_MAX) fail()
  if (key === undefined || key === null) return null
  checkLength(key, -1, 'key')
  if (key.byteLength > crypto_generichash_KEYBYTES_MAX) fail()
  return key.byteLength === 0 ? null : key // an empty key is no key
}

/** BLAKE2b of `input` into `output` (16–64 bytes), keyed if `key` (16–64 bytes) is given. */
export function crypto_generichash(output: Uint8Array, input: Uint8Array, key?: Uint8Array | null): void {
  const k = generichashArgs(output, key)
  checkLength(input, -1, 'input')
  b2bInit(output.byteLength, k)
  b2bUpdate(input)
  b2bFinal(output)
}

/**
 * BLAKE2b of the concatenation of `inputs`. As in sodium-native, this accepts what libsodium
 * accepts — output 1–64 bytes, key 0–64 bytes — and throws `Error('status: -1')` otherwise.
 */
export function crypto_generichash_batch(output: Uint8Array, inputs: readonly Uint8Array[], key?: Uint8Array | null): void {
  const k = generichashBatchArgs(output, key)
  for (const input of inputs) checkLength(input, -1, 'input')
  b2bInit(output.byteLength, k)
  for (const input of inputs) b2bUpdate(input)
  b2bFinal(output)
}
