// Argument checks and the error shared by the shim's ed25519 and BLAKE2b functions.

export function fail(): never {
  // sodium-native throws this when libsodium returns -1.
  throw new Error('status: -1')
}

export function checkLength(buf: Uint8Array, length: number, name: string): void {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`)
  if (length >= 0 && buf.byteLength !== length) throw new RangeError(`${name} must be ${length} bytes long`)
}
