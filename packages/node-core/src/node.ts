import { EventEmitter } from 'events'
import b4a from 'b4a'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { EphemeralExtension, type EphemeralMessage, type EphemeralPeer } from '@hypha/ephemeral-ext'
import { SecureChannel } from '@hypha/secure-channel'
import { AutobaseEngine, databaseKeyFromOriginPublicKey, discoveryKeyOf } from './engine/autobase.js'
import { BlindEngine, type SeededCore } from './engine/blind.js'
import { HyphaNodeError } from './engine/errors.js'
import { MAX_KEY_BYTES, MAX_VALUE_BYTES, VALUE_BYTES, VALUE_STRING, type Op } from './engine/ops.js'
import type { Engine, InvalidOp, WriterInfo } from './engine/types.js'
import { deriveNodeKeys, deriveOriginKeyPair, deriveWriterKeyPair, type KeyPair } from './keys.js'
import {
  DEFAULT_MAX_SEEDED_CORES,
  MAX_ANNOUNCED_KEYS,
  SEED_CONTENT_TYPE,
  SeedError,
  decodeSeedAnnouncement,
  encodeSeedAnnouncement
} from './seed-announce.js'
import { memoryStorage } from './storage/memory.js'
import type { StorageAdapter } from './storage/types.js'
import type { ConnectionInfo, SecretStream, Transport, TransportContext } from './transports/types.js'

export type Role = 'origin' | 'read-only' | 'always-on'
export type Key = string | Uint8Array
/** A value is a string or bytes, and is given back as the same type. */
export type Value = string | Uint8Array

interface CommonOptions {
  /** Where cores are stored. Default: {@link memoryStorage} (nothing survives the process). */
  storage?: StorageAdapter
  /** Transports started in `ready()` and stopped in `close()`. */
  transports?: Transport[]
}

export interface FullNodeOptions extends CommonOptions {
  /** 'origin' creates the database; 'read-only' opens it and becomes writable once added. */
  role: 'origin' | 'read-only'
  /** The person's root secret (`deriveRootSecret`). */
  rootSecret: Uint8Array
  /** This node's name (e.g. 'laptop'): derives its writer and Noise key pairs. */
  name: string
  /** Autobase ack interval in ms when this node is an indexer. Default 1000. */
  ackInterval?: number
}

export interface AlwaysOnNodeOptions extends CommonOptions {
  role: 'always-on'
  /** The database key (public): `deriveDatabaseKey(rootSecret)` or another node's `node.key`. */
  databaseKey: Uint8Array
  /** Noise key pair for transports. Default: a random one (pass one to keep the same identity). */
  noiseKeyPair?: KeyPair
  /** Most cores kept (the origin's included); announced keys past it are refused. Default 256. */
  maxSeededCores?: number
}

export type HyphaNodeOptions = FullNodeOptions | AlwaysOnNodeOptions

export interface BatchOp {
  type: 'put' | 'del'
  key: Key
  /** Required for 'put'. */
  value?: Value
}

export interface Range {
  gt?: Key
  gte?: Key
  lt?: Key
  lte?: Key
  limit?: number
  reverse?: boolean
}

export interface Entry {
  /** The key decoded as UTF-8 (keys put as strings come back unchanged). */
  key: string
  /** The key's exact bytes. */
  keyBytes: Uint8Array
  value: Value
}

export interface Writer {
  key: Uint8Array
  origin: boolean
  indexer: boolean
}

export interface NodeConnection {
  stream: SecretStream
  info: ConnectionInfo
  /** The connection's ephemeral channel (opens when the remote attaches too). */
  ephemeral: EphemeralPeer
}

export interface HyphaNodeEvents {
  /** The view changed: local or remote ops were applied. */
  update: []
  /** This node became a writer (true) or was removed (false). */
  writable: [writable: boolean]
  /** apply skipped an op (malformed, or from a key that is not a writer). */
  'invalid-op': [op: InvalidOp]
  connection: [connection: NodeConnection]
  disconnection: [connection: NodeConnection]
  /** Always-on: it now keeps this core (announced by a peer, or given to `seed`). */
  seeded: [key: Uint8Array]
  /** Always-on: an announced core was not kept (`ERR_SEED_LIMIT`, or opening it failed). */
  'seed-refused': [key: Uint8Array, error: unknown]
  /** Always-on: a peer's seed announcement did not decode; it was ignored. */
  'bad-announcement': [error: SeedError, peer: EphemeralPeer]
  /** A transport reported an error; the node keeps running. */
  'transport-error': [error: unknown, transport: Transport]
  /** The engine failed (storage error): the database is closed. */
  error: [error: unknown]
}

/** The database key of the person with this root secret: what every node opens. */
export function deriveDatabaseKey(rootSecret: Uint8Array): Uint8Array {
  return databaseKeyFromOriginPublicKey(deriveOriginKeyPair(rootSecret).publicKey)
}

/**
 * The writer key (`node.writerKey`) the node called `nodeName` has: lets a writer authorise a
 * device by name before it has ever connected.
 */
export function deriveWriterKey(rootSecret: Uint8Array, nodeName: string): Uint8Array {
  return databaseKeyFromOriginPublicKey(deriveWriterKeyPair(rootSecret, nodeName).publicKey)
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * A Hypha node: one replica of the person's multiwriter database, its connections and its
 * ephemeral channel.
 */
export class HyphaNode extends EventEmitter<HyphaNodeEvents> {
  readonly role: Role
  /** The database key (the same on every node of the person). */
  readonly key: Uint8Array
  readonly discoveryKey: Uint8Array
  /** The Noise key pair transports use for this node. */
  readonly noiseKeyPair: KeyPair
  /** Key of the secure channel (@hypha/secure-channel); null on an always-on node. */
  readonly channelKey: Uint8Array | null
  /** Ephemeral messages on every connection, scoped to this database. */
  readonly ephemeral: EphemeralExtension
  /**
   * The end-to-end encrypted channel among the person's nodes, on `ephemeral`; envelopes are
   * signed with the node's Noise key pair. On an always-on node it has no key: it only relays.
   */
  readonly channel: SecureChannel
  readonly transports: readonly Transport[]

  private readonly engine: Engine
  private readonly conns = new Set<NodeConnection>()
  private readonly started: Transport[] = []
  private opening: Promise<void> | null = null
  private closing: Promise<void> | null = null
  /** Writer keys last broadcast in a seed announcement (hex, joined), to announce only changes. */
  private announced = ''
  private announcing = false
  private announceAgain = false

  constructor(options: HyphaNodeOptions) {
    super()
    if (!options || typeof options !== 'object') throw invalid('options are required')
    const storage = options.storage ?? memoryStorage()
    this.transports = [...(options.transports ?? [])]

    if (options.role === 'always-on') {
      checkKey32(options.databaseKey, 'databaseKey')
      const maxSeededCores = options.maxSeededCores ?? DEFAULT_MAX_SEEDED_CORES
      if (!Number.isInteger(maxSeededCores) || maxSeededCores < 1) {
        throw invalid('maxSeededCores must be a positive integer')
      }
      this.role = 'always-on'
      this.key = options.databaseKey
      this.noiseKeyPair = options.noiseKeyPair ?? NoiseSecretStream.keyPair()
      this.channelKey = null
      this.engine = new BlindEngine({ storage, databaseKey: options.databaseKey, maxSeededCores })
    } else if (options.role === 'origin' || options.role === 'read-only') {
      const keys = deriveNodeKeys(options.rootSecret, options.name)
      this.role = options.role
      this.key = databaseKeyFromOriginPublicKey(keys.originKeyPair.publicKey)
      this.noiseKeyPair = keys.noiseKeyPair
      this.channelKey = keys.channelKey
      this.engine = new AutobaseEngine({
        storage,
        // The origin's writer IS the origin key pair, so its core key is the database key.
        bootstrap: options.role === 'origin' ? null : this.key,
        keyPair: options.role === 'origin' ? keys.originKeyPair : keys.writerKeyPair,
        encryptionKey: keys.encryptionKey,
        ackInterval: options.ackInterval
      })
    } else {
      throw invalid(`unknown role ${(options as { role?: unknown }).role}`)
    }

    this.discoveryKey = discoveryKeyOf(this.key)
    this.ephemeral = new EphemeralExtension({ discoveryKey: this.discoveryKey })
    this.channel = new SecureChannel({
      ephemeral: this.ephemeral,
      channelKey: this.channelKey,
      keyPair: this.channelKey ? this.noiseKeyPair : null
    })
    this.engine.on('update', () => this.emit('update'))
    this.engine.on('writable', (w) => this.emit('writable', w))
    if (this.engine instanceof BlindEngine) {
      this.ephemeral.on('message', this.onSeedMessage)
    } else {
      // Tell every new peer which writer cores exist, and every peer when that changes.
      this.ephemeral.on('peer-open', (peer) => void this.announceTo(peer))
      this.engine.on('update', () => this.announceChanges())
    }
    this.engine.on('invalid-op', (op) => this.emit('invalid-op', op))
    this.engine.on('error', (err) => this.emit('error', err))
  }

  /** This node's writer core key: what a writer passes to `addWriter` to authorise it. Null on always-on. */
  get writerKey(): Uint8Array | null {
    return this.engine.localWriterKey
  }

  get writable(): boolean {
    return this.engine.writable
  }

  /** False on an always-on node: it holds only ciphertext. */
  get readable(): boolean {
    return this.engine.readable
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

  /** Ops apply skipped since the node opened (see the 'invalid-op' event). */
  get invalidOps(): number {
    return this.engine instanceof AutobaseEngine ? this.engine.invalidOps : 0
  }

  /** Opens the database and starts the transports. */
  ready(): Promise<void> {
    if (this.opening === null) this.opening = this.open()
    return this.opening
  }

  private async open(): Promise<void> {
    await this.engine.ready()
    if (!b4a.equals(this.engine.key, this.key)) {
      // Would mean Autobase derived its key differently from databaseKeyFromOriginPublicKey.
      throw new HyphaNodeError('ERR_INVALID_ARGUMENT', 'the database key does not match the derived key')
    }
    const context: TransportContext = {
      discoveryKey: this.discoveryKey,
      keyPair: this.noiseKeyPair,
      onConnection: this.addConnection
    }
    for (const transport of this.transports) {
      if (this.closing) return
      transport.on('error', (err: unknown) => this.emit('transport-error', err, transport))
      await transport.start(context)
      this.started.push(transport)
    }
  }

  /**
   * Takes a new encrypted connection (a Noise secret stream): replicates the database over it and
   * attaches the ephemeral channel. Transports call it through `TransportContext.onConnection`.
   */
  readonly addConnection = (stream: SecretStream, info: ConnectionInfo): void => {
    if (this.closing) {
      stream.destroy?.()
      return
    }
    // Errors end the connection ('close' follows); without a listener they would crash the process.
    stream.on('error', noop)
    this.engine.store.replicate(stream)
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

  private async shutdown(): Promise<void> {
    await this.opening?.catch(noop)
    await Promise.allSettled(this.started.map((t) => t.stop()))
    this.channel.close()
    this.ephemeral.close()
    for (const conn of this.conns) conn.stream.destroy()
    await this.engine.close()
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
    const value = await this.engine.get(keyBytes(key))
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
    for await (const { key, value } of this.engine.range(r)) {
      yield { key: decoder.decode(key), keyBytes: key, value: decodeValue(value) }
    }
  }

  /** Waits until everything already received from peers is applied to the view. */
  async update(): Promise<void> {
    await this.readyForUse()
    await this.engine.update()
  }

  // ---- membership ----

  /**
   * Makes `writerKey` (another node's `node.writerKey`) a writer. `indexer: true` makes it take
   * part in ordering consensus too (default false: the origin alone indexes; see README).
   */
  async addWriter(writerKey: Uint8Array, options: { indexer?: boolean } = {}): Promise<void> {
    checkKey32(writerKey, 'writerKey')
    await this.write([{ type: 'add-writer', key: writerKey, indexer: options.indexer === true }])
  }

  /** Removes a writer: its ops after the removal are never applied. The last indexer cannot be removed. */
  async removeWriter(writerKey: Uint8Array): Promise<void> {
    checkKey32(writerKey, 'writerKey')
    await this.write([{ type: 'remove-writer', key: writerKey }])
  }

  /** Current writers, as this node's view knows them. */
  async writers(): Promise<Writer[]> {
    await this.readyForUse()
    return (await this.engine.writers()).map((w: WriterInfo) => ({ ...w }))
  }

  async isWriter(writerKey: Uint8Array): Promise<boolean> {
    checkKey32(writerKey, 'writerKey')
    await this.readyForUse()
    return this.engine.isWriter(writerKey)
  }

  // ---- seed announcements ----

  /** Full nodes: the current writer keys, as announcements of at most MAX_ANNOUNCED_KEYS keys each. */
  private async announcements(): Promise<{ id: string; payloads: Uint8Array[] }> {
    const keys = (await this.engine.writers()).map((w) => w.key)
    const payloads: Uint8Array[] = []
    for (let i = 0; i < keys.length; i += MAX_ANNOUNCED_KEYS) {
      payloads.push(encodeSeedAnnouncement(keys.slice(i, i + MAX_ANNOUNCED_KEYS)))
    }
    return { id: keys.map((k) => b4a.toString(k, 'hex')).join(','), payloads }
  }

  private async announceTo(peer: EphemeralPeer): Promise<void> {
    try {
      await this.ready()
      const { payloads } = await this.announcements()
      if (this.closing || !peer.opened) return
      for (const payload of payloads) this.ephemeral.send(peer, payload, { contentType: SEED_CONTENT_TYPE })
    } catch {
      // Closing, or the peer went away meanwhile: it gets the list again when it reconnects.
    }
  }

  /** Broadcasts the writer keys if they changed; coalesces the bursts of 'update' events. */
  private announceChanges(): void {
    if (this.announcing) {
      this.announceAgain = true
      return
    }
    this.announcing = true
    void (async () => {
      do {
        this.announceAgain = false
        try {
          if (this.closing) break
          await this.ready()
          const { id, payloads } = await this.announcements()
          if (id === this.announced || this.closing) continue
          this.announced = id
          for (const payload of payloads) this.ephemeral.broadcast(payload, { contentType: SEED_CONTENT_TYPE })
        } catch {
          // The view could not be read (closing, or a storage failure the engine reports as 'error').
        }
      } while (this.announceAgain)
      // Cleared in the same tick as the last check, so no request falls between the two.
      this.announcing = false
    })()
  }

  /** Always-on: keep every announced core it does not have yet, up to maxSeededCores. */
  private readonly onSeedMessage = ({ peer, contentType, payload }: EphemeralMessage): void => {
    if (contentType !== SEED_CONTENT_TYPE || this.closing) return
    let keys: Uint8Array[]
    try {
      keys = decodeSeedAnnouncement(payload)
    } catch (err) {
      this.emit('bad-announcement', err as SeedError, peer)
      return
    }
    const blind = this.blind()
    for (const key of keys) {
      if (blind.has(key)) continue
      void this.seedAnnounced(blind, key)
    }
  }

  private async seedAnnounced(blind: BlindEngine, key: Uint8Array): Promise<void> {
    let added: boolean
    try {
      await this.ready()
      added = await blind.seed(key)
    } catch (err) {
      if (!this.closing) this.emit('seed-refused', key, err)
      return
    }
    if (added) this.emit('seeded', key)
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
    if (await this.blind().seed(coreKey)) this.emit('seeded', coreKey)
  }

  /** Always-on only: the cores it keeps, with how much of each it holds. */
  seeded(): SeededCore[] {
    return this.blind().seeded()
  }

  private blind(): BlindEngine {
    if (!(this.engine instanceof BlindEngine)) {
      throw new HyphaNodeError('ERR_WRONG_ROLE', 'only an always-on node seeds cores')
    }
    return this.engine
  }

  /** @internal Appends raw oplog blocks, valid or not: lets tests play a misbehaving writer. */
  async _appendRaw(blocks: Uint8Array[]): Promise<void> {
    await this.readyForUse()
    if (!(this.engine instanceof AutobaseEngine)) throw new HyphaNodeError('ERR_WRONG_ROLE', 'not a full node')
    await this.engine.appendRaw(blocks)
  }

  /** @internal The engine, for tests that inspect stored blocks. */
  get _engine(): Engine {
    return this.engine
  }

  private async write(ops: Op[]): Promise<void> {
    await this.readyForUse()
    if (!this.engine.readable) {
      throw new HyphaNodeError('ERR_NOT_WRITABLE', 'an always-on node never writes to the database')
    }
    if (!this.engine.writable) throw new HyphaNodeError('ERR_NOT_WRITABLE', 'this node is not a writer of the database')
    await this.engine.append(ops)
  }

  private async readyForUse(): Promise<void> {
    if (this.closing) throw new HyphaNodeError('ERR_CLOSED', 'the node is closed')
    await this.ready()
  }
}

function noop(): void {}

function invalid(message: string): HyphaNodeError {
  return new HyphaNodeError('ERR_INVALID_ARGUMENT', message)
}

function checkKey32(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) throw invalid(`${what} must be a 32-byte Uint8Array`)
}

function keyBytes(key: Key): Uint8Array {
  const bytes = typeof key === 'string' ? encoder.encode(key) : key
  if (!(bytes instanceof Uint8Array)) throw invalid('key must be a string or a Uint8Array')
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_KEY_BYTES) {
    throw invalid(`key must be 1 to ${MAX_KEY_BYTES} bytes`)
  }
  return bytes
}

/** Stored as one tag byte (0 bytes, 1 UTF-8 string) and the value's bytes. */
function encodeValue(value: Value | undefined): Uint8Array {
  let tag: number
  let bytes: Uint8Array
  if (typeof value === 'string') {
    tag = VALUE_STRING
    bytes = encoder.encode(value)
  } else if (value instanceof Uint8Array) {
    tag = VALUE_BYTES
    bytes = value
  } else {
    throw invalid('value must be a string or a Uint8Array')
  }
  if (bytes.byteLength > MAX_VALUE_BYTES) throw invalid(`value must be at most ${MAX_VALUE_BYTES} bytes`)
  const out = new Uint8Array(bytes.byteLength + 1)
  out[0] = tag
  out.set(bytes, 1)
  return out
}

function decodeValue(stored: Uint8Array): Value {
  const body = stored.subarray(1)
  return stored[0] === VALUE_STRING ? decoder.decode(body) : new Uint8Array(body)
}
