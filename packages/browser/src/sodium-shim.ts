/**
 * The libsodium of Hypha's browser builds: sodium-javascript (what sodium-universal maps to in a
 * browser) with the ed25519 pieces replaced or added from @noble/curves, and a faster BLAKE2b.
 *
 * - `crypto_scalarmult_ed25519_noclamp` (+ the clamped and `_base` variants, `_BYTES`,
 *   `_SCALARBYTES`): missing from sodium-javascript 0.8, and the Noise handshake of
 *   @hyperswarm/secret-stream (noise-curve-ed) needs it — without it every handshake fails.
 * - `crypto_sign_detached` / `crypto_sign_verify_detached` / `crypto_sign_keypair` /
 *   `crypto_sign_seed_keypair`: sodium-javascript's are slow (about 7 ms a sign, 12 ms a verify);
 *   these are several times faster. Hypercore signs and verifies every append. Verification
 *   results are cached (Autobase re-verifies the same checkpoint signature on every update).
 * - `crypto_generichash` / `crypto_generichash_batch`: BLAKE2b without allocations, several times
 *   faster than sodium-javascript's (hypercore hashes every tree node with it).
 *
 * Everything here follows libsodium (1.0.18+, as sodium-native builds it) to the byte, including
 * its strict rules: verification is cofactorless (R is recomputed and compared as bytes), s must
 * be below the group order, small-order R and public keys and non-canonical public keys are
 * rejected; the scalarmult functions reject non-canonical, small-order and non-prime-order points
 * and an all-zero result. The tests compare it with sodium-native on random and crafted inputs.
 *
 * The bundle aliases `sodium-native` and `sodium-javascript` to this module (see build.ts).
 *
 * The code is split by job: sodium/ed25519.ts (signatures, scalar multiplication), sodium/blake2b.ts
 * (BLAKE2b), sodium/checks.ts (argument checks); this module puts them over sodium-javascript.
 */
import sodiumJs from './sodium/sodium-javascript.js'
import {
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
} from './sodium/ed25519.js'
import { crypto_generichash, crypto_generichash_batch } from './sodium/blake2b.js'

export * from './sodium/ed25519.js'
export * from './sodium/blake2b.js'

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
  crypto_sign_verify_detached,
  crypto_generichash,
  crypto_generichash_batch
}

/** sodium-javascript with the overrides: what `sodium-native` resolves to in a browser bundle. */
const sodium: Record<string, unknown> & typeof overrides = Object.assign({}, sodiumJs as Record<string, unknown>, overrides)
export default sodium
