/** The public types of a HyphaNode: its options, data shapes and events. */
import type { EphemeralPeer } from '@hypha/ephemeral-ext'
import type { DeviceInfo, InvalidOp } from './engine/types.js'
import type { KeyPair } from './keys.js'
import type { HeadsError } from './heads.js'
import type { SeedError } from './seed-announce.js'
import type { StorageAdapter } from './storage/types.js'
import type { HyphaNodeError } from './engine/errors.js'
import type { ConnectionInfo, SecretStream, Transport } from './transports/types.js'

/** What a node is: the origin (created the database), a read-only device (joined it), or an always-on node (stores ciphertext). */
export type Role = 'origin' | 'read-only' | 'always-on'
/** A key is a string (UTF-8) or bytes, 1 to 4096 bytes, ordered bytewise. */
export type Key = string | Uint8Array
/** A value is a string or bytes, and is given back as the same type. */
export type Value = string | Uint8Array

/**
 * Every option is checked by the constructor: an invalid one throws `ERR_INVALID_ARGUMENT` naming
 * it (see node-values.ts `checkOptions`); `undefined` means "not given".
 */
interface CommonOptions {
  /** Where cores are stored. Default: {@link memoryStorage} (nothing survives the process). */
  storage?: StorageAdapter
  /** Transports started in `ready()` and stopped in `close()`. */
  transports?: Transport[]
  /**
   * A connection that has not proven membership (member-gate.ts) this long after it came is
   * closed (`peer-refused`, `ERR_MEMBER_PROOF_TIMEOUT`). ms, 1 to 2^31 − 1. Default 10 000.
   */
  memberProofTimeoutMs?: number
  /**
   * Most connections at once: when all have proven membership, a new one is closed
   * (`ERR_TOO_MANY_CONNECTIONS`); otherwise the one longest at the gate makes room. Default 1024.
   */
  maxConnections?: number
  /**
   * Most connections at once still at the membership gate: one more closes the one there longest
   * (`ERR_TOO_MANY_CONNECTIONS`), so a stranger's idle connections cannot crowd out the members'
   * (who prove within a round trip). Default 64.
   */
  maxUnprovenConnections?: number
  /**
   * This device's clock (ms since the epoch): what the secure channel stamps its envelopes with and
   * judges theirs against, and what `node.now()` gives. Default `Date.now`; tests give a skewed one.
   */
  now?: () => number
}

/** Options of an origin or read-only node: the root secret, what to do on a fresh storage, lookup and writer settings. */
export interface FullNodeOptions extends CommonOptions {
  /**
   * What to do on a storage that holds no device yet: 'origin' creates a new database (this device
   * is its origin and first writer); 'read-only' joins the account's database, read-only until a
   * writer adds it. On a storage that already holds this account's device the device is reopened
   * as it was (an origin stays the origin, a writer stays a writer), whatever `role` says.
   */
  role: 'origin' | 'read-only'
  /**
   * The account's 32-byte root secret (@hypha/auth's `deriveRootSecret` makes it from the
   * passphrase; node-core never sees one): finds and reads the database; never writes.
   */
  rootSecret: Uint8Array
  /**
   * Joining only: the database to open. Leave out to look it up among the account's peers on the
   * lookup topic (see lookup.ts). Ignored (checked) when the storage holds a device already.
   */
  databaseKey?: Uint8Array
  /** Joining by lookup: give up with `ERR_NOT_FOUND` after this long (ms, 1 to 2^31 − 1). Default 60 000. */
  lookupTimeoutMs?: number
  /**
   * Joining by lookup: after the first answer, keep listening this long (ms) for a different one
   * (`ERR_ACCOUNT_CONFLICT`) before `ready()` resolves. The answered database is opened and
   * replicated meanwhile (read only: no record, no lookup answer until it passed). 0 to 2^31 − 1.
   * Default 250.
   */
  lookupSettleMs?: number
  /**
   * Creating: first listen this long (ms) on the lookup topic for an existing database of this
   * account, and fail with `ERR_ACCOUNT_EXISTS` if one answers. 0 to 2^31 − 1. Default 0 (create at once).
   */
  existingAccountCheckMs?: number
  /**
   * Write with this key pair instead of the device's own random one (account recovery: the
   * recovery key). Default: the device's own, from its storage.
   */
  writerKeyPair?: KeyPair
  /** Autobase ack interval in ms (1 to 2^31 − 1) when this node is an indexer. Default 1000. */
  ackInterval?: number
}

/** Options of an always-on node: the member credential, and what it keeps (see README "Always-on"). */
export interface AlwaysOnNodeOptions extends CommonOptions {
  role: 'always-on'
  /**
   * Required (or `locator`): a member device's `node.memberCredential`, one string (hex) or its
   * bytes. It holds the lookup topic, the database key, a proof only a member can make (so this
   * node can tell new devices the database key) and the member key (so it relays, seeds and
   * answers only for members). It reads nothing with it and cannot make a credential of its own.
   */
  memberCredential?: Uint8Array | string
  /** The former name of `memberCredential` (same format; an old 96-byte locator is refused). */
  locator?: Uint8Array | string
  /** The database key: only checked against the credential's (`ERR_INVALID_ARGUMENT` if it differs). */
  databaseKey?: Uint8Array
  /** Noise key pair for transports. Default: one held in its storage (the same across restarts). */
  noiseKeyPair?: KeyPair
  /** Most cores kept (the origin's included); announced keys past it are refused. Default 256. */
  maxSeededCores?: number
  /**
   * Most bytes of one kept core (1 to 2^53 − 1): a writer core known to be longer is no longer
   * downloaded or stored (`seed-refused`, `ERR_SEED_BUDGET`). The origin's core is exempt. Default 1 GiB (2^30).
   */
  maxCoreBytes?: number
  /**
   * Most bytes of all kept cores together, the origin's included (1 to 2^53 − 1): a writer core
   * whose addition or growth takes the total past it is refused like one past `maxCoreBytes`
   * (the origin's core counts but is never refused). Default 8 GiB (2^33).
   */
  maxKeptBytes?: number
}

/** Options of `new HyphaNode`: a full node's (origin, read-only) or an always-on node's. */
export type HyphaNodeOptions = FullNodeOptions | AlwaysOnNodeOptions

/** One operation of `node.batch`: a put (with its value) or a del. */
export interface BatchOp {
  type: 'put' | 'del'
  key: Key
  /** Required for 'put'. */
  value?: Value
}

/**
 * Keys compare bytewise (strings as UTF-8). Bounds may be empty ('' is below every key) and at most
 * MAX_KEY_BYTES; `prefix` (every key that starts with it) cannot be combined with the bounds.
 */
export interface Range {
  gt?: Key
  gte?: Key
  lt?: Key
  lte?: Key
  /** Every key that starts with these bytes ('' or none: every key). */
  prefix?: Key
  /** Most entries given (0 or more). Default: all. */
  limit?: number
  /** Descending key order. Default false. */
  reverse?: boolean
}

/** An entry as `list` and `entries` give it: the key as text and bytes, and the value. */
export interface Entry {
  /** The key decoded as UTF-8 (keys put as strings come back unchanged). */
  key: string
  /** The key's exact bytes. */
  keyBytes: Uint8Array
  value: Value
}

/** A current writer (`node.writers()`): its key, and whether it is the origin and an indexer. */
export interface Writer {
  key: Uint8Array
  origin: boolean
  indexer: boolean
}

/** An open connection of the node (`node.connections`): its Noise stream, how it was made, its ephemeral peer. */
export interface NodeConnection {
  stream: SecretStream
  info: ConnectionInfo
  /** The connection's ephemeral channel (opens when the remote attaches too). */
  ephemeral: EphemeralPeer
}

/** A connected peer, as `node.syncStatus()` lists it. */
export interface SyncPeer {
  /** Its Noise public key (the connection's `stream.remotePublicKey`). */
  remotePublicKey: Uint8Array
  /** The transport that made the connection ('tcp', 'websocket', …: `ConnectionInfo.transport`). */
  transport: string
  /** Its address for logs, if the transport knows it. */
  remote?: string
  /** True when this node dialled. */
  isInitiator: boolean
}

/** How one core of the database here compares with the connected peers' copies (see `node.syncStatus()`). */
export interface CoreSyncStatus {
  key: Uint8Array
  /** Length (blocks) this node knows the core has. */
  length: number
  /** Blocks this node holds from the start without a gap. */
  contiguousLength: number
  /** The most any connected peer says the core has (0 without peers of it). */
  remoteLength: number
  /** The most blocks any connected peer holds from the start (0 without peers of it). */
  remoteContiguousLength: number
  /**
   * Full nodes: how many of this writer core's blocks are applied to the view (Autobase may
   * fast-forward a node to the indexers' signed view, so it need not hold every block the view
   * covers: `contiguousLength` can stay below it). Null on always-on.
   */
  applied: number | null
  /** Connected peers that replicate this core. */
  peers: number
  /**
   * This node has what its peers have of it: every peer of it told its state, `length ≥
   * remoteLength`, and `applied` (full) or `contiguousLength` (always-on) `≥ remoteContiguousLength`.
   */
  synced: boolean
}

/**
 * 'offline': no connection. 'syncing': connected, and some peer has more of a core, or has not told
 * its state yet. 'synced': connected, and this node has everything every connected peer has of the
 * cores it knows of (and, on a full node, has applied it to the view).
 */
export type SyncState = 'offline' | 'syncing' | 'synced'

/** See `node.syncStatus()`. */
export interface SyncStatus {
  state: SyncState
  /** `state === 'synced'`. */
  synced: boolean
  peers: SyncPeer[]
  /** The cores the database is held in: the current writers' (full nodes), the kept ones (always-on). */
  cores: CoreSyncStatus[]
}

/** What an `update` event carries. */
export interface UpdateInfo {
  /**
   * The view's version now (its length in blocks; it grows with every apply, and a reorder may
   * lower it); on always-on, the blocks held of the kept cores.
   */
  version: number
  /** The version at the previous `update` event (at opening, for the first). */
  previousVersion: number
}

/** An entry that changed, as `node.watch(range)` yields it. */
export interface Change {
  key: string
  keyBytes: Uint8Array
  /** Its value now; null: deleted. */
  value: Value | null
  /** Its value before; null: it did not exist. */
  previous: Value | null
}

/** A range for `node.watch`: bounds or a prefix, as for `list`, without `limit` or `reverse`. */
export type WatchRange = Omit<Range, 'limit' | 'reverse'>

/** See `node.synced()`. */
export interface SyncedOptions {
  /** Give up after this long (ms, 1 to 2^31 − 1): rejects `ERR_TIMEOUT`. Default: wait for ever. */
  timeoutMs?: number
}

/** See `node.addWriter`. */
export interface AddWriterOptions {
  /** Take part in ordering consensus too. Default false. */
  indexer?: boolean
  /** The device's name: at most 128 UTF-8 bytes. Default ''. */
  name?: string
  /** The 32-byte key its secure-channel messages are signed with; needs `channelProof`. */
  channelKey?: Uint8Array | null
  /** Its holder's 64-byte `node.channelProof()`. */
  channelProof?: Uint8Array | null
  /** A recovery key rather than a device. Default false. */
  recovery?: boolean
}

/** A device of the registry (see `node.devices()`). */
export type Device = DeviceInfo

/** Events of a `HyphaNode`: connections, updates, sync status, writers, conflicts, refused peers, seeding, errors. */
export interface HyphaNodeEvents {
  /**
   * A peer proved another database for this account (two sign-ups with one passphrase). The
   * node keeps its own; the person has to pick one (see @hypha/auth's README).
   */
  'account-conflict': [databaseKey: Uint8Array]
  /**
   * A writer core's history here differs from a peer's (two holders of one writer key appended
   * the same index: see heads.ts). Ops after the fork on one side never reach the other.
   */
  'writer-conflict': [writerKey: Uint8Array]
  /** Full nodes: a peer's heads message (see heads.ts) did not decode; it was ignored. */
  'bad-heads': [error: HeadsError, peer: EphemeralPeer]
  /** The view changed: local or remote ops were applied (or reordered); always-on: blocks downloaded. */
  update: [info: UpdateInfo]
  /**
   * `node.syncStatus()` changed state ('offline', 'syncing', 'synced') or its set of peers changed
   * (bursts coalesce: one event per change of either, with the status then).
   */
  'sync-status': [status: SyncStatus]
  /** This node became a writer (true) or was removed (false). */
  writable: [writable: boolean]
  /** apply skipped an op (malformed, or from a key that is not a writer). */
  'invalid-op': [op: InvalidOp]
  /** A connection proved membership and carries the node's channels. */
  connection: [connection: NodeConnection]
  disconnection: [connection: NodeConnection]
  /**
   * A connection was closed at the membership gate: `ERR_NOT_A_MEMBER` (a wrong proof, or too much
   * sent before one), `ERR_MEMBER_PROOF_TIMEOUT` or `ERR_TOO_MANY_CONNECTIONS`. Nothing of the
   * node's ran on it.
   */
  'peer-refused': [error: HyphaNodeError, info: ConnectionInfo]
  /** Always-on: it now keeps this core (announced by a peer, or given to `seed`). */
  seeded: [key: Uint8Array]
  /**
   * Always-on: an announced core, or one saved before a restart, was not kept (`ERR_SEED_LIMIT`,
   * `ERR_SEED_BUDGET`, or opening it failed), or a kept one was dropped past a byte budget
   * (`ERR_SEED_BUDGET`, once per core).
   */
  'seed-refused': [key: Uint8Array, error: unknown]
  /**
   * Always-on: a peer's seed announcement was ignored: not made with the member key
   * (`ERR_NOT_A_MEMBER`, a stranger's or an old `hypha/seed/1` one), or it did not decode.
   */
  'bad-announcement': [error: SeedError, peer: EphemeralPeer]
  /**
   * A transport reported a problem it recovers from (a dial refused, a handshake failed, a bad
   * signalling frame: its 'connection-error' or 'error' event); the node keeps running. From the
   * Hypha transports it is a TransportError.
   */
  'transport-error': [error: unknown, transport: Transport]
  /**
   * The database failed on its storage: a `HyphaNodeError` `ERR_STORAGE` with the storage's own error
   * (`ENOSPC`, `QuotaExceededError`, ...) as `cause`. The database is closed: the write in flight
   * and every later call reject with this same error.
   */
  error: [error: unknown]
}
