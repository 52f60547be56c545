/**
 * HyphaNode: the public class. It settles the options by role and hands each job to its module:
 * node-lifecycle.ts (opening and closing; device-database.ts picks the database), connections.ts
 * (transports and connections), membership.ts (writers and the device registry), node-values.ts
 * (argument checks and the value codec), seeding.ts and heads.ts (what nodes tell each other on the
 * ephemeral channel). Public types are in node-types.ts; tests and benchmarks look inside through
 * debug.ts (`@hypha/node-core/debug`).
 *
 * One file on purpose (over 400 lines): it is the public API, each method a few lines that hand
 * over to a module, under the docstring apps read; splitting the class would split its docs.
 */
import { TypedEmitter } from '@hypha/ephemeral-ext'
import type { EphemeralExtension } from '@hypha/ephemeral-ext'
import type { SecureChannel } from '@hypha/secure-channel'
import b4a from 'b4a'
import { HyphaNodeError } from './engine/errors.js'
import { Corestore, Hypercore } from './engine/holepunch.js'
import type { Op } from './engine/ops.js'
import { signChannelProof } from './channel-proof.js'
import { DEVICE_FILE_MAX_BYTES, deviceFileName, readWholeFile, writeWholeFile } from './device.js'
import type { CoreSeeder, Engine, SeededCore } from './engine/types.js'
import { deriveAccountKeys, type AccountKeys, type KeyPair } from './keys.js'
import { NodeConnections } from './connections.js'
import { NodeSync } from './sync.js'
import { NodeLifecycle, type OpenDatabase } from './node-lifecycle.js'
import { addWriterOp, registerDeviceOp, removeWriterOp, writerCoreLength, writers } from './membership.js'
import { registerNode } from './debug-registry.js'
import { AccountLookup, encodeMemberCredential, lookupProof, type MemberCredential } from './lookup.js'
import { memoryStorage } from './storage/memory.js'
import { checkSodium } from './sodium-check.js'
import { StorageWatch } from './storage/watch.js'
import type { StorageFunction } from './storage/types.js'
import type { ConnectionInfo, SecretStream, Transport } from './transports/types.js'
import { checkKey32, checkMs, checkOptions, checkedStorage, connectionLimits, decodeEntry, decodeValue, deviceName, encodeBatch, engineRange, keyBytes, optionBag } from './node-values.js'
import type { AddWriterOptions, BatchOp, Change, Device, Entry, HyphaNodeEvents, SyncedOptions, SyncStatus, WatchRange } from './node-types.js'
import type { HyphaNodeOptions, Key, NodeConnection, Range, Role, Value, Writer } from './node-types.js'

/** What Corestore 6.18 makes of a directory path (its constructor: `Hypercore.defaultStorage`). */
function directoryStorage(dir: string): StorageFunction {
  return Hypercore.defaultStorage(dir, { lock: 'primary-key', poolSize: 512, rmdir: true })
}

/**
 * A Hypha node: one replica of the person's multiwriter database, its connections and its
 * ephemeral channel.
 */
export class HyphaNode extends TypedEmitter<HyphaNodeEvents> {
  readonly transports: readonly Transport[]

  private readonly options: HyphaNodeOptions
  private readonly store: any
  private readonly account: AccountKeys | null
  /** The lookup channel: finds the database (full nodes), tells new devices the key (all). */
  private readonly lookup: AccountLookup | null
  /** An always-on node's member credential. */
  private readonly givenCredential: MemberCredential | null
  private readonly links: NodeConnections
  private readonly life: NodeLifecycle
  /** This device's clock (the `now` option; default `Date.now`). */
  readonly now: () => number
  private readonly sync: NodeSync

  constructor(options: HyphaNodeOptions) {
    super()
    checkSodium()
    // Every option is checked before anything is made: a bad one throws here, never later.
    const { credential } = checkOptions(options)
    this.options = options
    this.now = options.now ?? Date.now
    this.transports = [...(options.transports ?? [])]

    if (options.role === 'always-on') {
      this.givenCredential = credential!
      this.account = null
      this.lookup = new AccountLookup({ topic: credential!.topic, lookupKey: null })
      this.lookup.answerWith(credential!.databaseKey, credential!.proof)
    } else {
      this.account = deriveAccountKeys(options.rootSecret)
      this.givenCredential = null
      this.lookup = new AccountLookup({ topic: this.account.lookupTopic, lookupKey: this.account.lookupKey })
      this.lookup.on('conflict', (key) => this.emit('account-conflict', key))
    }
    const storage = options.storage ?? memoryStorage()
    // The watch keeps the storage's own errors (Hypercore drops them): the `cause` of ERR_STORAGE.
    // A directory path gets the files Corestore would make for it (random-access-file, its
    // primary-key locked, a pool of 512 descriptors), made here so that the watch sees them too.
    const watch = new StorageWatch()
    const files = typeof storage === 'function' ? checkedStorage(storage) : directoryStorage(storage)
    this.store = new Corestore(watch.wrap(files))
    const memberKey = (this.account ?? this.givenCredential!).memberKey
    this.links = new NodeConnections(this, this.transports, this.store, this.lookup, memberKey, connectionLimits(options))
    this.sync = new NodeSync(this, this.links, () => this.life.use())
    const { account, lookup, givenCredential, store, links, sync } = this
    this.life = new NodeLifecycle(this, { options, store, account, lookup, givenCredential, links, watch, sync })
    registerNode(this, { store, engine: () => this.life.engine, use: () => this.life.use() })
  }

  private get open_(): OpenDatabase {
    const opened = this.life.opened
    if (opened === null) throw new HyphaNodeError('ERR_NOT_OPEN', 'the node is not open yet: await node.ready() first')
    return opened
  }

  /** 'origin' (this device created the database), 'read-only' (joined it; see `writable`) or 'always-on'. */
  get role(): Role {
    return this.life.opened?.role ?? this.options.role
  }

  /** True when the storage held this device already (it was reopened, not made). */
  get reopened(): boolean {
    return this.open_.reopened
  }

  /** The database key (the same on every node of the person). Throws `ERR_NOT_OPEN` before `ready()`. */
  get key(): Uint8Array {
    return this.open_.key
  }

  get discoveryKey(): Uint8Array {
    return this.open_.discoveryKey
  }

  /** The Noise key pair transports use for this node: random, held in its storage. */
  get noiseKeyPair(): KeyPair {
    return this.open_.noiseKeyPair
  }

  /** Key of the secure channel (@hypha/secure-channel); null on an always-on node. */
  get channelKey(): Uint8Array | null {
    return this.account?.channelKey ?? null
  }

  /** Ephemeral messages on every connection, scoped to this database. */
  get ephemeral(): EphemeralExtension {
    return this.open_.ephemeral
  }

  /**
   * The end-to-end encrypted channel among the person's nodes, on `ephemeral`; envelopes are
   * signed with the device's own channel key pair (recorded in the device registry). On an
   * always-on node it has no key: it only relays.
   */
  get channel(): SecureChannel {
    return this.open_.channel
  }

  /**
   * The topic the account's nodes meet on (Hyperswarm, WebRTC signalling): the lookup topic from
   * the root secret, or an always-on node's member credential's.
   */
  get topic(): Uint8Array {
    return this.lookup!.topic
  }

  /**
   * The account's member key (32 bytes; see `deriveMemberKey`): it tags secure-channel envelopes
   * and authenticates seed announcements. It decrypts nothing.
   */
  get memberKey(): Uint8Array {
    return this.account?.memberKey ?? this.givenCredential!.memberKey
  }

  /**
   * What an always-on node is given, as one string a person copies (258 hex characters: version,
   * lookup topic, database key, lookup proof, member key; `decodeMemberCredential` reads it). With
   * it the always-on node finds and serves the account's nodes, and only them; it reads nothing.
   * Keep it among the account's devices and always-on nodes: whoever has it can use them as a relay.
   * Always-on: the one it was given. Throws `ERR_NOT_OPEN` before `ready()` on a full node.
   */
  get memberCredential(): string {
    return b4a.toString(this.memberCredentialBytes(), 'hex')
  }

  /** The former name of {@link memberCredential}, as bytes (the same 129 bytes). */
  get locator(): Uint8Array {
    return this.memberCredentialBytes()
  }

  private memberCredentialBytes(): Uint8Array {
    if (this.givenCredential) return encodeMemberCredential(this.givenCredential)
    const account = this.account!
    const databaseKey = this.key
    return encodeMemberCredential({
      topic: account.lookupTopic,
      databaseKey,
      proof: lookupProof(account.lookupKey, databaseKey),
      memberKey: account.memberKey
    })
  }

  /** This node's writer core key: what a writer passes to `addWriter` to authorise it. Null on always-on. */
  get writerKey(): Uint8Array | null {
    return this.life.engine?.localWriterKey ?? null
  }

  get writable(): boolean {
    return this.life.engine?.writable ?? false
  }

  /** False on an always-on node: it holds only ciphertext. */
  get readable(): boolean {
    return this.options.role !== 'always-on'
  }

  get closed(): boolean {
    return this.life.closed
  }

  /** Open connections. */
  get connections(): NodeConnection[] {
    return this.links.list
  }

  get peerCount(): number {
    return this.links.size
  }

  /**
   * Open connections whose peer proved membership of the account: `peerCount`, plus those held
   * while a lookup runs (before `ready()` resolves, when `peerCount` is still 0).
   */
  get memberPeerCount(): number {
    return this.links.proven
  }

  /** Ops apply skipped since the node opened (see the 'invalid-op' event); 0 on always-on. */
  get invalidOps(): number {
    return this.life.engine?.invalidOps ?? 0
  }

  /**
   * Opens the device and the database and starts the transports. Rejects with `HyphaNodeError`:
   * `ERR_OTHER_ACCOUNT` (the storage holds another account's device, or the passphrase or name is
   * wrong), `ERR_OTHER_DATABASE` (`databaseKey` differs from the storage's), `ERR_NOT_FOUND` /
   * `ERR_ACCOUNT_CONFLICT` (lookup), `ERR_ACCOUNT_EXISTS` (creating, see existingAccountCheckMs),
   * `ERR_STORAGE`. A node whose `ready()` failed is closed.
   */
  ready(): Promise<void> {
    return this.life.ready()
  }

  /**
   * Takes a new encrypted connection (a Noise secret stream): replicates the database over it and
   * attaches the lookup and ephemeral channels. Transports call it through `TransportContext.onConnection`.
   */
  readonly addConnection = (stream: SecretStream, info: ConnectionInfo): void => this.links.add(stream, info)

  /**
   * Stops the transports, ends every connection and closes the database. Reads in flight that wait
   * on a peer (a block not stored here) reject with `ERR_CLOSED`.
   */
  close(): Promise<void> {
    return this.life.close()
  }

  // ---- data ----

  async put(key: Key, value: Value): Promise<void> {
    await this.batch([{ type: 'put', key, value }])
  }

  async del(key: Key): Promise<void> {
    await this.batch([{ type: 'del', key }])
  }

  /** Appends all ops as one Autobase append: they are applied together, and far faster than one by one. */
  async batch(ops: BatchOp[]): Promise<void> {
    const encoded = encodeBatch(ops)
    if (encoded.length > 0) await this.write(encoded)
  }

  async get(key: Key): Promise<Value | null> {
    const value = await (await this.use()).get(keyBytes(key))
    return value === null ? null : decodeValue(value)
  }

  /** Entries in key order (bytewise) within `range`. */
  async list(range: Range = {}): Promise<Entry[]> {
    const out: Entry[] = []
    for await (const entry of this.entries(range)) out.push(entry)
    return out
  }

  /** Like {@link list}, as an async iterator. */
  async *entries(range: Range = {}): AsyncGenerator<Entry> {
    const db = await this.use()
    for await (const entry of db.range(engineRange(range))) yield decodeEntry(entry)
  }

  /** Waits until everything already received from peers is applied to the view. */
  async update(): Promise<void> {
    await (await this.use()).update()
  }

  // ---- sync status and changes (sync.ts) ----

  /**
   * Which peers are connected over which transport, and whether this node has everything they
   * have: per core the database is held in (the current writers' cores on a full node, the kept
   * cores on always-on), its length and contiguous length here against the most any connected peer
   * has. `state` is 'offline' with no connection, 'synced' once every connected peer told its state
   * and none has more of a core this node knows of, else 'syncing'. Cheap (no I/O); `sync-status`
   * fires when `state` or the set of peers changes. Before `ready()` resolved: no cores, never 'synced'.
   */
  syncStatus(): SyncStatus {
    return this.sync.status()
  }

  /**
   * Resolves with the status once it is 'synced' (at once if it is), and on a full node once what
   * was downloaded is applied to the view (reads then see it). With no connection it waits for one.
   * Rejects with `ERR_TIMEOUT` after `timeoutMs`, `ERR_CLOSED` when the node closes.
   */
  synced(options: SyncedOptions = {}): Promise<SyncStatus> {
    return this.sync.synced(options)
  }

  /**
   * The changes to the entries in `range` (bounds or a prefix, as for `list`; no limit or reverse),
   * from now on (from opening, if not open yet), as an async iterator of batches in key order: the
   * entries whose value differs between the view after one `update` and after the next (the last
   * one a batch covers), `value` null for a deletion, `previous` the value before. A reorder is
   * covered too: a batch then holds what the reorder changed, undone writes included. Ends on
   * `return()` (a `break` in `for await`) and when the node closes; a full node only
   * (`ERR_NOT_READABLE` on always-on, from the first `next()`).
   */
  watch(range: WatchRange = {}): AsyncIterableIterator<Change[]> {
    return this.sync.watch(range)
  }

  // ---- membership and the device registry (membership.ts) ----

  /**
   * Makes `writerKey` (another node's `node.writerKey`) a writer and records the device in the
   * registry: `name` (at most 128 UTF-8 bytes), `channelKey` (the key its secure-channel messages
   * are signed with), this writer as the one who added it, and now. `indexer: true` makes it take
   * part in ordering consensus too (default false: the origin alone indexes; see README).
   * `recovery: true` marks a recovery key rather than a device. Adding a current writer again
   * changes nothing.
   */
  async addWriter(writerKey: Uint8Array, options: AddWriterOptions = {}): Promise<void> {
    await this.write([addWriterOp(writerKey, options)])
  }

  /**
   * Removes a writer: its ops ordered after the removal are never applied, and the registry marks
   * the device revoked by this writer, now. The last indexer cannot be removed.
   */
  async removeWriter(writerKey: Uint8Array): Promise<void> {
    await this.write([removeWriterOp(writerKey)])
  }

  /** Records this writer's own name and channel key in the registry (the origin does at sign-up). */
  async registerDevice(name: string): Promise<void> {
    const checked = deviceName(name)
    await this.use()
    await this.write([registerDeviceOp(checked, this.channel.publicKey, this.channelProof())])
  }

  /**
   * This device's proof (64 bytes) that its channel key belongs to its writer in this database: what
   * a writer passes to `addWriter` beside `channelKey` (see channel-proof.ts). Throws `ERR_WRONG_ROLE`
   * on always-on.
   */
  channelProof(): Uint8Array {
    const device = this.open_.device
    const writerKey = this.writerKey
    if (!device || !writerKey) throw new HyphaNodeError('ERR_WRONG_ROLE', 'an always-on node has no channel key')
    return signChannelProof(device.channelKeyPair.secretKey, this.key, writerKey)
  }

  /** Current writers, as this node's view knows them. */
  async writers(): Promise<Writer[]> {
    return writers(await this.use())
  }

  async isWriter(writerKey: Uint8Array): Promise<boolean> {
    checkKey32(writerKey, 'writerKey')
    return (await this.use()).isWriter(writerKey)
  }

  /** Every device that ever was a writer (revoked ones too), as this node's view knows them. */
  async devices(): Promise<Device[]> {
    return (await this.use()).devices()
  }

  /** The registered device whose channel messages `channelKey` signs, or null. */
  async deviceByChannelKey(channelKey: Uint8Array): Promise<Device | null> {
    checkKey32(channelKey, 'channelKey')
    return (await this.use()).deviceByChannelKey(channelKey)
  }

  // ---- small files of this device's own (never replicated) ----

  /**
   * Reads a small file this device keeps in its storage beside its keys and device record (as
   * `hypha-file-<name>`), never replicated: for packages on top, e.g. auth's record of the requests
   * it settled. `name`: 1 to 64 characters of a–z, 0–9 and '-'. Null when there is none (or it is
   * empty). Rejects with `ERR_INVALID_ARGUMENT`, `ERR_CLOSED`, or `ERR_STORAGE` (the storage's
   * error as `cause`).
   */
  async readDeviceFile(name: string): Promise<Uint8Array | null> {
    const file = deviceFileName(name)
    await this.use()
    try {
      return await readWholeFile(this.store.storage, file)
    } catch (err) {
      throw new HyphaNodeError('ERR_STORAGE', `could not read the device file ${name}`, { cause: err })
    }
  }

  /**
   * Replaces the file {@link readDeviceFile} reads with `bytes` (at most 1 MiB,
   * `DEVICE_FILE_MAX_BYTES`). Not atomic: a crash while writing can leave it partly written, so a
   * reader checks what it reads. Rejects like `readDeviceFile`.
   */
  async writeDeviceFile(name: string, bytes: Uint8Array): Promise<void> {
    const file = deviceFileName(name)
    if (!(bytes instanceof Uint8Array) || bytes.byteLength > DEVICE_FILE_MAX_BYTES) {
      throw new HyphaNodeError('ERR_INVALID_ARGUMENT', `a device file is a Uint8Array of at most ${DEVICE_FILE_MAX_BYTES} bytes`)
    }
    await this.use()
    try {
      await writeWholeFile(this.store.storage, file, bytes)
    } catch (err) {
      throw new HyphaNodeError('ERR_STORAGE', `could not write the device file ${name}`, { cause: err })
    }
  }

  /**
   * What is known of a writer core's length (in blocks): `length`, the longest this node has seen
   * (after asking its peers, up to `waitMs` ms); `held`, the blocks it holds from the start;
   * `peerHeld`, the most any one connected peer holds from the start (0 without peers).
   */
  async writerCoreLength(writerKey: Uint8Array, options: { waitMs?: number } = {}): Promise<{ length: number; held: number; peerHeld: number }> {
    checkKey32(writerKey, 'writerKey')
    const { waitMs } = optionBag(options, 'options')
    checkMs(waitMs, 'waitMs', 0)
    return writerCoreLength(await this.use(), writerKey, waitMs)
  }

  // ---- always-on ----

  /**
   * Always-on only: also keep the core with this key (e.g. another writer's) downloaded and served.
   * Peers announce writer cores by themselves; this is for cores nobody connected announces. The
   * core is announced to the peers in turn, as announced ones are (other always-on nodes keep it).
   * Throws `SeedError` `ERR_SEED_LIMIT` when `maxSeededCores` are kept already, `ERR_SEED_BUDGET`
   * for a core known to be past `maxCoreBytes` or `maxKeptBytes` (or refused for it before); one
   * that grows past them later is dropped and reported as 'seed-refused'.
   */
  async seed(coreKey: Uint8Array): Promise<void> {
    checkKey32(coreKey, 'coreKey')
    if (await this.seeder(await this.use()).seed(coreKey)) {
      this.emit('seeded', coreKey)
      this.life.keptGrew()
    }
  }

  /** Always-on only: the cores it keeps, with how much of each it holds. */
  seeded(): SeededCore[] {
    return this.seeder(this.db).seeded()
  }

  private seeder(engine: Engine): CoreSeeder {
    if (!engine.seeder) throw new HyphaNodeError('ERR_WRONG_ROLE', 'only an always-on node seeds cores')
    return engine.seeder
  }

  private async write(ops: Op[]): Promise<void> {
    const db = await this.use()
    if (db.failure) throw db.failure
    if (!db.readable) throw new HyphaNodeError('ERR_NOT_WRITABLE', 'an always-on node never writes to the database')
    if (!db.writable) throw new HyphaNodeError('ERR_NOT_WRITABLE', 'this node is not a writer of the database')
    await db.append(ops)
  }

  private use(): Promise<Engine> {
    return this.life.use()
  }

  private get db(): Engine {
    return this.life.db
  }
}
