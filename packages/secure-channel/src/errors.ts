/** The `code` of a `SecureChannelError`. */
export type SecureChannelErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_NO_KEY'
  | 'ERR_CLOSED'
  /** A connection sent envelopes faster than its rate limit for too long; it was dropped. */
  | 'ERR_RATE_LIMITED'
  /** A connection sent a membership proof that is not right for the account's member key; it was dropped. */
  | 'ERR_NOT_A_MEMBER'
  /** `decodeEnvelope`: the bytes are not an envelope (EnvelopeDecodeError, `reason` 'malformed'). */
  | 'ERR_MALFORMED_ENVELOPE'
  /** `decodeEnvelope`: an envelope of a version this package does not read (`reason` 'unsupported-version'). */
  | 'ERR_UNSUPPORTED_VERSION'

/**
 * Thrown by SecureChannel's constructor and `send`, and (as EnvelopeDecodeError) by `decodeEnvelope`.
 * Received envelopes are never thrown: see `rejected`.
 */
export class SecureChannelError extends Error {
  readonly code: SecureChannelErrorCode

  constructor(code: SecureChannelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SecureChannelError'
    this.code = code
  }
}

/** An envelope that could not be decoded: `reason` is the `rejected` reason a channel reports for it. */
export class EnvelopeDecodeError extends SecureChannelError {
  constructor(
    /** The `rejected` reason a channel reports for it. */
    readonly reason: 'malformed' | 'unsupported-version',
    message: string,
    options?: { cause?: unknown }
  ) {
    super(reason === 'malformed' ? 'ERR_MALFORMED_ENVELOPE' : 'ERR_UNSUPPORTED_VERSION', message, options)
    this.name = 'EnvelopeDecodeError'
  }
}
