export type AuthErrorCode =
  | 'ERR_DENIED'
  | 'ERR_TIMEOUT'
  | 'ERR_CANCELLED'
  | 'ERR_CLOSED'
  | 'ERR_NOT_WRITABLE'
  | 'ERR_ALREADY_SETTLED'
  | 'ERR_INVALID_ARGUMENT'

export class AuthError extends Error {
  readonly code: AuthErrorCode

  constructor(code: AuthErrorCode, message: string) {
    super(message)
    this.name = 'AuthError'
    this.code = code
  }
}
