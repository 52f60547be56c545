/**
 * HyphaNode: lifecycle (opening the device and the database, the lookup), connections, the data
 * API and membership. Longer than the ~400 lines aimed for because these share the node's open
 * state; the public types are in node-types.ts, argument checks in node-values.ts, seed
 * announcements in seeding.ts, the lookup in lookup.ts and device keys in device.ts.
 */
import { EventEmitter } from 'events'
import b4a from 'b4a'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import { SecureChannel } from '@hypha/secure-channel'
import Corestore from 'corestore'
import { AutobaseEngine, databaseKeyFromOriginPublicKey, discoveryKeyOf } from './engine/autobase.js'
import { BlindEngine } from './engine/blind.js'
import { HyphaNodeError } from './engine/errors.js'
import type { Op } from './engine/ops.js'
import { NO_KEY } from './engine/registry.js'
import { signChannelProof } from './channel-proof.js'
import type { CoreSeeder, Engine, SeededCore, WriterInfo } from './engine/types.js'
import { deriveAccountKeys, type AccountKeys, type KeyPair } from './keys.js'
import { DEVICE_KEY_NAMES, deviceKeys, readDeviceRecord, writeDeviceRecord, type DeviceKeys, type DeviceRecord } from './device.js'
import { announceWriters, keepAnnounced } from './seeding.js'
import { watchWriterHeads } from './heads.js'
import { registerNode } from './debug-registry.js'
import { withCore } from './cores.js'
import { AccountLookup, decodeLocator, encodeLocator, lookupProof, type Locator } from './lookup.js'
import { DEFAULT_MAX_SEEDED_CORES } from './seed-announce.js'
import { memoryStorage } from './storage/memory.js'
import type { ConnectionInfo, SecretStream, Transport, TransportContext } from './transports/types.js'
import {
  checkChannelBinding,
  checkKey32,
  decodeValue,
  deviceName,
  encodeValue,
  invalid,
  keyBytes,
  noop
} from './node-values.js'
import type {
  AlwaysOnNodeOptions,
  BatchOp,
  Device,
  Entry,
  HyphaNodeEvents,
  HyphaNodeOptions,
  Key,
  NodeConnection,
  Range,
  Role,
  Value,
  Writer
} from './node-types.js'

const DEFAULT_LOOKUP_TIMEOUT_MS = 60_000
const DEFAULT_LOOKUP_SETTLE_MS = 250

const decoder = new TextDecoder()

/**
 * A Hypha node: one replica of the person's multiwriter database, its connections and its
 * ephemeral channel.
 */
export class HyphaNode extends EventEmitter<HyphaNodeEvents> {
  readonly transports: readonly Transport[]

  private readonly options: HyphaNodeOptions
  private readonly store: any
  private readonly account: AccountKeys | null
  /** The lookup channel: finds the database (full nodes), tells new devices the key (all). */
  private readonly lookup: AccountLookup | null
  private readonly givenLocator: Locator | null
  private engine: Engine | null = null
  private opened: {
    role: Role
    key: Uint8Array
    discoveryKey: Uint8Array
    noiseKeyPair: KeyPair
    device: DeviceKeys | null
    reopened: boolean
    ephemeral: EphemeralExtension
    channel: SecureChannel
  } | null = null
  private readonly conns = new Set<NodeConnection>()
  /** Connections made before the database was known (during a lookup): attached once it is. */
  private readonly early = new Set<{ stream: SecretStream; info: ConnectionInfo }>()
  private readonly started: Transport[] = []
  private transportsStarted = false
  /** open() itself; `opening` is it plus the clean-up after a failure (which waits for close). */
  private openTask: Promise<void> | null = null
  private opening: Promise<void> | null = null
  private closing: Promise<void> | null = null

  constructor(options: HyphaNodeOptions) {
    super()
    if (!options || typeof options !== 'object') throw invalid('options are required')
    this.options = options
    this.transports = [...(options.transports ?? [])]

    if (options.role === 'always-on') {
      const locator = options.locator === undefined ? null : decodeLocator(options.locator)
      if (options.databaseKey !== undefined) checkKey32(options.databaseKey, 'databaseKey')
      if (!locator && !options.databaseKey) throw invalid('an always-on node needs databaseKey or locator')
      if (locator && options.databaseKey && !b4a.equals(locator.databaseKey, options.databaseKey)) {
        throw invalid('locator is for another database than databaseKey')
      }
      const maxSeededCores = options.maxSeededCores ?? DEFAULT_MAX_SEEDED_CORES
      if (!Number.isInteger(maxSeededCores) || maxSeededCores < 1) {
        throw invalid('maxSeededCores must be a positive integer')
      }
      this.givenLocator = locator
      this.account = null
      this.lookup = locator ? new AccountLookup({ topic: locator.topic, lookupKey: null }) : null
      if (locator) this.lookup!.answerWith(locator.databaseKey, locator.proof)
    } else if (options.role === 'origin' || options.role === 'read-only') {
      this.account = deriveAccountKeys(options.rootSecret)
      if (options.databaseKey !== undefined) checkKey32(options.databaseKey, 'databaseKey')
      for (const [name, v] of [
        ['lookupTimeoutMs', options.lookupTimeoutMs],
        ['lookupSettleMs', options.lookupSettleMs],
        ['existingAccountCheckMs', options.existingAccountCheckMs]
      ] as const) {
        if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw invalid(`${name} must be a number ≥ 0`)
      }
      this.givenLocator = null
      this.lookup = new AccountLookup({ topic: this.account.lookupTopic, lookupKey: this.account.lookupKey })
      this.lookup.on('conflict', (key) => this.emit('account-conflict', key))
    } else {
      throw invalid(`unknown role ${(options as { role?: unknown }).role}`)
    }
    this.store = new Corestore(options.storage ?? memoryStorage())
    registerNode(this, { store: this.store, engine: () => this.engine, use: async () => (await this.readyForUse(), this.db) })
  }

  private get open_() {
    if (this.opened === null) {
      throw new HyphaNodeError('ERR_NOT_OPEN', 'the node is not open yet: await node.ready() first')
    }
    return this.opened
  }

  /** 'origin' (this device created the database), 'read-only' (joined it; see `writable`) or 'always-on'. */
  get role(): Role {
    return this.opened?.role ?? this.options.role
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
   * the root secret, or an always-on node's locator's; else (always-on given only the database
   * key) the discovery key.
   */
  get topic(): Uint8Array {
    return this.lookup?.topic ?? discoveryKeyOf((this.options as AlwaysOnNodeOptions).databaseKey!)
  }

  /**
   * Full nodes: what an always-on node is given so it can tell new devices the database key
   * (96 bytes: topic, database key, proof; `decodeLocator` reads it). Always-on: the one it was given.
   */
  get locator(): Uint8Array {
    if (this.givenLocator) return encodeLocator(this.givenLocator)
    const account = this.account
    if (!account) throw new HyphaNodeError('ERR_WRONG_ROLE', 'an always-on node given only databaseKey has no locator')
    const databaseKey = this.key
    return encodeLocator({ topic: account.lookupTopic, databaseKey, proof: lookupProof(account.lookupKey, databaseKey) })
  }

  /** This node's writer core key: what a writer passes to `addWriter` to authorise it. Null on always-on. */
  get writerKey(): Uint8Array | null {
    return this.engine?.localWriterKey ?? null
  }

  get writable(): boolean {
    return this.engine?.writable ?? false
  }

  /** False on an always-on node: it holds only ciphertext. */
  get readable(): boolean {
    return this.options.role !== 'always-on'
  }

  get closed(): boolean {
    return this.closing !== null
  }

  /** Open connections. */
  get connections(): NodeConnection[] {
    return [...this.conns]
  }

  get peerCount(): number {
    return this.conns.size
  }

  /** Ops apply skipped since the node opened (see the 'invalid-op' event); 0 on always-on. */
  get invalidOps(): number {
    return this.engine?.invalidOps ?? 0
  }

  /**
   * Opens the device and the database and starts the transports. Rejects with `HyphaNodeError`:
   * `ERR_OTHER_ACCOUNT` (the storage holds another account's device, or the passphrase or name is
   * wrong), `ERR_OTHER_DATABASE` (`databaseKey` differs from the storage's), `ERR_NOT_FOUND` /
   * `ERR_ACCOUNT_CONFLICT` (lookup), `ERR_ACCOUNT_EXISTS` (creating, see existingAccountCheckMs),
   * `ERR_STORAGE`. A node whose `ready()` failed is closed.
   */
  ready(): Promise<void> {
    if (this.opening === null) {
      this.openTask = this.open()
      this.opening = this.openTask.catch(async (err) => {
        if (this.closing === null) this.closing = this.shutdown(false)
        await this.closing.catch(noop)
        throw err instanceof HyphaNodeError ? err : new HyphaNodeError('ERR_STORAGE', 'the node could not open', { cause: err })
      })
    }
    return this.opening
  }

  private async open(): Promise<void> {
    await this.store.ready()
    const options = this.options
    if (options.role === 'always-on') {
      const key = this.givenLocator?.databaseKey ?? options.databaseKey!
      const noiseKeyPair = options.noiseKeyPair ?? (await this.store.createKeyPair(DEVICE_KEY_NAMES.noise))
      this.engine = new BlindEngine({ store: this.store, databaseKey: key, maxSeededCores: options.maxSeededCores })
      this.setUp('always-on', key, noiseKeyPair, null, false)
      await this.engine.ready()
      await this.startTransports(noiseKeyPair)
      return
    }

    const account = this.account!
    const device = await deviceKeys(this.store)
    const writerKeyPair = options.writerKeyPair ?? device.writerKeyPair
    // The database this writer would create (an origin's database key is its writer core key).
    const ownDatabaseKey = databaseKeyFromOriginPublicKey(writerKeyPair.publicKey)
    const record = await readDeviceRecord(this.store.storage)
    let next: DeviceRecord
    if (record !== null) {
      if (!b4a.equals(record.accountId, account.accountId)) {
        throw new HyphaNodeError(
          'ERR_OTHER_ACCOUNT',
          'this storage holds a device of another account (or the passphrase or name is wrong)'
        )
      }
      if (options.databaseKey && !b4a.equals(options.databaseKey, record.databaseKey)) {
        throw new HyphaNodeError('ERR_OTHER_DATABASE', 'this storage holds a device of another database')
      }
      next = record
    } else if (options.databaseKey) {
      next = { accountId: account.accountId, databaseKey: options.databaseKey, created: false }
    } else if (options.role === 'origin') {
      const checkMs = options.existingAccountCheckMs ?? 0
      if (checkMs > 0) {
        await this.startTransports(device.noiseKeyPair)
        const existing = await this.lookup!.find({ timeoutMs: checkMs, settleMs: 0 }).catch((err: HyphaNodeError) => {
          if (err.code === 'ERR_NOT_FOUND') return null
          throw err
        })
        if (existing) {
          throw new HyphaNodeError('ERR_ACCOUNT_EXISTS', 'this account has a database already: sign in instead')
        }
      }
      next = { accountId: account.accountId, databaseKey: ownDatabaseKey, created: true }
    } else {
      await this.startTransports(device.noiseKeyPair)
      const databaseKey = await this.lookup!.find({
        timeoutMs: options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS,
        settleMs: options.lookupSettleMs ?? DEFAULT_LOOKUP_SETTLE_MS
      })
      next = { accountId: account.accountId, databaseKey, created: false }
    }
    if (this.closing) throw new HyphaNodeError('ERR_CLOSED', 'the node was closed while opening')

    const created = next.created && b4a.equals(next.databaseKey, ownDatabaseKey)
    this.engine = new AutobaseEngine({
      store: this.store,
      bootstrap: created ? null : next.databaseKey,
      keyPair: writerKeyPair,
      encryptionKey: account.encryptionKey,
      ackInterval: options.ackInterval
    })
    this.setUp(created ? 'origin' : 'read-only', next.databaseKey, device.noiseKeyPair, device, record !== null)
    await this.engine.ready()
    if (!b4a.equals(this.engine.key, next.databaseKey)) {
      // Would mean Autobase derived its key differently from databaseKeyFromOriginPublicKey.
      throw new HyphaNodeError('ERR_STORAGE', 'the database key does not match the stored one')
    }
    if (record === null) await writeDeviceRecord(this.store.storage, next)
    this.lookup!.answerWith(next.databaseKey, lookupProof(account.lookupKey, next.databaseKey))
    await this.startTransports(device.noiseKeyPair)
  }

  /** Creates the database-scoped channels and wires the engine's events; attaches early connections. */
  private setUp(role: Role, key: Uint8Array, noiseKeyPair: KeyPair, device: DeviceKeys | null, reopened: boolean): void {
    const engine = this.engine!
    const discoveryKey = discoveryKeyOf(key)
    const ephemeral = new EphemeralExtension({ discoveryKey })
    const channel = new SecureChannel({
      ephemeral,
      channelKey: this.channelKey,
      keyPair: device ? device.channelKeyPair : null
    })
    this.opened = { role, key, discoveryKey, noiseKeyPair, device, reopened, ephemeral, channel }
    engine.on('update', () => this.emit('update'))
    engine.on('writable', (w) => this.emit('writable', w))
    if (engine.seeder) {
      keepAnnounced(ephemeral, engine.seeder, this, {
        seeded: (key) => this.emit('seeded', key),
        refused: (key, err) => this.emit('seed-refused', key, err),
        bad: (err, peer) => this.emit('bad-announcement', err, peer)
      })
    } else {
      // Tell every new peer which writer cores exist, and every peer when that changes.
      announceWriters(ephemeral, engine, this)
      watchWriterHeads(ephemeral, engine, this, (key) => this.emit('writer-conflict', key))
    }
    engine.on('invalid-op', (op) => this.emit('invalid-op', op))
    engine.on('error', (err) => this.emit('error', err))
    for (const { stream, info } of this.early) this.attachDatabase(stream, info)
    this.early.clear()
  }

  private async startTransports(keyPair: KeyPair = this.noiseKeyPair): Promise<void> {
    if (this.transportsStarted) return
    this.transportsStarted = true
    const context: TransportContext = { topic: this.topic, keyPair, onConnection: this.addConnection }
    for (const transport of this.transports) {
      if (this.closing) return
      // Transports report what they recover from as 'connection-error' (TCP, WebSocket) or
      // 'warning' (WebRTC, Hyperswarm); 'error' for anything else. The node re-emits all three.
      for (const event of ['connection-error', 'warning', 'error']) {
        transport.on(event, (err: unknown) => this.emit('transport-error', err, transport))
      }
      await transport.start(context)
      this.started.push(transport)
    }
  }

  /**
   * Takes a new encrypted connection (a Noise secret stream): replicates the database over it and
   * attaches the lookup and ephemeral channels. Transports call it through `TransportContext.onConnection`.
   */
  readonly addConnection = (stream: SecretStream, info: ConnectionInfo): void => {
    if (this.closing) {
      stream.destroy?.()
      return
    }
    // Errors end the connection ('close' follows); without a listener they would crash the process.
    stream.on('error', noop)
    this.store.replicate(stream)
    this.lookup?.attach(stream)
    if (this.opened) {
      this.attachDatabase(stream, info)
      return
    }
    const early = { stream, info }
    this.early.add(early)
    stream.once('close', () => this.early.delete(early))
  }

  private attachDatabase(stream: SecretStream, info: ConnectionInfo): void {
    if (stream.destroyed) return
    const conn: NodeConnection = { stream, info, ephemeral: this.ephemeral.attach(stream) }
    this.conns.add(conn)
    stream.once('close', () => {
      if (!this.conns.delete(conn)) return
      this.emit('disconnection', conn)
    })
    this.emit('connection', conn)
  }

  /** Stops the transports, ends every connection and closes the database. */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown()
    return this.closing
  }

  private async shutdown(afterOpening = true): Promise<void> {
    // A lookup or existing-account check in progress ends now (ERR_CLOSED) rather than at its timeout.
    this.lookup?.close()
    if (afterOpening) await this.openTask?.catch(noop)
    await Promise.allSettled(this.started.map((t) => t.stop()))
    this.opened?.channel.close()
    this.opened?.ephemeral.close()
    this.lookup?.close()
    for (const conn of this.conns) conn.stream.destroy()
    for (const { stream } of this.early) stream.destroy()
    if (this.engine) await this.engine.close()
    else await this.store.close()
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
    if (!Array.isArray(ops)) throw invalid('batch takes an array of ops')
    const encoded: Op[] = ops.map((op) => {
      if (op?.type === 'put') return { type: 'put', key: keyBytes(op.key), value: encodeValue(op.value) }
      if (op?.type === 'del') return { type: 'del', key: keyBytes(op.key) }
      throw invalid(`op type must be 'put' or 'del'`)
    })
    if (encoded.length === 0) return
    await this.write(encoded)
  }

  async get(key: Key): Promise<Value | null> {
    await this.readyForUse()
    const value = await this.db.get(keyBytes(key))
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
    await this.readyForUse()
    if (range.limit !== undefined && (!Number.isInteger(range.limit) || range.limit < 0)) {
      throw invalid('limit must be a non-negative integer')
    }
    const r = {
      gt: range.gt === undefined ? undefined : keyBytes(range.gt),
      gte: range.gte === undefined ? undefined : keyBytes(range.gte),
      lt: range.lt === undefined ? undefined : keyBytes(range.lt),
      lte: range.lte === undefined ? undefined : keyBytes(range.lte),
      limit: range.limit,
      reverse: range.reverse
    }
    for await (const { key, value } of this.db.range(r)) {
      yield { key: decoder.decode(key), keyBytes: key, value: decodeValue(value) }
    }
  }

  /** Waits until everything already received from peers is applied to the view. */
  async update(): Promise<void> {
    await this.readyForUse()
    await this.db.update()
  }

  // ---- membership and the device registry ----

  /**
   * Makes `writerKey` (another node's `node.writerKey`) a writer and records the device in the
   * registry: `name` (at most 128 UTF-8 bytes), `channelKey` (the key its secure-channel messages
   * are signed with), this writer as the one who added it, and now. `indexer: true` makes it take
   * part in ordering consensus too (default false: the origin alone indexes; see README).
   * `recovery: true` marks a recovery key rather than a device. Adding a current writer again
   * changes nothing.
   */
  async addWriter(
    writerKey: Uint8Array,
    options: {
      indexer?: boolean
      name?: string
      channelKey?: Uint8Array | null
      channelProof?: Uint8Array | null
      recovery?: boolean
    } = {}
  ): Promise<void> {
    checkKey32(writerKey, 'writerKey')
    const name = deviceName(options.name ?? '')
    const { channelKey, channelProof } = checkChannelBinding(options.channelKey, options.channelProof)
    await this.write([
      {
        type: 'add-writer',
        key: writerKey,
        indexer: options.indexer === true,
        recovery: options.recovery === true,
        name,
        channelKey,
        channelProof,
        at: Date.now()
      }
    ])
  }

  /**
   * Removes a writer: its ops ordered after the removal are never applied, and the registry marks
   * the device revoked by this writer, now. The last indexer cannot be removed.
   */
  async removeWriter(writerKey: Uint8Array): Promise<void> {
    checkKey32(writerKey, 'writerKey')
    await this.write([{ type: 'remove-writer', key: writerKey, at: Date.now() }])
  }

  /** Records this writer's own name and channel key in the registry (the origin does at sign-up). */
  async registerDevice(name: string): Promise<void> {
    const n = deviceName(name)
    await this.readyForUse()
    const proof = this.channelProof()
    await this.write([
      { type: 'register-device', name: n, channelKey: this.channel.publicKey ?? NO_KEY, channelProof: proof, at: Date.now() }
    ])
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
    await this.readyForUse()
    return (await this.db.writers()).map((w: WriterInfo) => ({ ...w }))
  }

  async isWriter(writerKey: Uint8Array): Promise<boolean> {
    checkKey32(writerKey, 'writerKey')
    await this.readyForUse()
    return this.db.isWriter(writerKey)
  }

  /** Every device that ever was a writer (revoked ones too), as this node's view knows them. */
  async devices(): Promise<Device[]> {
    await this.readyForUse()
    return this.db.devices()
  }

  /** The registered device whose channel messages `channelKey` signs, or null. */
  async deviceByChannelKey(channelKey: Uint8Array): Promise<Device | null> {
    checkKey32(channelKey, 'channelKey')
    await this.readyForUse()
    return this.db.deviceByChannelKey(channelKey)
  }

  /**
   * What is known of a writer core's length: `length`, the longest this node has seen (after
   * asking its peers, up to `waitMs`); `held`, the blocks it holds from the start; `peerHeld`, the
   * most any one connected peer holds from the start (0 without peers).
   */
  async writerCoreLength(writerKey: Uint8Array, options: { waitMs?: number } = {}): Promise<{ length: number; held: number; peerHeld: number }> {
    checkKey32(writerKey, 'writerKey')
    await this.readyForUse()
    return withCore(this.store, writerKey, async (core) => {
      if (options.waitMs) {
        await Promise.race([core.update({ wait: true }).catch(noop), new Promise((r) => setTimeout(r, options.waitMs))])
      }
      const peerHeld = Math.max(0, ...core.peers.map((p: { remoteContiguousLength: number }) => p.remoteContiguousLength))
      return { length: core.length, held: core.contiguousLength, peerHeld }
    })
  }

  // ---- always-on ----

  /**
   * Always-on only: also keep the core with this key (e.g. another writer's) downloaded and served.
   * Peers announce writer cores by themselves; this is for cores nobody connected announces.
   * Throws `SeedError` `ERR_SEED_LIMIT` when `maxSeededCores` are kept already.
   */
  async seed(coreKey: Uint8Array): Promise<void> {
    checkKey32(coreKey, 'coreKey')
    await this.readyForUse()
    if (await this.seeder().seed(coreKey)) this.emit('seeded', coreKey)
  }

  /** Always-on only: the cores it keeps, with how much of each it holds. */
  seeded(): SeededCore[] {
    return this.seeder().seeded()
  }

  private seeder(): CoreSeeder {
    if (!this.db.seeder) throw new HyphaNodeError('ERR_WRONG_ROLE', 'only an always-on node seeds cores')
    return this.db.seeder
  }

  private async write(ops: Op[]): Promise<void> {
    await this.readyForUse()
    if (!this.db.readable) {
      throw new HyphaNodeError('ERR_NOT_WRITABLE', 'an always-on node never writes to the database')
    }
    if (!this.db.writable) throw new HyphaNodeError('ERR_NOT_WRITABLE', 'this node is not a writer of the database')
    await this.db.append(ops)
  }

  private async readyForUse(): Promise<void> {
    if (this.closing) throw new HyphaNodeError('ERR_CLOSED', 'the node is closed')
    await this.ready()
  }

  /** The engine, once `readyForUse()` resolved. */
  private get db(): Engine {
    if (!this.engine) throw new HyphaNodeError('ERR_NOT_OPEN', 'the node is not open yet: await node.ready() first')
    return this.engine
  }
}

