// Minimal types for @hyperswarm/secret-stream 6: a Noise-encrypted duplex over any raw duplex.
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
