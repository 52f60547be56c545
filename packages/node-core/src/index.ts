export { HyphaNode } from './node.js'
export {
  type Device,
  type Role,
  type Key,
  type Value,
  type HyphaNodeOptions,
  type FullNodeOptions,
  type AlwaysOnNodeOptions,
  type BatchOp,
  type Range,
  type Entry,
  type Writer,
  type NodeConnection,
  type HyphaNodeEvents,
  type AddWriterOptions,
  type SyncPeer,
  type SyncState,
  type SyncStatus,
  type CoreSyncStatus,
  type SyncedOptions,
  type UpdateInfo,
  type Change,
  type WatchRange
} from './node-types.js'
export { SYNCING_POLL_MS } from './sync.js'
export { databaseKeyFromOriginPublicKey as writerCoreKey } from './engine/autobase.js'
export { HyphaNodeError, type HyphaNodeErrorCode } from './engine/errors.js'
export type { InvalidOp } from './engine/types.js'
export type { SeededCore } from './engine/types.js'
export {
  SEED_CONTENT_TYPE,
  SEED_CONTENT_TYPE_V1,
  MAX_ANNOUNCED_KEYS,
  DEFAULT_MAX_SEEDED_CORES,
  DEFAULT_MAX_CORE_BYTES,
  DEFAULT_MAX_KEPT_BYTES,
  SeedError,
  encodeSeedAnnouncement,
  decodeSeedAnnouncement,
  seedKey,
  type SeedErrorCode
} from './seed-announce.js'
export { MAX_KEY_BYTES, MAX_VALUE_BYTES } from './engine/ops.js'
export {
  deriveSubkey,
  deriveChannelKey,
  deriveEncryptionKey,
  deriveMemberKey,
  deriveAccountKeys,
  CONTEXTS,
  ROOT_SECRET_BYTES,
  type KeyPair,
  type AccountKeys
} from './keys.js'
export {
  AccountLookup,
  LOOKUP_CONTENT_TYPE,
  LOCATOR_BYTES,
  MEMBER_CREDENTIAL_BYTES,
  MEMBER_CREDENTIAL_VERSION,
  encodeLocator,
  decodeLocator,
  encodeMemberCredential,
  decodeMemberCredential,
  lookupProof,
  type Locator,
  type MemberCredential,
  type AccountLookupEvents
} from './lookup.js'
export { DEVICE_KEY_NAMES, DEVICE_RECORD_FILE, DEVICE_FILE_MAX_BYTES, type DeviceKeys, type DeviceRecord } from './device.js'
export { MAX_DEVICE_NAME_BYTES, isWellFormed } from './engine/ops.js'
export type { DeviceInfo } from './engine/types.js'
export { HEADS_CONTENT_TYPE, HeadsError, type HeadsErrorCode } from './heads.js'
export { strictUtf8, decodeCanonical } from '@hypha/ephemeral-ext'
export type { CompactEncoding, CompactState } from '@hypha/ephemeral-ext'
export { CHANNEL_PROOF_BYTES, signChannelProof, verifyChannelProof } from './channel-proof.js'
export { coalesced, type CoalescedOptions } from './coalesce.js'
export { memberGate, MEMBER_GATE_PROTOCOL, DEFAULT_MEMBER_PROOF_TIMEOUT_MS, MAX_UNPROVEN_BYTES, WRONG_PROOF_LINGER_MS } from './member-gate.js'
export { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_UNPROVEN_CONNECTIONS } from './node-values.js'
export { memoryStorage } from './storage/memory.js'
export type { StorageAdapter, StorageFunction } from './storage/types.js'
export type {
  Transport,
  TransportContext,
  ConnectionInfo,
  SecretStream,
  WebSocketLike,
  WebSocketConstructor
} from './transports/types.js'
export {
  TransportError,
  DEFAULT_RECONNECT,
  type TransportErrorCode,
  type TransportEvents,
  type ReconnectOptions,
  type SecretStreamOptions
} from './transports/stream-transport.js'
export { TypedEmitter } from '@hypha/ephemeral-ext'
export type { TypedEmitterConstructor, EventMap, TypedListener } from '@hypha/ephemeral-ext'
