/**
 * The one internal interface between HyphaNode and its database engine. Only engine/*.ts know
 * that the engine is Autobase 6 with a Hyperbee view; a move to another engine stays here.
 */
import type { TypedEmitter } from '@hypha/ephemeral-ext'
import type { Op } from './ops.js'

/** A raw view entry: the user key and the tagged value bytes (see ops.ts). */
export interface EngineEntry {
  key: Uint8Array
  value: Uint8Array
}

export interface EngineRange {
  gt?: Uint8Array
  gte?: Uint8Array
  lt?: Uint8Array
  lte?: Uint8Array
  limit?: number
  reverse?: boolean
}

/** A core the database is held in (see `Engine.syncCores`). */
export interface SyncCore {
  key: Uint8Array
  /**
   * Full engine: how many of this writer core's blocks are applied to the view. What counts there,
   * not the blocks held: Autobase fast-forwards a node to the indexers' signed view, so it need not
   * hold the oplog blocks that view already covers. Null on a blind engine (it applies nothing).
   */
  applied: number | null
}

/** A user entry whose value differs between two states of the view (see `Engine.watch`). */
export interface EngineChange {
  key: Uint8Array
  /** The tagged value bytes now; null: deleted. */
  value: Uint8Array | null
  /** The tagged value bytes before; null: there was none. */
  previous: Uint8Array | null
}

/** The changes to the user entries of a range, from when it was made (see `Engine.watch`). */
export interface EngineWatch {
  /** The changes since the last call (the first: since the watch began) once there are some, in key order; null once closed. */
  next(): Promise<EngineChange[] | null>
  /** Ends it: a pending `next()` resolves null. */
  close(): void
}

export interface WriterInfo {
  /** The writer's oplog core key: what `addWriter`/`removeWriter` take. */
  key: Uint8Array
  /** True for the origin's writer (implicitly a writer from the start). */
  origin: boolean
  indexer: boolean
}

/** A device in the registry: every writer that ever was, with who added and who revoked it. */
export interface DeviceInfo {
  /** Its writer core key. */
  writerKey: Uint8Array
  /** The name it asked with ("Firefox on Ubuntu 64-bit"); '' if none was recorded. */
  name: string
  /** The key that signs its secure-channel messages; null if none (a recovery key). */
  channelKey: Uint8Array | null
  /** The database's first writer. */
  origin: boolean
  indexer: boolean
  /** A recovery key (made at sign-up, used once to recover write access), not a device. */
  recovery: boolean
  /** Still a writer. */
  active: boolean
  /** Writer key of the device that added it; null for the origin. */
  addedBy: Uint8Array | null
  /** When it was added, by the adder's clock (ms since 1970); null if not recorded. */
  addedAt: number | null
  /** Writer key of the device that revoked it; null while active. */
  revokedBy: Uint8Array | null
  revokedAt: number | null
}

/** An op in the log that apply skipped. Reported again if a reorder makes Autobase re-apply it. */
export interface InvalidOp {
  /** Key of the writer core the op came from. */
  writer: Uint8Array
  /** Index of the op in that core. */
  seq: number
  reason: 'malformed' | 'not-a-writer' | 'last-indexer' | 'not-a-member' | 'bad-channel-proof'
  message: string
}

/** A core an always-on node keeps (see `node.seeded()`). */
export interface SeededCore {
  key: Uint8Array
  /** Length the core is known to have (blocks). */
  length: number
  /** Blocks held locally from the start without a gap. */
  contiguousLength: number
  /** Bytes of the `length` blocks (what counts toward `maxCoreBytes` and `maxKeptBytes`). */
  byteLength: number
}

/**
 * Keeping whole cores downloaded and served, by key: what an always-on node does for the cores
 * peers announce (seeding.ts) or it is given (`node.seed`).
 */
export interface CoreSeeder {
  /** Whether this core is kept (or being opened). */
  has(key: Uint8Array): boolean
  /**
   * Keeps the core with this key downloaded (all of it, and whatever is appended later).
   * Resolves false if it was kept already; rejects with `SeedError` `ERR_SEED_LIMIT` past the bound,
   * `ERR_SEED_BUDGET` for a core known to be past a byte budget (or refused for it before).
   */
  seed(key: Uint8Array): Promise<boolean>
  seeded(): SeededCore[]
}

export interface EngineEvents {
  /** The view changed (local or remote ops applied, or a reorder). */
  update: []
  /** This node became a writer (true) or stopped being one (false). */
  writable: [writable: boolean]
  'invalid-op': [op: InvalidOp]
  /**
   * Blind engine: a kept core grew past a byte budget and was dropped (`SeedError` `ERR_SEED_BUDGET`),
   * or one kept before a restart was not kept again (past a bound lowered since, or opening it failed).
   */
  'seed-refused': [key: Uint8Array, error: unknown]
  error: [error: unknown]
}

export interface Engine extends TypedEmitter<EngineEvents> {
  /** Database key (the Autobase key). */
  readonly key: Uint8Array
  readonly discoveryKey: Uint8Array
  /** This node's writer core key (what another writer passes to addWriter), null if it has none. */
  readonly localWriterKey: Uint8Array | null
  readonly writable: boolean
  /** False on a blind engine (no encryption key): it stores and serves ciphertext only. */
  readonly readable: boolean
  /** The Corestore every core of this engine lives in: what connections replicate. */
  readonly store: any
  /** Ops apply skipped since the engine opened (always 0 on a blind engine: it applies nothing). */
  readonly invalidOps: number
  /** Set once the engine failed on its storage and closed (`ERR_STORAGE`, the storage's error as `cause`). */
  readonly failure: Error | null
  /** The blind engine's core keeping; null on a full engine (its cores follow from the registry). */
  readonly seeder: CoreSeeder | null
  /**
   * A number that changes with every 'update': the view's version (its length in blocks; a reorder
   * may lower it) on a full engine, the blocks held of the kept cores on a blind one.
   */
  readonly version: number
  /**
   * The cores this engine holds the database in, whose sync with peers `node.syncStatus()` reports:
   * the current writers' cores (full), the kept cores (blind).
   */
  syncCores(): Promise<SyncCore[]>
  /** Readable engines: the changes to the user entries in `range` (no limit, no reverse) from now on. */
  watch(range: EngineRange): EngineWatch
  ready(): Promise<void>
  close(): Promise<void>
  /** Waits until everything already received is applied to the view. */
  update(): Promise<void>
  /** Appends ops as one Autobase append (one batch). */
  append(ops: Op[]): Promise<void>
  get(key: Uint8Array): Promise<Uint8Array | null>
  range(range: EngineRange): AsyncIterable<EngineEntry>
  writers(): Promise<WriterInfo[]>
  isWriter(key: Uint8Array): Promise<boolean>
  /** The device registry (readable engines only). */
  devices(): Promise<DeviceInfo[]>
  /** The device whose messages this channel key signs, or null. */
  deviceByChannelKey(channelKey: Uint8Array): Promise<DeviceInfo | null>
}
