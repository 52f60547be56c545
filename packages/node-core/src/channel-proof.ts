/**
 * Proof that a channel key's holder binds it to a writer of a database, so that the device
 * registry maps each channel key to the device that really holds it (an approved device cannot
 * record another device's channel key as its own and answer in its name):
 *
 *   proof = ed25519 signature by the channel key over
 *           'hypha/channel-proof/1' ‖ 0x00 ‖ databaseKey ‖ writerKey
 *
 * A device makes it with `node.channelProof()`; @hypha/auth sends it in the request, the approver
 * puts it in the add-writer op, and apply checks it on every node.
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'

const CONTEXT = b4a.from('hypha/channel-proof/1\0')
/** Length of a channel proof: an ed25519 signature. */
export const CHANNEL_PROOF_BYTES = 64

function message(databaseKey: Uint8Array, writerKey: Uint8Array): Uint8Array {
  return b4a.concat([CONTEXT, databaseKey, writerKey])
}

/** The proof that the holder of a channel key belongs to this writer in this database: its ed25519 signature over both keys. */
export function signChannelProof(secretKey: Uint8Array, databaseKey: Uint8Array, writerKey: Uint8Array): Uint8Array {
  const proof = b4a.alloc(CHANNEL_PROOF_BYTES)
  sodium.crypto_sign_detached(proof, message(databaseKey, writerKey), secretKey)
  return proof
}

/** Whether `proof` is the channel key's signature over this database and writer key (false for wrong lengths). */
export function verifyChannelProof(
  proof: Uint8Array,
  channelKey: Uint8Array,
  databaseKey: Uint8Array,
  writerKey: Uint8Array
): boolean {
  if (proof.byteLength !== CHANNEL_PROOF_BYTES || channelKey.byteLength !== 32) return false
  try {
    return sodium.crypto_sign_verify_detached(proof, message(databaseKey, writerKey), channelKey)
  } catch {
    return false
  }
}
