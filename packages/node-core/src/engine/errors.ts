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
  /** The key derivation failed (bad parameters, WASM failure). */
  | 'ERR_KDF'

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
