export { Account, AuthorisationPrompt, AuthorisationRequest, signUp, signIn } from './account.js'
export type {
  AccountOptions,
  SignUpOptions,
  SignInOptions,
  RequestOptions,
  PromptStatus,
  AccountEvents
} from './account.js'
export { AuthError, type AuthErrorCode } from './errors.js'
export {
  AUTH_CONTENT_TYPE,
  MAX_NODE_NAME_BYTES,
  MAX_REASON_BYTES,
  AuthMessageError,
  encodeAuthMessage,
  decodeAuthMessage,
  requestDigest,
  verificationCode
} from './messages.js'
export type { AuthMessage, AuthRequest, AuthApprove, AuthDeny, AuthCancel } from './messages.js'
