export { SecureChannel } from './channel.js'
export {
  SECURE_CONTENT_TYPE,
  DEFAULT_MAX_HOPS,
  DEFAULT_MAX_AGE_MS,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_MAX_SEEN,
  DEFAULT_MAX_ENVELOPES_PER_SECOND,
  DEFAULT_ENVELOPE_BURST,
  DEFAULT_MAX_EXCESS_ENVELOPES,
  MAX_PENDING_PER_PEER
} from './channel-types.js'
export type {
  SecureChannelOptions,
  SecureMessage,
  SecureChannelEvents,
  SecureChannelStats,
  SendOptions,
  Rejection,
  RejectionReason,
  Relayed,
  ClockSkew,
  RateLimits,
  PeerDropped,
  PeerDropReason
} from './channel-types.js'
export { SecureChannelError } from './errors.js'
export type { SecureChannelErrorCode } from './errors.js'
export {
  MAX_CONTENT_TYPE_BYTES,
  sealEnvelope,
  assembleEnvelope,
  encodeHeader,
  decodeEnvelope,
  verifyEnvelope,
  openEnvelope,
  withTtl,
  randomBytes,
  createKeyPair,
  createChannelKey,
  createMemberKey,
  memberTag,
  verifyMemberTag,
  TAG_BYTES,
  EnvelopeDecodeError,
  ENVELOPE_VERSION,
  ENVELOPE_OVERHEAD_BYTES,
  PADDING_BUCKETS,
  PADDING_HEADROOM_BYTES,
  MIN_PADDING_BYTES,
  paddedLength
} from './envelope.js'
export type { Envelope, EnvelopeFields, EnvelopeHeader, SealInput, KeyPair } from './envelope.js'
export {
  MEMBER_PROOF_CONTENT_TYPE,
  MEMBER_PROOF_BYTES,
  MEMBER_PROOF_MESSAGE_BYTES,
  PROOF_FLAG_REQUEST,
  memberProof,
  encodeMemberProof,
  verifyMemberProof,
  connectionBinding
} from './member-proof.js'
export type { ConnectionBinding } from './member-proof.js'
export { SeenFilter } from './seen-filter.js'
