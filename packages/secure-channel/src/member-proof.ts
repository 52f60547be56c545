import sodium from 'sodium-universal'
import b4a from 'b4a'
import type { EphemeralPeer } from '@hypha/ephemeral-ext'
import { KEY_BYTES } from './envelope.js'

/** Ephemeral content type of the per-connection membership proof. */
export const MEMBER_PROOF_CONTENT_TYPE = 'hypha/member-proof/1'

/** BLAKE2b-256. */
export const MEMBER_PROOF_BYTES = 32

/** A proof message: `flags (1 byte) ‖ proof (32 bytes)`. */
export const MEMBER_PROOF_MESSAGE_BYTES = 1 + MEMBER_PROOF_BYTES

/** Flag bit 0: the sender has not verified the receiver's proof yet (please send yours, again if need be). */
export const PROOF_FLAG_REQUEST = 1

const CONTEXT = b4a.from('hypha member proof v1\0')

/** What a proof is bound to: the connection's two Noise public keys and its Noise handshake hash. */
export interface ConnectionBinding {
  /** This side's Noise static public key. */
  publicKey: Uint8Array
  /** The other side's Noise static public key. */
  remotePublicKey: Uint8Array
  /** The Noise handshake hash of this connection (the same on both sides, unique to it). */
  handshakeHash: Uint8Array
}

/**
 * The Noise stream under an ephemeral peer's connection (a secret-stream), read for its keys and
 * handshake hash; null if the connection has none (not a Noise connection) or its handshake is not done.
 */
export function connectionBinding(peer: EphemeralPeer): ConnectionBinding | null {
  const stream = (peer as unknown as { muxer?: { stream?: Partial<ConnectionBinding> | null } }).muxer?.stream
  const { publicKey, remotePublicKey, handshakeHash } = stream ?? {}
  if (!(publicKey instanceof Uint8Array) || publicKey.byteLength !== 32) return null
  if (!(remotePublicKey instanceof Uint8Array) || remotePublicKey.byteLength !== 32) return null
  if (!(handshakeHash instanceof Uint8Array) || handshakeHash.byteLength === 0) return null
  return { publicKey, remotePublicKey, handshakeHash }
}

/**
 * BLAKE2b-256(key = member key, context ‖ sender's Noise public key ‖ receiver's Noise public key ‖
 * handshake hash): what the sender of a proof shows on one connection. Bound to the direction and
 * to the connection, so it cannot be reflected back nor replayed on another connection.
 */
export function memberProof(memberKey: Uint8Array, sender: Uint8Array, receiver: Uint8Array, handshakeHash: Uint8Array): Uint8Array {
  if (!(memberKey instanceof Uint8Array) || memberKey.byteLength !== KEY_BYTES) throw new TypeError('memberKey must be 32 bytes')
  const out = b4a.alloc(MEMBER_PROOF_BYTES)
  sodium.crypto_generichash(out, b4a.concat([CONTEXT, sender, receiver, handshakeHash]), memberKey)
  return out
}

/** The proof message this side sends on `peer`'s connection, or null if the connection has no Noise binding. */
export function encodeMemberProof(memberKey: Uint8Array, peer: EphemeralPeer, request: boolean): Uint8Array | null {
  const binding = connectionBinding(peer)
  if (!binding) return null
  const proof = memberProof(memberKey, binding.publicKey, binding.remotePublicKey, binding.handshakeHash)
  return b4a.concat([b4a.from([request ? PROOF_FLAG_REQUEST : 0]), proof])
}

/**
 * Checks a proof message received on `peer`'s connection (constant-time compare). Returns its
 * flags if the proof is right, null if it is not (or is malformed, or the connection has no binding).
 */
export function verifyMemberProof(memberKey: Uint8Array, peer: EphemeralPeer, message: Uint8Array): { request: boolean } | null {
  if (message.byteLength !== MEMBER_PROOF_MESSAGE_BYTES) return null
  const flags = message[0]!
  if ((flags & ~PROOF_FLAG_REQUEST) !== 0) return null
  const binding = connectionBinding(peer)
  if (!binding) return null
  const expected = memberProof(memberKey, binding.remotePublicKey, binding.publicKey, binding.handshakeHash)
  if (!sodium.sodium_memcmp(expected, message.subarray(1))) return null
  return { request: (flags & PROOF_FLAG_REQUEST) !== 0 }
}
