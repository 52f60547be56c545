/** Why a message was refused, on send (thrown) or on receive (reported in `bad-message`). */
export type EphemeralErrorCode =
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_CONTENT_TYPE_INVALID'
  | 'ERR_MALFORMED_FRAME'
  | 'ERR_UNSUPPORTED_VERSION'
  | 'ERR_PEER_NOT_OPEN'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_CLOSED'
  /** A layer above dropped the connection (`EphemeralExtension.drop`); `cause` says why. */
  | 'ERR_PEER_DROPPED'

/** The one error type of `@hypha/ephemeral-ext`: a `code` (`EphemeralErrorCode`) and, where there is one, a `cause`. */
export class EphemeralError extends Error {
  readonly code: EphemeralErrorCode

  constructor(code: EphemeralErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EphemeralError'
    this.code = code
  }
}
