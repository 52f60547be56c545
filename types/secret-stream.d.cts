// Minimal types for @hyperswarm/secret-stream 6: a Noise-encrypted duplex over any raw duplex.
// Kept because @hyperswarm/secret-stream ships no types and there is no
// @types/hyperswarm__secret-stream. Used only inside this repository (tsconfig.base.json paths):
// published declarations use node-core's own SecretStream interface.
import { Duplex } from 'node:stream'
declare class NoiseSecretStream extends Duplex {
  constructor(isInitiator: boolean, rawStream?: unknown, opts?: { keyPair?: { publicKey: Uint8Array; secretKey: Uint8Array } })
  readonly isInitiator: boolean
  readonly publicKey: Uint8Array
  readonly remotePublicKey: Uint8Array | null
  readonly rawStream: any
  userData: any
  opened: Promise<boolean>
  static keyPair(seed?: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array }
}
export = NoiseSecretStream
