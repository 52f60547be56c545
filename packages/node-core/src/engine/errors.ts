/** Stable error codes of @hypha/node-core: match on `error.code`, never on the message. */
export type HyphaNodeErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  /** The node is not (or no longer) a writer of the database. */
  | 'ERR_NOT_WRITABLE'
  /** The node holds no encryption key (an always-on node): it cannot read or write data. */
  | 'ERR_NOT_READABLE'
  /** The node was closed. */
  | 'ERR_CLOSED'
  /** The operation is not allowed for this node's role. */
  | 'ERR_WRONG_ROLE'
  /** Used before `ready()` resolved (keys and the database key are read from storage). */
  | 'ERR_NOT_OPEN'
  /** The storage holds a device of another account, or the passphrase or the name is wrong. */
  | 'ERR_OTHER_ACCOUNT'
  /** The storage holds a device of another database than the one asked for. */
  | 'ERR_OTHER_DATABASE'
  /** No peer of the account told the database key in time. */
  | 'ERR_NOT_FOUND'
  /** Peers proved two different databases for one account. */
  | 'ERR_ACCOUNT_CONFLICT'
  /** Creating a database for an account that has one already. */
  | 'ERR_ACCOUNT_EXISTS'
  /** Reading or writing the storage failed, or what it holds is corrupt. */
  | 'ERR_STORAGE'
  /** A connection's membership proof was wrong, or it sent too much before proving (member-gate.ts). */
  | 'ERR_NOT_A_MEMBER'
  /** A connection did not prove membership in time (`memberProofTimeoutMs`). */
  | 'ERR_MEMBER_PROOF_TIMEOUT'
  /** A connection was refused: the node has `maxConnections` (or `maxUnprovenConnections` not yet proven). */
  | 'ERR_TOO_MANY_CONNECTIONS'
  /** A wait given a time limit (`node.synced({ timeoutMs })`) ran out. */
  | 'ERR_TIMEOUT'
  /** A transport could not start (e.g. its port is in use: `EADDRINUSE`); the transport's `TransportError` is the cause. */
  | 'ERR_TRANSPORT'
  /** libsodium cannot run the Noise handshake: a browser build without @hypha/browser's shim (sodium-check.ts). */
  | 'ERR_SODIUM_SHIM_MISSING'

export class HyphaNodeError extends Error {
  override name = 'HyphaNodeError'
  constructor(
    readonly code: HyphaNodeErrorCode,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options)
  }
}

/** "QuotaExceededError", "ENOSPC: no space left on device, write": what an error is, for a message. */
export function describeError(err: unknown): string {
  if (err === null || typeof err !== 'object') return String(err)
  const e = err as { name?: unknown; code?: unknown; message?: unknown }
  const name = typeof e.name === 'string' && e.name !== 'Error' ? e.name : ''
  const code = typeof e.code === 'string' ? e.code : ''
  const message = typeof e.message === 'string' ? e.message : ''
  return [name, code && !message.startsWith(code) ? code : '', message].filter((s) => s !== '').join(': ') || 'unknown error'
}

/**
 * `ERR_STORAGE` for `what` failed because of `err` (e.g. Hypercore's `WRITE_FAILED`); `cause` is the
 * storage's own error when the node saw it (`storageFailure`: a `QuotaExceededError`, an `ENOSPC`,
 * an `ELOCKED`), else `err`.
 */
export function storageError(what: string, err: unknown, storageFailure: unknown): HyphaNodeError {
  if (err instanceof HyphaNodeError) return err
  const cause = storageFailure ?? err
  return new HyphaNodeError('ERR_STORAGE', `${what}: ${describeError(cause)}`, { cause })
}

/** "cannot listen on 127.0.0.1:4002 (EADDRINUSE)": an error's message and its innermost cause's code or message. */
export function describeChain(err: unknown): string {
  let root = err
  for (let depth = 0; depth < 8 && root instanceof Error && root.cause !== undefined; depth++) root = root.cause
  const outer = err instanceof Error ? err.message : String(err)
  if (root === err) return outer
  const code = (root as { code?: unknown } | null)?.code
  return `${outer} (${typeof code === 'string' ? code : describeError(root)})`
}
