// sodium-javascript ships no types: the shim only needs a few functions by name, the rest it
// passes through untouched.
declare module 'sodium-javascript' {
  const sodium: {
    randombytes_buf(buf: Uint8Array): void
    crypto_hash_sha512(out: Uint8Array, message: Uint8Array): void
    [name: string]: unknown
  }
  export = sodium
}
