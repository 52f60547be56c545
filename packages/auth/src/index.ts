export { Account } from './account.js'
export { signUp, signIn } from './open-account.js'
export { AuthorisationPrompt, type PromptStatus, type PromptWarning } from './prompt.js'
export {
  AuthorisationRequest,
  CONFIRM_MS,
  type ApproverCode,
  type ApproverRefusal,
  type AuthorisationRequestEvents,
  type RequestState
} from './request.js'
export { DEFAULT_OTHER_ACCOUNT_SETTLE_MS } from './other-account.js'
export { recover, type RecoverOptions } from './recover.js'
export type {
  AccountOptions,
  SignUpOptions,
  SignInOptions,
  RequestOptions,
  RefusalReason,
  AccountEvents,
  AccountDevice
} from './account-options.js'
export { AuthError, type AuthErrorCode } from './errors.js'
export {
  deriveRootSecret,
  generatePassphrase,
  passphraseEntropyBits,
  normaliseName,
  normalisePassphrase,
  saltFor,
  WORDLIST,
  DEFAULT_PASSPHRASE_WORDS,
  DEFAULT_KDF_PARAMS,
  SALT_CONTEXT,
  SALT_BYTES,
  type KdfParams
} from './passphrase.js'
export { MIN_PASSPHRASE_BITS, passphraseStrengthBits, checkPassphraseStrength } from './strength.js'
export { RECOVERY_CODE_BYTES, generateRecoveryCode, decodeRecoveryCode } from './recovery.js'
export {
  AUTH_CONTENT_TYPE,
  MAX_NODE_NAME_BYTES,
  MAX_REASON_BYTES,
  NONCE_BYTES,
  REFUSAL_REASONS,
  AuthMessageError,
  encodeAuthMessage,
  decodeAuthMessage,
  requestDigest,
  commitment,
  verificationCode
} from './messages.js'
export type { AuthMessage, AuthRequest, AuthChallenge, AuthReveal, AuthApprove, AuthDeny, AuthCancel, AuthRefuse } from './messages.js'
export { REQUEST_MAX_AGE_MS, MAX_REQUEST_CLOCK_SKEW_MS, MAX_SETTLED_REQUESTS } from './settled.js'
