/**
 * Opening an account on this device: sign up (a new database, this device its origin) or sign in
 * (this storage's device again, or a new read-only device found through the peers). The
 * passphrase becomes the root secret here; the node below only ever gets the root secret.
 */
import { HyphaNode } from '@hypha/node-core'
import { AuthError, wrapError } from './errors.js'
import { checkAccountOptions, type SignInOptions, type SignUpOptions } from './account-options.js'
import { Account } from './account.js'
import { deriveRootSecret, generatePassphrase } from './passphrase.js'
import { addRecoveryKey, generateRecoveryCode } from './recovery.js'
import { DEFAULT_OTHER_ACCOUNT_SETTLE_MS, OtherAccountWatch, otherAccountError } from './other-account.js'

const DEFAULT_EXISTING_CHECK_MS = 1_500

/**
 * Creates a new database on this device: it becomes the origin, its first writer. Also makes a
 * recovery key (`account.recoveryCode`). Rejects with AuthError `ERR_WEAK_PASSPHRASE` (a chosen
 * passphrase under 60 bits), `ERR_ACCOUNT_EXISTS` (this storage, or a peer, holds this account
 * already: use signIn), or a wrapped node error.
 */
export async function signUp(options: SignUpOptions): Promise<Account> {
  checkAccountOptions(options)
  if (options.passphrase !== undefined) {
    // Loaded on demand: the common-passwords list and zxcvbn are ~53 KB of a browser bundle's
    // gzipped bytes, which an app's bundler then splits off the start-up chunk (only a chosen
    // passphrase at sign-up needs them).
    const { checkPassphraseStrength } = await import('./strength.js')
    checkPassphraseStrength(options.passphrase, [options.name, options.nodeName])
  }
  const passphrase = options.passphrase ?? generatePassphrase()
  const checkMs = options.existingAccountCheckMs ?? ((options.transports?.length ?? 0) > 0 ? DEFAULT_EXISTING_CHECK_MS : 0)
  const { node, otherAccount } = await openNode(
    { ...options, passphrase },
    { role: 'origin', existingAccountCheckMs: checkMs }
  )
  if (node.reopened) {
    otherAccount.close()
    await node.close()
    throw new AuthError('ERR_ACCOUNT_EXISTS', 'this storage holds a device of this account already: use signIn to reopen it')
  }
  try {
    await node.registerDevice(options.nodeName)
    const recoveryCode = generateRecoveryCode()
    await addRecoveryKey(node, recoveryCode)
    return await opened(new Account(node, {
      nodeName: options.nodeName,
      passphrase: options.passphrase === undefined ? passphrase : null,
      recoveryCode,
      promptTimeoutMs: options.promptTimeoutMs,
      maxPendingPerDevice: options.maxPendingPerDevice,
      maxOpenPrompts: options.maxOpenPrompts,
      otherAccount
    }))
  } catch (err) {
    otherAccount.close()
    await node.close()
    throw wrapError(err)
  }
}

/**
 * Opens the person's database on this device. On a storage that holds this account's device it
 * reopens it as it was (the origin stays the origin, a writer stays a writer). On a fresh storage
 * it looks the database up among the transports' peers and opens it read-only: a new device,
 * whatever its name, that becomes a writer only when a current writer approves
 * ({@link Account.requestAuthorisation}). Rejects with AuthError: `ERR_NOT_FOUND`,
 * `ERR_ACCOUNT_CONFLICT`, `ERR_OTHER_ACCOUNT` (wrong passphrase or name for this storage, or —
 * while it looks the database up — every peer it dialled refused it as another account's: see
 * README "Another account's peers"), …
 */
export async function signIn(options: SignInOptions): Promise<Account> {
  checkAccountOptions(options)
  if (typeof options.passphrase !== 'string' || options.passphrase.length === 0) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'signIn needs the passphrase')
  }
  const { node, otherAccount } = await openNode(options, {
    role: 'read-only',
    lookupTimeoutMs: options.lookupTimeoutMs,
    lookupSettleMs: options.lookupSettleMs
  })
  return opened(
    new Account(node, {
      nodeName: options.nodeName,
      promptTimeoutMs: options.promptTimeoutMs,
      maxPendingPerDevice: options.maxPendingPerDevice,
      maxOpenPrompts: options.maxOpenPrompts,
      otherAccount
    })
  )
}

/** The account once its record of settled requests is read (so `settledRecordError` is known). */
async function opened(account: Account): Promise<Account> {
  await account.loaded
  return account
}

/** Root secrets of the nodes opened here, for recovery only (kept off the public objects). */
export const rootSecrets = new WeakMap<HyphaNode, Uint8Array>()

async function openNode(
  options: SignInOptions,
  extra: { role: 'origin' | 'read-only'; existingAccountCheckMs?: number; lookupTimeoutMs?: number; lookupSettleMs?: number }
): Promise<{ node: HyphaNode; otherAccount: OtherAccountWatch }> {
  let node: HyphaNode
  try {
    const rootSecret = await deriveRootSecret(options.passphrase, options.name, options.kdf)
    node = new HyphaNode({
      role: extra.role,
      rootSecret,
      storage: options.storage,
      transports: options.transports,
      now: options.now,
      existingAccountCheckMs: extra.existingAccountCheckMs,
      lookupTimeoutMs: extra.lookupTimeoutMs,
      lookupSettleMs: extra.lookupSettleMs
    })
    rootSecrets.set(node, rootSecret)
  } catch (err) {
    throw wrapError(err)
  }
  const otherAccount = new OtherAccountWatch(node, options.otherAccountSettleMs ?? DEFAULT_OTHER_ACCOUNT_SETTLE_MS)
  // A sign-in on a fresh storage waits for a peer of the account to name the database: when every
  // peer it dialled refused it at the membership gate (another account's), it says so at once.
  let unwatch = () => {}
  const refused =
    extra.role === 'read-only'
      ? new Promise<never>((_, reject) => {
          unwatch = otherAccount.watch(() => reject(otherAccountError()))
        })
      : null
  try {
    await (refused ? Promise.race([node.ready(), refused]) : node.ready())
    unwatch()
    return { node, otherAccount }
  } catch (err) {
    unwatch()
    otherAccount.close()
    await node.close().catch(() => {})
    throw wrapError(err)
  }
}
