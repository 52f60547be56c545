/**
 * A HyphaNode's lifecycle: opening the device and the database by role (a blind engine for
 * always-on, Autobase for full nodes), wiring the engine and the database's channels to the node,
 * and closing. HyphaNode's `ready()` and `close()` document the behaviour and errors.
 */
import type { TypedEmitter } from '@hypha/ephemeral-ext'
import b4a from 'b4a'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import { SecureChannel } from '@hypha/secure-channel'
import { AutobaseEngine, discoveryKeyOf } from './engine/autobase.js'
import { BlindEngine } from './engine/blind.js'
import { HyphaNodeError, describeChain, storageError } from './engine/errors.js'
import type { StorageWatch } from './storage/watch.js'
import type { Engine } from './engine/types.js'
import type { AccountKeys, KeyPair } from './keys.js'
import { DEVICE_KEY_NAMES, writeDeviceRecord, type DeviceKeys } from './device.js'
import { chooseDatabase, dropUnrecordedBoot } from './device-database.js'
import type { NodeConnections } from './connections.js'
import type { NodeSync } from './sync.js'
import { announceWriters, keepAnnounced } from './seeding.js'
import { watchWriterHeads } from './heads.js'
import { lookupProof, type AccountLookup, type MemberCredential } from './lookup.js'
import { noop } from './node-values.js'
import type { HyphaNodeEvents, HyphaNodeOptions, Role } from './node-types.js'

/** What `ready()` made: the database and its channels. */
export interface OpenDatabase {
  role: Role
  key: Uint8Array
  discoveryKey: Uint8Array
  noiseKeyPair: KeyPair
  device: DeviceKeys | null
  reopened: boolean
  ephemeral: EphemeralExtension
  channel: SecureChannel
}

/** The node: it reports the engine's and the channels' events, and is the host of its protocols. */
export interface LifecycleHost extends Pick<TypedEmitter<HyphaNodeEvents>, 'emit'> {
  readonly closed: boolean
  ready(): Promise<void>
  /** Where the transports meet (see `HyphaNode.topic`). */
  readonly topic: Uint8Array
}

/** What the node's constructor settled, by role. */
export interface NodeParts {
  options: HyphaNodeOptions
  /** The root Corestore (all the node's storage). */
  store: any
  /** Null on always-on. */
  account: AccountKeys | null
  lookup: AccountLookup | null
  /** An always-on node's member credential (null on full nodes). */
  givenCredential: MemberCredential | null
  links: NodeConnections
  /** The storage's own errors (storage/watch.ts). */
  watch: StorageWatch
  /** Sync status and change feeds: it reports the engine's updates. */
  sync: NodeSync
}

export class NodeLifecycle {
  /** The engine, from the start of opening on. */
  engine: Engine | null = null
  /** The database and its channels, once set up. */
  opened: OpenDatabase | null = null
  /** Always-on: to call when a core was added to the kept set by hand (it re-announces the set). */
  keptGrew: () => void = noop
  /** open() itself; `opening` is it plus the clean-up after a failure (which waits for close). */
  private openTask: Promise<void> | null = null
  private opening: Promise<void> | null = null
  private closing: Promise<void> | null = null

  constructor(
    private readonly node: LifecycleHost,
    private readonly parts: NodeParts
  ) {}

  get closed(): boolean {
    return this.closing !== null
  }

  ready(): Promise<void> {
    if (this.opening === null) {
      this.openTask = this.open()
      this.opening = this.openTask.catch(async (err) => {
        if (this.closing === null) this.closing = this.shutdown(false)
        await this.closing.catch(noop)
        throw storageError('the node could not open', err, this.parts.watch.failure)
      })
    }
    return this.opening
  }

  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown()
    return this.closing
  }

  /**
   * Waits for `ready()` (rejects `ERR_CLOSED` once closed) and gives the engine. Once the engine
   * failed on its storage (and closed itself), rejects with that `ERR_STORAGE`: its view may hold
   * a write that was rejected and that reopening may not bring back, so nothing is read from it.
   */
  async use(): Promise<Engine> {
    if (this.closing) throw new HyphaNodeError('ERR_CLOSED', 'the node is closed')
    await this.ready()
    if (this.db.failure) throw this.db.failure
    return this.db
  }

  /** The engine, once `ready()` resolved. */
  get db(): Engine {
    if (!this.engine) throw new HyphaNodeError('ERR_NOT_OPEN', 'the node is not open yet: await node.ready() first')
    return this.engine
  }

  private async open(): Promise<void> {
    const { store, options, lookup } = this.parts
    await store.ready()
    if (options.role === 'always-on') {
      const key = this.parts.givenCredential!.databaseKey
      const noiseKeyPair = options.noiseKeyPair ?? (await store.createKeyPair(DEVICE_KEY_NAMES.noise))
      const { maxSeededCores, maxCoreBytes, maxKeptBytes } = options
      this.engine = new BlindEngine({ store, databaseKey: key, maxSeededCores, maxCoreBytes, maxKeptBytes })
      this.setUp('always-on', key, noiseKeyPair, null, false)
      await this.engine.ready()
      this.parts.sync.open()
      await this.startTransports(noiseKeyPair)
      return
    }

    const account = this.parts.account!
    const { device, writerKeyPair, record, next, created, settled } = await chooseDatabase({
      store,
      options,
      account,
      lookup: lookup!,
      startTransports: (keyPair) => this.startTransports(keyPair),
      reach: () => this.parts.links.reach()
    })
    this.throwIfClosing()
    if (record === null) await dropUnrecordedBoot(store, writerKeyPair)

    this.engine = new AutobaseEngine({
      store,
      bootstrap: created ? null : next.databaseKey,
      keyPair: writerKeyPair,
      encryptionKey: account.encryptionKey,
      ackInterval: options.ackInterval,
      storageFailure: () => this.parts.watch.failure
    })
    this.setUp(created ? 'origin' : 'read-only', next.databaseKey, device.noiseKeyPair, device, record !== null)
    await this.engine.ready()
    if (!b4a.equals(this.engine.key, next.databaseKey)) {
      // Would mean Autobase derived its key differently from databaseKeyFromOriginPublicKey.
      throw new HyphaNodeError('ERR_STORAGE', 'the database key does not match the stored one')
    }
    this.parts.sync.open()
    // A looked-up database is opened and replicated while the lookup's settle window still runs:
    // the first sync overlaps the wait. Until it settled this node only reads: nothing is stored
    // as its record, no answer vouches for the key, and ready() (so an account, its requests and
    // every write) waits. A conflicting key rejects here, ERR_ACCOUNT_CONFLICT as before, and the
    // node closes; what a passphrase holder that answered first gets is only what serving a
    // reader gives it (the requests for its blocks), which it gets anyway when it answers alone.
    if (settled) await settled
    this.throwIfClosing()
    if (record === null) await writeDeviceRecord(store.storage, next)
    lookup!.answerWith(next.databaseKey, lookupProof(account.lookupKey, next.databaseKey))
    await this.startTransports(device.noiseKeyPair)
  }

  /** After each wait of open(): a close() meanwhile ends the open with ERR_CLOSED. */
  private throwIfClosing(): void {
    if (this.closing) throw new HyphaNodeError('ERR_CLOSED', 'the node was closed while opening')
  }

  /** Creates the database-scoped channels and wires the engine's events; attaches early connections. */
  private setUp(role: Role, key: Uint8Array, noiseKeyPair: KeyPair, device: DeviceKeys | null, reopened: boolean): void {
    const node = this.node
    const engine = this.engine!
    const discoveryKey = discoveryKeyOf(key)
    const ephemeral = new EphemeralExtension({ discoveryKey })
    const memberKey = this.parts.account?.memberKey ?? this.parts.givenCredential!.memberKey
    const channel = new SecureChannel({
      ephemeral,
      memberKey,
      channelKey: this.parts.account?.channelKey ?? null,
      keyPair: device ? device.channelKeyPair : null,
      // Every connection the channel runs on proved membership at the node's gate already.
      requireMemberProof: false,
      now: this.parts.options.now
    })
    this.opened = { role, key, discoveryKey, noiseKeyPair, device, reopened, ephemeral, channel }
    this.parts.sync.attach(engine)
    engine.on('writable', (w) => node.emit('writable', w))
    if (engine.seeder) {
      // Keep what members and other always-on nodes announce; announce what it keeps in turn.
      this.keptGrew = keepAnnounced(ephemeral, engine.seeder, memberKey, node, {
        seeded: (key) => node.emit('seeded', key),
        refused: (key, err) => node.emit('seed-refused', key, err),
        bad: (err, peer) => node.emit('bad-announcement', err, peer)
      })
    } else {
      // Tell every new peer which writer cores exist, and every peer when that changes.
      announceWriters(ephemeral, engine, memberKey, node)
      watchWriterHeads(ephemeral, engine, node, {
        conflict: (key) => node.emit('writer-conflict', key),
        bad: (err, peer) => node.emit('bad-heads', err, peer)
      })
    }
    engine.on('invalid-op', (op) => node.emit('invalid-op', op))
    engine.on('seed-refused', (key, err) => node.emit('seed-refused', key, err))
    engine.on('error', (err) => node.emit('error', err))
    this.parts.links.attachDatabase(ephemeral)
  }

  /** Rejects with `ERR_TRANSPORT` (not the `ERR_STORAGE` of other open failures), naming the root cause (`EADDRINUSE`). */
  private startTransports(keyPair: KeyPair): Promise<void> {
    return this.parts.links.start(this.node.topic, keyPair).catch((err: unknown) => {
      if (err instanceof HyphaNodeError) throw err
      throw new HyphaNodeError('ERR_TRANSPORT', `a transport could not start: ${describeChain(err)}`, { cause: err })
    })
  }

  private async shutdown(afterOpening = true): Promise<void> {
    const { lookup, links, sync } = this.parts
    // Waits for synced() reject and watches end at once, not when opening ends.
    const syncClosed = sync.close()
    // A lookup or existing-account check in progress ends now (ERR_CLOSED) rather than at its timeout.
    lookup?.close()
    if (afterOpening) await this.openTask?.catch(noop)
    await links.stopTransports()
    this.opened?.channel.close()
    this.opened?.ephemeral.close()
    lookup?.close()
    links.destroyAll()
    await syncClosed
    if (this.engine) await this.engine.close()
    else await this.parts.store.close()
  }
}

