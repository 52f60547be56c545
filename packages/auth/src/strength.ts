/**
 * Passphrase strength: a chosen passphrase must be estimated at {@link MIN_PASSPHRASE_BITS} bits
 * or more by zxcvbn (@zxcvbn-ts/core, with the 10,000 most common passwords and the keyboard
 * graphs of @zxcvbn-ts/language-common: see common-passwords.ts), because the lookup topic lets
 * anyone who sees it test guesses offline, at one Argon2id call a guess. Generated passphrases
 * (80 bits) are not checked.
 *
 * signUp imports this module on demand (`await import`), so that a browser app's bundler puts it
 * and its list in a chunk of their own, fetched only when a chosen passphrase is checked (about
 * 53 KB gzipped off the start-up bundle; the price is that one extra request then). Importing
 * these functions from '@hypha/auth' brings them back into the app's start-up chunk.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core'
import { ADJACENCY_GRAPHS, COMMON_PASSWORDS } from './common-passwords.js'
import { AuthError } from './errors.js'

/** The least estimated strength (bits, zxcvbn) a chosen passphrase must have. */
export const MIN_PASSPHRASE_BITS = 60

let estimator: ZxcvbnFactory | null = null

/** log2 of zxcvbn's estimate of the guesses needed; `userInputs` (names) count as known words. */
export function passphraseStrengthBits(passphrase: string, userInputs: string[] = []): number {
  estimator ??= new ZxcvbnFactory({ dictionary: { passwords: COMMON_PASSWORDS as string[] }, graphs: ADJACENCY_GRAPHS })
  return estimator.check(passphrase, userInputs).guessesLog10 * Math.log2(10)
}

/** Throws AuthError `ERR_WEAK_PASSPHRASE` (with the estimate in the message) under the minimum. */
export function checkPassphraseStrength(passphrase: unknown, userInputs: string[] = []): void {
  if (typeof passphrase !== 'string' || passphrase.trim().length === 0) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'passphrase must be a non-empty string')
  }
  const bits = passphraseStrengthBits(passphrase, userInputs)
  if (bits < MIN_PASSPHRASE_BITS) {
    throw new AuthError(
      'ERR_WEAK_PASSPHRASE',
      `passphrase too weak: about ${Math.floor(bits)} bits, at least ${MIN_PASSPHRASE_BITS} needed (leave it out to get a generated one)`
    )
  }
}
