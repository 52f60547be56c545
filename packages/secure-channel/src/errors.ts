export type SecureChannelErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_NO_KEY'
  | 'ERR_CLOSED'

/** Thrown by SecureChannel's constructor and `send`. Received envelopes are never thrown: see `rejected`. */
export class SecureChannelError extends Error {
  readonly code: SecureChannelErrorCode

  constructor(code: SecureChannelErrorCode, message: string) {
    super(message)
    this.name = 'SecureChannelError'
    this.code = code
  }
}
