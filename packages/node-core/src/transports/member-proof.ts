// Proofs of membership for transports: a server that holds an account's member key (an always-on
// node, from its member credential) checks that a client holds it too, without either side
// sending it. Browser-safe.
//
//   purpose key = BLAKE2b-256(key = member key, input = purpose)
//   proof       = BLAKE2b-256(key = purpose key, input = message)
//
// The purpose string separates the uses of the member key (e.g. 'hypha/signalling/1'): a proof
// made for one is worth nothing for another.
import sodium from 'sodium-universal'
import { TransportError } from './errors.js'

/** Length of a member proof (`memberProof`): a BLAKE2b-256 MAC. */
export const MEMBER_PROOF_BYTES = 32

const encoder = new TextEncoder()

/** The keyed BLAKE2b-256 proof of `message` under the member key, for `purpose`. */
export function memberProof(memberKey: Uint8Array, purpose: string, message: Uint8Array): Uint8Array {
  if (!(memberKey instanceof Uint8Array) || memberKey.byteLength !== 32) {
    throw new TransportError('ERR_INVALID_ARGUMENT', 'memberKey must be a 32-byte Uint8Array')
  }
  const purposeKey = new Uint8Array(32)
  sodium.crypto_generichash(purposeKey, encoder.encode(purpose), memberKey)
  const proof = new Uint8Array(MEMBER_PROOF_BYTES)
  sodium.crypto_generichash(proof, message, purposeKey)
  return proof
}

/** True if `proof` is the proof of `message` under the member key for `purpose` (constant time). */
export function verifyMemberProof(memberKey: Uint8Array, purpose: string, message: Uint8Array, proof: Uint8Array): boolean {
  if (!(proof instanceof Uint8Array) || proof.byteLength !== MEMBER_PROOF_BYTES) return false
  const expected = memberProof(memberKey, purpose, message)
  return sodium.sodium_memcmp(expected, proof)
}
