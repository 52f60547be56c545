/**
 * The full engine: Autobase 6.5 (multiwriter, causal linearisation) with a Hyperbee view.
 *
 * View layout (binary keys and values):
 *   0x00 ‖ user key   → tagged value (ops.ts)
 *   0x01 ‖ writer key → [active (1) | removed (0), indexer (1|0)]   membership, written by apply
 * The membership records live in the view so that they roll back and re-apply with it when
 * Autobase reorders: they always agree with the ops that were applied.
 */
import { EventEmitter } from 'events'
import Autobase from 'autobase'
import Hyperbee from 'hyperbee'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import b4a from 'b4a'
import { HyphaNodeError } from './errors.js'
import { decodeOp, encodeOp, MalformedOpError, type Op } from './ops.js'
import type { Engine, EngineEntry, EngineEvents, EngineRange, InvalidOp, WriterInfo } from './types.js'
import type { KeyPair } from '../keys.js'
import type { StorageAdapter } from '../storage/types.js'

const DATA = 0x00
const MEMBER = 0x01

/** Acks every second when this writer is an indexer (without it signed length lags, see DESIGN.md). */
const DEFAULT_ACK_INTERVAL = 1000

/**
 * The core key of an Autobase writer with this public key; for the origin's key pair it is the
 * database (Autobase) key. Autobase 6.5's local core is a compat:false hypercore, so its key is
 * the hash of a version-0 manifest with that one signer, not the public key itself (checked in
 * the tests against a real Autobase).
 */
export function databaseKeyFromOriginPublicKey(publicKey: Uint8Array): Uint8Array {
  return (Hypercore as unknown as { key(pk: Uint8Array, opts: { version: number }): Uint8Array }).key(publicKey, {
    version: 0
  })
}

export function discoveryKeyOf(databaseKey: Uint8Array): Uint8Array {
  return Hypercore.discoveryKey(databaseKey)
}

export interface AutobaseEngineOptions {
  storage: StorageAdapter
  /** The database key; null creates the database (origin), with `keyPair` as its first writer. */
  bootstrap: Uint8Array | null
  /** The local writer's key pair. */
  keyPair: KeyPair
  encryptionKey: Uint8Array
  ackInterval?: number
}

type View = Hyperbee

const dataKey = (key: Uint8Array) => b4a.concat([b4a.from([DATA]), key])
const memberKey = (key: Uint8Array) => b4a.concat([b4a.from([MEMBER]), key])

export class AutobaseEngine extends EventEmitter<EngineEvents> implements Engine {
  readonly store: any
  readonly readable = true
  /** Ops skipped by apply since this engine opened (re-applies after a reorder count again). */
  invalidOps = 0
  private readonly base: Autobase<View>

  constructor(options: AutobaseEngineOptions) {
    super()
    this.store = new Corestore(options.storage)
    this.base = new Autobase<View>(this.store, options.bootstrap, {
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
    // Autobase crashes the process on an error nobody listens to; the node decides instead.
    this.base.on('error', (err: unknown) => this.emit('error', err))
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
    await this.base.close()
    // Autobase closes its (namespaced) store; close the root too, it owns the storage.
    await this.store.close()
  }

  async update(): Promise<void> {
    await this.base.update()
  }

  async append(ops: Op[]): Promise<void> {
    await this.appendRaw(ops.map(encodeOp))
  }

  /** @internal Appends raw oplog blocks, valid or not: for tests of apply's robustness. */
  async appendRaw(blocks: Uint8Array[]): Promise<void> {
    if (!this.base.opened) await this.base.ready()
    if (!this.base.writable) throw new HyphaNodeError('ERR_NOT_WRITABLE', 'this node is not a writer of the database')
    try {
      await this.base.append(blocks)
    } catch (err) {
      if (!this.base.writable) {
        throw new HyphaNodeError('ERR_NOT_WRITABLE', 'this node is not a writer of the database', { cause: err })
      }
      throw err
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | null> {
    const entry = await this.base.view.get(dataKey(key))
    return entry === null ? null : entry.value
  }

  async *range(range: EngineRange): AsyncIterable<EngineEntry> {
    const r: Hyperbee.Range = { reverse: range.reverse === true }
    if (range.limit !== undefined) r.limit = range.limit
    if (range.gt) r.gt = dataKey(range.gt)
    else if (range.gte) r.gte = dataKey(range.gte)
    else r.gt = b4a.from([DATA])
    if (range.lt) r.lt = dataKey(range.lt)
    else if (range.lte) r.lte = dataKey(range.lte)
    else r.lt = b4a.from([DATA + 1])
    for await (const entry of this.base.view.createReadStream(r)) {
      yield { key: entry.key.subarray(1), value: entry.value }
    }
  }

  async writers(): Promise<WriterInfo[]> {
    const out: WriterInfo[] = []
    let originRecorded = false
    const stream = this.base.view.createReadStream({ gt: b4a.from([MEMBER]), lt: b4a.from([MEMBER + 1]) })
    for await (const entry of stream) {
      const key = entry.key.subarray(1)
      const isOrigin = b4a.equals(key, this.base.key)
      if (isOrigin) originRecorded = true
      if (entry.value[0] === 1) out.push({ key, origin: isOrigin, indexer: entry.value[1] === 1 })
    }
    // The origin is a writer from the start, without a record, until something says otherwise.
    if (!originRecorded) out.unshift({ key: this.base.key, origin: true, indexer: true })
    return out
  }

  async isWriter(key: Uint8Array): Promise<boolean> {
    const entry = await this.base.view.get(memberKey(key))
    if (entry !== null) return entry.value[0] === 1
    return b4a.equals(key, this.base.key)
  }

  private async apply(nodes: Autobase.ApplyNode[], view: View, host: Autobase<View>): Promise<void> {
    // Reads go through the batch so later ops in this apply see earlier ones (an add, then a put).
    const batch = view.batch({ update: false })
    const isMember = async (key: Uint8Array) => {
      const rec = await batch.get(memberKey(key))
      if (rec !== null) return rec.value[0] === 1
      return b4a.equals(key, host.key)
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
        case 'add-writer':
          await host.addWriter(op.key, { indexer: op.indexer })
          await batch.put(memberKey(op.key), b4a.from([1, op.indexer ? 1 : 0]))
          break
        case 'remove-writer':
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
          await batch.put(memberKey(op.key), b4a.from([0, 0]))
          break
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
