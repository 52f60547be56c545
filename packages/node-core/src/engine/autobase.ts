/**
 * The full engine: Autobase 6.5 (multiwriter, causal linearisation) with a Hyperbee view.
 *
 * View layout (binary keys and values):
 *   0x00 ‖ user key     → tagged value (ops.ts)
 *   0x01 ‖ writer key   → device record (registry.ts): membership and who the device is
 *   0x02 ‖ channel key  → writer key
 * The registry lives in the view so that it rolls back and re-applies with it when Autobase
 * reorders: it always agrees with the ops that were applied.
 *
 * One file on purpose (over 400 lines): one class, whose reads and whose `apply` (the membership
 * rules) share the base's private state; the jobs that stand alone are out already (ops.ts,
 * registry.ts, view-watch.ts). `apply` is the next to move out if it grows.
 */
import { TypedEmitter } from '@hypha/ephemeral-ext'
import { Autobase, Hyperbee, Hypercore, type ApplyNode, type HyperbeeRange } from './holepunch.js'
import b4a from 'b4a'
import { HyphaNodeError, storageError } from './errors.js'
import { decodeOp, encodeOp, MalformedOpError, type Op } from './ops.js'
import { verifyChannelProof } from '../channel-proof.js'
import type { DeviceInfo, Engine, EngineEntry, EngineEvents, EngineRange, EngineWatch, InvalidOp, SyncCore, WriterInfo } from './types.js'
import { ViewChanges } from './view-watch.js'
import { NO_KEY, channelIndexKey, isNoKey, memberKey, memberRecordEncoding, MEMBER, type DeviceRecordInView } from './registry.js'
import c from 'compact-encoding'
import { decodeCanonical } from '@hypha/ephemeral-ext'
import type { KeyPair } from '../keys.js'
import { registerEngine } from '../debug-registry.js'

const DATA = 0x00

/** Acks every second when this writer is an indexer (without it signed length lags, see docs/design.md). */
const DEFAULT_ACK_INTERVAL = 1000

/**
 * The core key of an Autobase writer with this public key; for the origin's key pair it is the
 * database (Autobase) key. Autobase 6.5's local core is a compat:false hypercore, so its key is
 * the hash of a version-0 manifest with that one signer, not the public key itself (checked in
 * the tests against a real Autobase).
 */
export function databaseKeyFromOriginPublicKey(publicKey: Uint8Array): Uint8Array {
  return Hypercore.key(publicKey, { version: 0 })
}

export function discoveryKeyOf(databaseKey: Uint8Array): Uint8Array {
  return Hypercore.discoveryKey(databaseKey)
}

export interface AutobaseEngineOptions {
  /** The Corestore this engine now owns (it closes it); the base lives in a namespace of it. */
  store: any
  /** The database key; null creates the database (origin), with `keyPair` as its first writer. */
  bootstrap: Uint8Array | null
  /** The local writer's key pair. */
  keyPair: KeyPair
  encryptionKey: Uint8Array
  ackInterval?: number
  /** The storage's own first error, if it reported one (storage/watch.ts): the `cause` of storage errors. */
  storageFailure?: () => unknown
}

type View = Hyperbee

const dataKey = (key: Uint8Array) => b4a.concat([b4a.from([DATA]), key])

/** The view's range of user entries within `range`. */
function viewRange(range: EngineRange): HyperbeeRange {
  const r: HyperbeeRange = { reverse: range.reverse === true }
  if (range.limit !== undefined) r.limit = range.limit
  if (range.gt) r.gt = dataKey(range.gt)
  else if (range.gte) r.gte = dataKey(range.gte)
  else r.gt = b4a.from([DATA])
  if (range.lt) r.lt = dataKey(range.lt)
  else if (range.lte) r.lte = dataKey(range.lte)
  else r.lt = b4a.from([DATA + 1])
  return r
}
/** No channel key, or one whose holder signed it over to this writer of this database. */
const channelBindingHolds = (channelKey: Uint8Array, proof: Uint8Array, databaseKey: Uint8Array, writerKey: Uint8Array) =>
  isNoKey(channelKey) || verifyChannelProof(proof, channelKey, databaseKey, writerKey)

const decodeRecord = (bytes: Uint8Array): DeviceRecordInView => decodeCanonical(memberRecordEncoding, bytes)
const encodeRecord = (r: DeviceRecordInView): Uint8Array => c.encode(memberRecordEncoding, r)

export class AutobaseEngine extends TypedEmitter<EngineEvents> implements Engine {
  readonly store: any
  readonly readable = true
  readonly seeder = null
  /** Ops skipped by apply since this engine opened (re-applies after a reorder count again). */
  invalidOps = 0
  /**
   * Set once Autobase failed (a write to the storage failed): it closed itself, so every later
   * write rejects with this, and the write that was in flight too.
   */
  failure: HyphaNodeError | null = null
  private readonly base: Autobase<View>
  private readonly storageFailure: () => unknown
  private closing = false

  constructor(options: AutobaseEngineOptions) {
    super()
    this.store = options.store
    this.storageFailure = options.storageFailure ?? (() => null)
    // One namespace per database (autobase issue 374: its default local core is 'local' whatever
    // the base). The origin's database key is its writer core key, known before it opens.
    const dbKey = options.bootstrap ?? databaseKeyFromOriginPublicKey(options.keyPair.publicKey)
    this.base = new Autobase<View>(this.store.namespace('hypha/db/' + b4a.toString(dbKey, 'hex')), options.bootstrap, {
      keyPair: options.keyPair,
      encryptionKey: options.encryptionKey,
      valueEncoding: 'binary',
      ackInterval: options.ackInterval ?? DEFAULT_ACK_INTERVAL,
      open: (store) => new Hyperbee(store.get('view'), { keyEncoding: 'binary', valueEncoding: 'binary', extension: false }),
      apply: (nodes, view, host) => this.apply(nodes, view, host)
    })
    this.base.on('update', () => this.emit('update'))
    this.base.on('writable', () => this.emit('writable', true))
    this.base.on('unwritable', () => this.emit('writable', false))
    // Autobase crashes the process on an error nobody listens to; the node decides instead. It
    // emits one when applying or flushing failed (a storage write failed: a full disk or quota),
    // and has closed itself: the error, typed, fails the writes in flight and every later one.
    this.base.on('error', (err: unknown) => {
      const stored = this.storageFailure()
      this.failure ??= storageError(stored !== null ? 'the database could not write to its storage and closed' : 'the database failed and closed', err, stored)
      this.emit('error', this.failure)
    })
    // Tests play a misbehaving writer with raw blocks (@hypha/node-core/debug).
    registerEngine(this, { autobase: this.base, appendBlocks: (blocks) => this.appendBlocks(blocks) })
  }

  get key(): Uint8Array {
    return this.base.key
  }

  get discoveryKey(): Uint8Array {
    return this.base.discoveryKey
  }

  get localWriterKey(): Uint8Array | null {
    return this.base.local?.key ?? null
  }

  get writable(): boolean {
    return this.base.writable
  }

  async ready(): Promise<void> {
    await this.base.ready()
  }

  async close(): Promise<void> {
    this.closing = true
    const closing = this.base.close()
    // Autobase waits for the apply in progress before it closes its cores, and an apply (or a read)
    // on a node that fast-forwarded fetches view and system blocks from peers (the apply of an
    // add-writer op reads the system core). Such a fetch is registered with the Autocore session
    // that asked (a snapshot, per Hyperbee read) and ends only when that session closes; closing
    // the store does not end it. With the connections gone it waited for ever, and so did close().
    // So every session of every view core is closed here, which cancels what they have in flight:
    // an apply cut off so stops unflushed, as after a crash, and Autobase applies those ops again
    // on the next open. (`_viewStore.opened`, `sessions`: Autobase 6.5's, vendored at that version.)
    type Autocores = { opened?: Map<unknown, { sessions?: Array<{ close(): Promise<void> }> }> }
    const autocores = (this.base as unknown as { _viewStore?: Autocores })._viewStore?.opened?.values() ?? []
    for (const autocore of autocores) {
      for (const session of [...(autocore.sessions ?? [])]) session.close().catch(() => {})
    }
    await closing
    // Autobase closes its (namespaced) store; close the root too, it owns the storage.
    await this.store.close()
  }

  async update(): Promise<void> {
    await this.base.update()
  }

  async append(ops: Op[]): Promise<void> {
    await this.appendBlocks(ops.map(encodeOp))
  }

  /**
   * Appends oplog blocks as given, as one Autobase append. Resolves once one Autobase drain ran
   * through with them without an error: they are written to the local writer core and applied,
   * and the indexed part of the view and system cores is flushed (the unindexed tip is applied
   * again from the writer cores on reopening). Rejects with `ERR_STORAGE` if a storage write of
   * that drain failed: Autobase reports that only as an 'error' event (and closes itself) and
   * lets the append resolve.
   */
  private async appendBlocks(blocks: Uint8Array[]): Promise<void> {
    if (this.failure) throw this.failure
    if (!this.base.opened) await this.base.ready()
    if (this.failure) throw this.failure
    if (!this.base.writable) throw new HyphaNodeError('ERR_NOT_WRITABLE', 'this node is not a writer of the database')
    try {
      await this.base.append(blocks)
    } catch (err) {
      if (this.failure) throw this.failure
      if (this.closing) throw new HyphaNodeError('ERR_CLOSED', 'the node was closed', { cause: err })
      if (!this.base.writable) {
        throw new HyphaNodeError('ERR_NOT_WRITABLE', 'this node is not a writer of the database', { cause: err })
      }
      if (this.storageFailure() !== null) throw storageError('the write failed', err, this.storageFailure())
      throw err
    }
    // Autobase's drain caught the failure (and closed the base) rather than rejecting.
    if (this.failure) throw this.failure
    if (this.base.closing) {
      if (this.closing) throw new HyphaNodeError('ERR_CLOSED', 'the node was closed while writing')
      throw storageError('the database closed while writing', new Error('Autobase closed'), this.storageFailure())
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | null> {
    try {
      const entry = await this.base.view.get(dataKey(key))
      return entry === null ? null : entry.value
    } catch (err) {
      throw this.readError(err)
    }
  }

  async *range(range: EngineRange): AsyncIterable<EngineEntry> {
    try {
      for await (const entry of this.base.view.createReadStream(viewRange(range))) {
        yield { key: entry.key.subarray(1), value: entry.value }
      }
    } catch (err) {
      throw this.readError(err)
    }
  }

  /** A read that failed: `ERR_CLOSED` if close() ended it (its block fetch cancelled), else as it came. */
  private readError(err: unknown): unknown {
    if (this.closing && !(err instanceof HyphaNodeError)) {
      return new HyphaNodeError('ERR_CLOSED', 'the node was closed while reading', { cause: err })
    }
    return err
  }

  get version(): number {
    return this.base.view.version
  }

  async syncCores(): Promise<SyncCore[]> {
    const out: SyncCore[] = []
    const keys = (await this.writers()).map((w) => w.key)
    // The database core (the origin's oplog) even once the origin is removed: its history stays.
    if (!keys.some((k) => b4a.equals(k, this.base.key))) keys.unshift(this.base.key)
    for (const key of keys) {
      // The system view records, per writer, how many of its blocks the applied history holds.
      const info = await (this.base as any).system?.get(key)
      out.push({ key, applied: info?.length ?? 0 })
    }
    return out
  }

  watch(range: EngineRange): EngineWatch {
    const r = viewRange({ ...range, limit: undefined, reverse: false })
    return new ViewChanges(this.base.view, r, (viewKey) => viewKey.subarray(1), (listener) => {
      this.on('update', listener)
      return () => this.off('update', listener)
    })
  }

  async writers(): Promise<WriterInfo[]> {
    return (await this.devices())
      .filter((d) => d.active)
      .map((d) => ({ key: d.writerKey, origin: d.origin, indexer: d.indexer }))
  }

  async isWriter(key: Uint8Array): Promise<boolean> {
    const entry = await this.base.view.get(memberKey(key))
    if (entry !== null) return decodeRecord(entry.value).active
    return b4a.equals(key, this.base.key)
  }

  async devices(): Promise<DeviceInfo[]> {
    const out: DeviceInfo[] = []
    let originRecorded = false
    const stream = this.base.view.createReadStream({ gt: b4a.from([MEMBER]), lt: b4a.from([MEMBER + 1]) })
    for await (const entry of stream) {
      const info = this.toDeviceInfo(entry.key.subarray(1), decodeRecord(entry.value))
      if (info.origin) originRecorded = true
      out.push(info)
    }
    // The origin is a writer from the start, without a record, until it registers.
    if (!originRecorded) out.unshift(this.toDeviceInfo(this.base.key, null))
    return out
  }

  async deviceByChannelKey(channelKey: Uint8Array): Promise<DeviceInfo | null> {
    if (isNoKey(channelKey)) return null
    const entry = await this.base.view.get(channelIndexKey(channelKey))
    if (entry === null) return null
    const rec = await this.base.view.get(memberKey(entry.value))
    return rec === null ? null : this.toDeviceInfo(entry.value, decodeRecord(rec.value))
  }

  private toDeviceInfo(writerKey: Uint8Array, r: DeviceRecordInView | null): DeviceInfo {
    const origin = b4a.equals(writerKey, this.base.key)
    if (r === null) {
      return { writerKey, name: '', channelKey: null, origin, indexer: origin, recovery: false, active: origin, addedBy: null, addedAt: null, revokedBy: null, revokedAt: null }
    }
    const added = !isNoKey(r.addedBy)
    const revoked = !isNoKey(r.revokedBy)
    return {
      writerKey,
      name: r.name,
      channelKey: isNoKey(r.channelKey) ? null : r.channelKey,
      origin,
      indexer: r.indexer,
      recovery: r.recovery,
      active: r.active,
      addedBy: added ? r.addedBy : null,
      addedAt: added || r.addedAt ? r.addedAt : null,
      revokedBy: revoked ? r.revokedBy : null,
      revokedAt: revoked ? r.revokedAt : null
    }
  }

  private async apply(nodes: ApplyNode[], view: View, host: Autobase<View>): Promise<void> {
    // Reads go through the batch so later ops in this apply see earlier ones (an add, then a put).
    const batch = view.batch({ update: false })
    const record = async (key: Uint8Array): Promise<DeviceRecordInView | null> => {
      const rec = await batch.get(memberKey(key))
      return rec === null ? null : decodeRecord(rec.value)
    }
    const isMember = async (key: Uint8Array) => {
      const rec = await record(key)
      if (rec !== null) return rec.active
      return b4a.equals(key, host.key)
    }
    // The channel index points at the newest device that claimed the key; a key moves only when
    // its record names it, so a stale index entry is never trusted (deviceByChannelKey re-reads).
    const setChannel = async (writerKey: Uint8Array, old: Uint8Array | null, channelKey: Uint8Array) => {
      if (old && !isNoKey(old) && !b4a.equals(old, channelKey)) await batch.del(channelIndexKey(old))
      if (!isNoKey(channelKey)) await batch.put(channelIndexKey(channelKey), writerKey)
    }

    for (const node of nodes) {
      const writer = node.from.key
      const skip = (reason: InvalidOp['reason'], message: string) =>
        this.reportInvalid({ writer, seq: node.length - 1, reason, message })

      let op: Op
      try {
        op = decodeOp(node.value)
      } catch (err) {
        skip('malformed', err instanceof MalformedOpError ? err.message : 'undecodable op')
        continue
      }
      // Autobase drops ops of writers it knows are removed; this also covers ops it still
      // linearises after the removal in the same batch.
      if (!(await isMember(writer))) {
        skip('not-a-writer', 'op from a key that is not a current writer')
        continue
      }

      switch (op.type) {
        case 'put':
          await batch.put(dataKey(op.key), op.value)
          break
        case 'del':
          await batch.del(dataKey(op.key))
          break
        case 'add-writer': {
          if (!channelBindingHolds(op.channelKey, op.channelProof, host.key, op.key)) {
            skip('bad-channel-proof', 'add-writer with a channel key whose holder did not bind it to this writer')
            break
          }
          const old = await record(op.key)
          // Two devices approved the same request at once: the first add stands.
          if (old?.active || (old === null && b4a.equals(op.key, host.key))) break
          await host.addWriter(op.key, { indexer: op.indexer })
          await batch.put(
            memberKey(op.key),
            encodeRecord({
              active: true,
              indexer: op.indexer,
              recovery: op.recovery,
              name: op.name,
              channelKey: op.channelKey,
              addedBy: writer,
              addedAt: op.at,
              revokedBy: NO_KEY,
              revokedAt: 0
            })
          )
          await setChannel(op.key, old?.channelKey ?? null, op.channelKey)
          break
        }
        case 'remove-writer': {
          if (!(await isMember(op.key))) {
            skip('not-a-member', 'remove-writer for a key that is not a writer')
            break
          }
          // Autobase throws (and would stop) on removing the last indexer.
          if (!host.removeable(op.key)) {
            skip('last-indexer', 'cannot remove the last indexer')
            break
          }
          await host.removeWriter(op.key)
          const old = await record(op.key)
          await batch.put(
            memberKey(op.key),
            encodeRecord({
              ...(old ?? { name: '', channelKey: NO_KEY, addedBy: NO_KEY, addedAt: 0, recovery: false }),
              active: false,
              indexer: false,
              revokedBy: writer,
              revokedAt: op.at
            } as DeviceRecordInView)
          )
          break
        }
        case 'register-device': {
          if (!channelBindingHolds(op.channelKey, op.channelProof, host.key, writer)) {
            skip('bad-channel-proof', 'register-device with a channel key whose holder did not bind it to this writer')
            break
          }
          const old = await record(writer)
          await batch.put(
            memberKey(writer),
            encodeRecord({
              active: true,
              indexer: old ? old.indexer : b4a.equals(writer, host.key),
              recovery: old ? old.recovery : false,
              name: op.name,
              channelKey: op.channelKey,
              addedBy: old ? old.addedBy : NO_KEY,
              addedAt: old ? old.addedAt : op.at,
              revokedBy: NO_KEY,
              revokedAt: 0
            })
          )
          await setChannel(writer, old?.channelKey ?? null, op.channelKey)
          break
        }
      }
    }
    await batch.flush()
  }

  private reportInvalid(op: InvalidOp): void {
    this.invalidOps++
    // A throwing listener must not break apply (that would stop the database).
    try {
      this.emit('invalid-op', op)
    } catch (err) {
      queueMicrotask(() => this.emit('error', err))
    }
  }
}
