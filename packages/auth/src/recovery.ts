/**
 * Recovery codes: 128 random bits, shown as eight groups of four hex digits
 * ("3f2a-9c01-…"), separate from the passphrase. The code's only use is a writer key pair,
 *   seed = BLAKE2b-256(key = code, 'hypha/recovery-key/1')
 * added at sign-up as a writer marked `recovery` in the registry; `recover` writes with it once
 * (adding the new device and a new recovery key, removing itself).
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'
import type { KeyPair } from '@hypha/node-core'
import { AuthError } from './errors.js'

export const RECOVERY_CODE_BYTES = 16

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
