/**
 * Recovery codes: 128 random bits, shown as eight groups of four hex digits
 * ("3f2a-9c01-…"), separate from the passphrase. The code's only use is a writer key pair,
 *   seed = BLAKE2b-256(key = code, 'hypha/recovery-key/1')
 * added at sign-up as a writer marked `recovery` in the registry; `recover` writes with it once
 * (adding the new device and a new recovery key, removing itself).
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { writerCoreKey, type HyphaNode, type KeyPair } from '@hypha/node-core'
import { AuthError } from './errors.js'

/** Random bytes in a recovery code (128 bits). */
export const RECOVERY_CODE_BYTES = 16

/** Adds the recovery key of `code` as a writer (marked `recovery` in the registry). */
export async function addRecoveryKey(node: HyphaNode, code: string): Promise<void> {
  const keyPair = recoveryKeyPair(decodeRecoveryCode(code))
  await node.addWriter(writerCoreKey(keyPair.publicKey), { name: 'recovery key', recovery: true })
}


/** A new random recovery code: 128 bits as eight groups of four hex digits, joined by dashes. */
export function generateRecoveryCode(): string {
  const bytes = b4a.alloc(RECOVERY_CODE_BYTES)
  sodium.randombytes_buf(bytes)
  return b4a.toString(bytes, 'hex').match(/.{4}/g)!.join('-')
}

/** Accepts any case, spaces or dashes between the digits. Throws `ERR_INVALID_ARGUMENT`. */
export function decodeRecoveryCode(code: unknown): Uint8Array {
  const digits = typeof code === 'string' ? code.replace(/[\s-]/g, '').toLowerCase() : ''
  if (!/^[0-9a-f]{32}$/.test(digits)) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'a recovery code is 32 hex digits (eight groups of four)')
  }
  return b4a.from(digits, 'hex')
}

export function recoveryKeyPair(code: Uint8Array): KeyPair {
  const seed = b4a.alloc(32)
  sodium.crypto_generichash(seed, b4a.from('hypha/recovery-key/1'), code)
  const publicKey = b4a.alloc(32)
  const secretKey = b4a.alloc(64)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  return { publicKey, secretKey }
}

/**
 * Recovery claims: two devices using one recovery code at the same time would both write block 0
 * of the recovery key's core and fork it. Before writing, a recovering device broadcasts a claim
 * on the secure channel (relayed like any message) and listens for `RECOVERY_CLAIM_WINDOW_MS`;
 * while it writes, and until a peer holds what it wrote, it keeps broadcasting the claim marked
 * committed. A device that hears a committed claim, or a competing claim with a smaller nonce,
 * stops with `ERR_RECOVERY_CONFLICT`. Devices that cannot reach each other (no common peer) can
 * still both proceed: see the README.
 *
 *   payload = fixed32 recoveryPublicKey ‖ fixed32 nonce ‖ uint8 committed ‖ fixed64 signature
 *   signature = ed25519 by the recovery key over
 *               'hypha/recovery-claim/1' ‖ 0x00 ‖ databaseKey ‖ nonce ‖ committed
 */
export const RECOVERY_CLAIM_CONTENT_TYPE = 'hypha/recovery-claim/1'
export const RECOVERY_CLAIM_WINDOW_MS = 1500
const CLAIM_CONTEXT = b4a.from('hypha/recovery-claim/1\0')
const CLAIM_BYTES = 32 + 32 + 1 + 64

export interface RecoveryClaim {
  publicKey: Uint8Array
  nonce: Uint8Array
  committed: boolean
}

function claimMessage(databaseKey: Uint8Array, nonce: Uint8Array, committed: boolean): Uint8Array {
  return b4a.concat([CLAIM_CONTEXT, databaseKey, nonce, b4a.from([committed ? 1 : 0])])
}

export function encodeRecoveryClaim(keyPair: KeyPair, databaseKey: Uint8Array, nonce: Uint8Array, committed: boolean): Uint8Array {
  const signature = b4a.alloc(64)
  sodium.crypto_sign_detached(signature, claimMessage(databaseKey, nonce, committed), keyPair.secretKey)
  return b4a.concat([keyPair.publicKey, nonce, b4a.from([committed ? 1 : 0]), signature])
}

/** The claim if it is well formed and signed by its recovery key for this database; else null. */
export function decodeRecoveryClaim(payload: Uint8Array, databaseKey: Uint8Array): RecoveryClaim | null {
  if (payload.byteLength !== CLAIM_BYTES || payload[64]! > 1) return null
  const claim = { publicKey: payload.subarray(0, 32), nonce: payload.subarray(32, 64), committed: payload[64] === 1 }
  const ok = sodium.crypto_sign_verify_detached(payload.subarray(65), claimMessage(databaseKey, claim.nonce, claim.committed), claim.publicKey)
  return ok ? claim : null
}
