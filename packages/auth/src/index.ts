export { Account, AuthorisationPrompt, AuthorisationRequest, signUp, signIn, recover } from './account.js'
export type {
  AccountOptions,
  SignUpOptions,
  SignInOptions,
  RecoverOptions,
  RequestOptions,
  PromptStatus,
  PromptWarning,
  RefusalReason,
  AccountEvents,
  AccountDevice,
  ApproverCode,
  AuthorisationRequestEvents
} from './account.js'
export { AuthError, type AuthErrorCode } from './errors.js'
export { MIN_PASSPHRASE_BITS, passphraseStrengthBits, checkPassphraseStrength } from './strength.js'
export { RECOVERY_CODE_BYTES, generateRecoveryCode, decodeRecoveryCode } from './recovery.js'
export {
  AUTH_CONTENT_TYPE,
  MAX_NODE_NAME_BYTES,
  MAX_REASON_BYTES,
  NONCE_BYTES,
  AuthMessageError,
  encodeAuthMessage,
  decodeAuthMessage,
  requestDigest,
  commitment,
  verificationCode
} from './messages.js'
export type { AuthMessage, AuthRequest, AuthChallenge, AuthReveal, AuthApprove, AuthDeny, AuthCancel } from './messages.js'
