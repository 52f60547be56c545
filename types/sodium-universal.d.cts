// Minimal types for sodium-universal (libsodium bindings: sodium-native in Node, sodium-javascript in browsers).
// Kept because sodium-universal ships no types and there is no @types/sodium-universal;
// @types/sodium-native (2.3.9) types sodium-native 2 with Buffer-only parameters, which the
// browser's Uint8Arrays do not fit. Used only inside this repository (tsconfig.base.json paths):
// no published declaration mentions sodium.
declare const sodium: {
  randombytes_buf(buf: Uint8Array): void
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void
  crypto_generichash_BYTES: number
  crypto_sign_keypair(pk: Uint8Array, sk: Uint8Array): void
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean
  crypto_sign_PUBLICKEYBYTES: number
  crypto_sign_SECRETKEYBYTES: number
  crypto_sign_SEEDBYTES: number
  crypto_sign_BYTES: number
  crypto_secretbox_easy(c: Uint8Array, m: Uint8Array, n: Uint8Array, k: Uint8Array): void
  crypto_secretbox_open_easy(m: Uint8Array, c: Uint8Array, n: Uint8Array, k: Uint8Array): boolean
  crypto_secretbox_KEYBYTES: number
  crypto_secretbox_NONCEBYTES: number
  crypto_secretbox_MACBYTES: number
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array
  ): number
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array
  ): number
  crypto_aead_xchacha20poly1305_ietf_KEYBYTES: number
  crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number
  crypto_aead_xchacha20poly1305_ietf_ABYTES: number
  crypto_kdf_derive_from_key(sub: Uint8Array, id: number, ctx: Uint8Array, key: Uint8Array): void
  sodium_memzero(buf: Uint8Array): void
  sodium_memcmp(a: Uint8Array, b: Uint8Array): boolean
}
export = sodium
