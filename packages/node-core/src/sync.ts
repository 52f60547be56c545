/**
 * Sync status and change feeds behind HyphaNode's `syncStatus()`, `synced()`, `watch()` and the
 * `update` / `sync-status` events (their docs are on HyphaNode and in node-types.ts).
 *
 * The status is computed on demand from Hypercore's own replication state: for every core the
 * database is held in (the engine's `syncCores`, plus the database core), this module holds a
 * session open (so it is replicated on every connection) and compares the core's length, and what
 * of it is here (applied to the view on a full node, held on always-on), with what each connected
 * peer of it said (`remoteLength` in its last sync message, `remoteContiguousLength` from its range
 * messages). A connection counts once its peer has told its state of the database core. Re-checked (coalesced) on connections, on every core event (append,
 * download, truncate, peer added or removed), on every engine update, and while syncing every
 * {@link SYNCING_POLL_MS} (a peer's sync message raises no event of its own).
 */
import type { TypedEmitter } from '@hypha/ephemeral-ext'
import b4a from 'b4a'
import { coalesced } from './coalesce.js'
import type { NodeConnections } from './connections.js'
import { HyphaNodeError } from './engine/errors.js'
import type { Engine, EngineRange, EngineWatch, SyncCore } from './engine/types.js'
import type { Change, CoreSyncStatus, HyphaNodeEvents, SyncedOptions, SyncPeer, SyncState, SyncStatus, WatchRange } from './node-types.js'
import { checkMs, decodeKey, decodeValue, engineRange, invalid, noop, optionBag } from './node-values.js'

/** While syncing with peers, how often the status is re-checked (ms). */
export const SYNCING_POLL_MS = 100

/** The node: it emits the events, and reports connections. */
export type SyncHost = Pick<TypedEmitter<HyphaNodeEvents>, 'emit' | 'on' | 'off'>

const CORE_EVENTS = ['append', 'download', 'truncate', 'peer-add', 'peer-remove'] as const

export class NodeSync {
  private engine: Engine | null = null
  private opened = false
  private closing = false
  /** The sessions held on the cores the database is held in, by key (hex). */
  private readonly cores = new Map<string, any>()
  /** Full engine: blocks of each writer core applied to the view, by key (hex), as last read. */
  private readonly applied = new Map<string, number | null>()
  private coresStale = true
  private version = 0
  private last: SyncStatus = { state: 'offline', synced: false, peers: [], cores: [] }
  private lastPeers = ''
  private poll: ReturnType<typeof setInterval> | null = null
  private readonly waiters = new Set<{ resolve: (s: SyncStatus) => void; reject: (e: unknown) => void }>()
  private readonly watches = new Set<NodeWatch>()
  private readonly trigger = () => void this.check()

  /** Re-checks the status and emits `sync-status` when it changed; runs coalesce. */
  readonly check = coalesced(() => this.recheck(), { stopped: () => this.closing, onError: noop })

  constructor(
    private readonly host: SyncHost,
    private readonly links: NodeConnections,
    /** Waits for `ready()` (rejects `ERR_CLOSED` once closed) and gives the engine. */
    private readonly use: () => Promise<Engine>
  ) {
    host.on('connection', this.trigger)
    host.on('disconnection', this.trigger)
  }

  /** The engine is made (not open yet): its updates become the node's `update` events. */
  attach(engine: Engine): void {
    this.engine = engine
    engine.on('update', () => {
      if (this.closing) return
      const previousVersion = this.version
      this.version = engine.version
      this.coresStale = true
      this.host.emit('update', { version: this.version, previousVersion })
      this.trigger()
    })
  }

  /** The engine is open. */
  open(): void {
    if (this.closing || !this.engine) return
    this.opened = true
    this.version = this.engine.version
    this.trigger()
  }

  /** See `HyphaNode.syncStatus`. */
  status(): SyncStatus {
    const conns = this.links.list
    const peers: SyncPeer[] = conns.map(({ stream, info }) => {
      const peer: SyncPeer = { remotePublicKey: stream.remotePublicKey, transport: info.transport, isInitiator: info.isInitiator }
      if (info.remote !== undefined) peer.remote = info.remote
      return peer
    })
    const cores: CoreSyncStatus[] = []
    for (const [id, core] of this.cores) {
      if (core.opened && !core.closing) cores.push(coreStatus(core, this.applied.get(id) ?? null))
    }
    let state: SyncState = 'offline'
    if (conns.length > 0) {
      const heard = this.opened && conns.every(({ stream }) => this.heardFrom(stream))
      state = heard && cores.every((c) => c.synced) ? 'synced' : 'syncing'
    }
    return { state, synced: state === 'synced', peers, cores }
  }

  /** See `HyphaNode.synced`. */
  async synced(options: SyncedOptions = {}): Promise<SyncStatus> {
    const { timeoutMs } = optionBag(options, 'options')
    checkMs(timeoutMs, 'timeoutMs', 1)
    await this.use()
    await this.check()
    if (this.closing) throw closed()
    if (this.last.synced) return this.last
    return new Promise<SyncStatus>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | null = null
      const waiter = {
        resolve: (status: SyncStatus) => {
          if (timer) clearTimeout(timer)
          resolve(status)
        },
        reject: (err: unknown) => {
          if (timer) clearTimeout(timer)
          reject(err)
        }
      }
      this.waiters.add(waiter)
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters.delete(waiter)
          reject(new HyphaNodeError('ERR_TIMEOUT', `not synced with the peers within ${timeoutMs} ms`))
        }, timeoutMs)
      }
    })
  }

  /** See `HyphaNode.watch`. */
  watch(range: WatchRange): AsyncIterableIterator<Change[]> {
    const r = watchRange(range)
    const watch = new NodeWatch(
      this.opened && !this.closing && this.engine ? this.engine : null,
      this.use,
      r,
      (w) => this.watches.delete(w)
    )
    this.watches.add(watch)
    return watch
  }

  /** The node is closing: waits reject `ERR_CLOSED`, watches end, the sessions close. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.host.off('connection', this.trigger)
    this.host.off('disconnection', this.trigger)
    this.stopPolling()
    for (const waiter of this.waiters) waiter.reject(closed())
    this.waiters.clear()
    for (const watch of [...this.watches]) watch.end()
    const sessions = [...this.cores.values()]
    this.cores.clear()
    await Promise.allSettled(sessions.map((core) => core.close()))
  }

  private async recheck(): Promise<void> {
    await this.refreshCores()
    let status = this.status()
    if (status.synced && !this.last.synced && this.engine?.readable) {
      // Say so only once what was downloaded is applied, and with the writers it added known.
      await this.engine.update().catch(noop)
      if (this.closing) return
      await this.refreshCores()
      status = this.status()
    }
    this.publish(status)
  }

  private publish(status: SyncStatus): void {
    if (this.closing) return
    const peersId = status.peers
      .map((p) => `${b4a.toString(p.remotePublicKey ?? b4a.alloc(0), 'hex')} ${p.transport} ${p.isInitiator}`)
      .sort()
      .join(',')
    const changed = status.state !== this.last.state || peersId !== this.lastPeers
    this.last = status
    this.lastPeers = peersId
    if (status.state === 'syncing') this.startPolling()
    else this.stopPolling()
    if (status.synced) {
      for (const waiter of this.waiters) waiter.resolve(status)
      this.waiters.clear()
    }
    if (changed) this.host.emit('sync-status', status)
  }

  /** Holds a session on every core the database is held in now (the database core always). */
  private async refreshCores(): Promise<void> {
    const engine = this.engine
    if (!this.opened || !engine || !this.coresStale) return
    this.coresStale = false
    let held: SyncCore[]
    try {
      held = await engine.syncCores()
    } catch {
      this.coresStale = true
      return
    }
    // The database core always (the engines list it; this is in case one did not).
    if (!held.some((c) => b4a.equals(c.key, engine.key))) held.unshift({ key: engine.key, applied: null })
    // A core no longer held (a writer removed, a kept core refused for its size) is no longer
    // compared, nor kept open (and so replicated) by this session.
    const listed = new Set(held.map((c) => b4a.toString(c.key, 'hex')))
    for (const [id, core] of this.cores) {
      if (listed.has(id)) continue
      this.cores.delete(id)
      this.applied.delete(id)
      for (const event of CORE_EVENTS) core.off(event, this.trigger)
      core.close().catch(noop)
    }
    const opening: Promise<unknown>[] = []
    for (const { key, applied } of held) {
      const id = b4a.toString(key, 'hex')
      this.applied.set(id, applied)
      if (this.closing || this.cores.has(id)) continue
      const core = engine.store.get({ key })
      this.cores.set(id, core)
      for (const event of CORE_EVENTS) core.on(event, this.trigger)
      opening.push(core.ready().catch(() => this.cores.delete(id)))
    }
    await Promise.all(opening)
  }

  /** Whether the peer on this connection told its state of the database core. */
  private heardFrom(stream: unknown): boolean {
    const core = this.engine ? this.cores.get(b4a.toString(this.engine.key, 'hex')) : undefined
    if (!core?.opened) return false
    return core.peers.some((p: { stream: unknown; remoteSynced: boolean }) => p.stream === stream && p.remoteSynced)
  }

  private startPolling(): void {
    if (this.poll !== null) return
    this.poll = setInterval(this.trigger, SYNCING_POLL_MS)
    ;(this.poll as { unref?: () => void }).unref?.()
  }

  private stopPolling(): void {
    if (this.poll === null) return
    clearInterval(this.poll)
    this.poll = null
  }
}

function coreStatus(core: any, applied: number | null): CoreSyncStatus {
  let remoteLength = 0
  let remoteContiguousLength = 0
  let told = true
  let peers = 0
  for (const peer of core.peers) {
    peers++
    if (!peer.remoteSynced) {
      told = false
      continue
    }
    // A peer on another fork of the core has nothing this node can take.
    if (peer.remoteFork !== core.fork) continue
    remoteLength = Math.max(remoteLength, peer.remoteLength)
    remoteContiguousLength = Math.max(remoteContiguousLength, peer.remoteContiguousLength)
  }
  const length: number = core.length
  const contiguousLength: number = core.contiguousLength
  return {
    key: core.key,
    length,
    contiguousLength,
    remoteLength,
    remoteContiguousLength,
    applied,
    peers,
    synced: told && length >= remoteLength && (applied ?? contiguousLength) >= remoteContiguousLength
  }
}

/** A watch range checked: bounds or a prefix, no limit, no reverse. */
function watchRange(range: WatchRange): EngineRange {
  if (range === null || typeof range !== 'object') throw invalid('range must be an object')
  const given = range as { limit?: unknown; reverse?: unknown }
  if (given.limit !== undefined || given.reverse !== undefined) throw invalid('a watch range takes no limit or reverse')
  return engineRange(range)
}

function closed(): HyphaNodeError {
  return new HyphaNodeError('ERR_CLOSED', 'the node is closed')
}

const DONE: IteratorResult<Change[]> = { value: undefined, done: true }

/** `node.watch(range)`: an async iterator of the engine's watch, decoded; `return()` (a `break`) or closing ends it. */
class NodeWatch implements AsyncIterableIterator<Change[]> {
  private inner: EngineWatch | null = null
  private ended = false
  private readonly started: Promise<EngineWatch | null>

  constructor(
    engine: Engine | null,
    use: () => Promise<Engine>,
    range: EngineRange,
    private readonly onEnd: (watch: NodeWatch) => void
  ) {
    // From now when the node is open (so no change between this call and the first next() is missed).
    const start = (e: Engine) => (this.ended ? null : (this.inner = e.watch(range)))
    let started: Promise<EngineWatch | null>
    try {
      started = engine ? Promise.resolve(start(engine)) : use().then(start)
    } catch (err) {
      started = Promise.reject(err)
    }
    this.started = started
    this.started.catch(noop)
  }

  async next(): Promise<IteratorResult<Change[]>> {
    if (this.ended) return DONE
    let inner: EngineWatch | null
    try {
      inner = await this.started
    } catch (err) {
      this.end()
      throw err
    }
    if (inner === null || this.ended) return DONE
    const changes = await inner.next()
    if (changes === null || this.ended) {
      this.end()
      return DONE
    }
    return {
      done: false,
      value: changes.map(({ key, value, previous }) => ({
        key: decodeKey(key),
        keyBytes: key,
        value: value === null ? null : decodeValue(value),
        previous: previous === null ? null : decodeValue(previous)
      }))
    }
  }

  async return(): Promise<IteratorResult<Change[]>> {
    this.end()
    return DONE
  }

  end(): void {
    if (this.ended) return
    this.ended = true
    this.inner?.close()
    this.onEnd(this)
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Change[]> {
    return this
  }
}
