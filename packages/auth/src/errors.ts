/** Stable error codes of @hypha/auth: match on `error.code`, never on the message. */
export type AuthErrorCode =
  | 'ERR_DENIED'
  | 'ERR_TIMEOUT'
  | 'ERR_CANCELLED'
  | 'ERR_CLOSED'
  | 'ERR_NOT_WRITABLE'
  | 'ERR_ALREADY_SETTLED'
  | 'ERR_INVALID_ARGUMENT'
  /** A chosen passphrase is estimated (zxcvbn) below 60 bits. */
  | 'ERR_WEAK_PASSPHRASE'
  /** signUp for an account that has a database already (on this storage or among peers). */
  | 'ERR_ACCOUNT_EXISTS'
  /** Peers proved two different databases for this account. */
  | 'ERR_ACCOUNT_CONFLICT'
  /** No peer of the account told where its database is in time. */
  | 'ERR_NOT_FOUND'
  /**
   * The passphrase or name is wrong: the storage holds a device of another account, or every peer
   * this device dialled refused it as another account's (signIn's lookup, a request no member heard).
   */
  | 'ERR_OTHER_ACCOUNT'
  /** The recovery code is not this account's, or was used already. */
  | 'ERR_RECOVERY_CODE_INVALID'
  /** Another device is using the same recovery code at the same time. */
  | 'ERR_RECOVERY_CONFLICT'
  /** Argon2id failed (e.g. the WASM could not get its memory): see `cause`. */
  | 'ERR_KDF'
  /** The node under the account failed (storage, …): see `cause`. */
  | 'ERR_NODE'
  /**
   * An approving device refused the request because its clock and this device's differ by more
   * than the secure channel accepts (10 minutes by default): see `skewMs`. Set the clock right and ask again.
   */
  | 'ERR_CLOCK_SKEW'

/** The one error type of `@hypha/auth`: a `code` (`AuthErrorCode`) and, where there is one, the original error as `cause`. */
export class AuthError extends Error {
  override name = 'AuthError'
  readonly code: AuthErrorCode
  /** `ERR_CLOCK_SKEW` only: how far this device's clock is ahead of the approving device's (ms; negative: behind). Declared, so other errors have no such property (nor print `skewMs: undefined`). */
  declare readonly skewMs?: number

  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown; skewMs?: number }) {
    super(message, options)
    this.code = code
    if (options?.skewMs !== undefined) this.skewMs = options.skewMs
  }
}

const PASSED_THROUGH = new Set<string>([
  'ERR_ACCOUNT_EXISTS',
  'ERR_ACCOUNT_CONFLICT',
  'ERR_NOT_FOUND',
  'ERR_OTHER_ACCOUNT',
  'ERR_INVALID_ARGUMENT',
  'ERR_NOT_WRITABLE',
  'ERR_CLOSED'
])

/** Any error from below as an AuthError: its code kept where auth has the same one, else ERR_NODE; the original as `cause`. */
export function wrapError(err: unknown): AuthError {
  if (err instanceof AuthError) return err
  const code = (err as { code?: unknown })?.code
  const message = err instanceof Error ? err.message : String(err)
  if (typeof code === 'string' && PASSED_THROUGH.has(code)) return new AuthError(code as AuthErrorCode, message, { cause: err })
  return new AuthError('ERR_NODE', message, { cause: err })
}
