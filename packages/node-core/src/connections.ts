/**
 * A node's connections: starting and stopping its transports, and the encrypted connections they
 * bring. A new connection first passes the membership gate (member-gate.ts): until the peer has
 * proven it holds the member key nothing else runs on it. Then it replicates the node's Corestore
 * and carries the lookup channel at once; the database's ephemeral channel is attached once the
 * database is known (a lookup may come first), so connections made before that are held until then.
 */
import type { EphemeralExtension, TypedEmitter } from '@hypha/ephemeral-ext'
import type { KeyPair } from './keys.js'
import type { AccountLookup } from './lookup.js'
import type { HyphaNodeEvents, NodeConnection } from './node-types.js'
import { noop } from './node-values.js'
import { HyphaNodeError, describeChain } from './engine/errors.js'
import { memberGate } from './member-gate.js'
import type { ConnectionInfo, SecretStream, Transport } from './transports/types.js'

/** The two error events the node re-emits from a transport. */
type TransportErrorSource = Pick<TypedEmitter<{ 'connection-error': [error: unknown]; error: [error: unknown] }>, 'on'>

/** The node, which reports the connections' events; once it is closing new connections end at once. */
export interface ConnectionsHost extends Pick<TypedEmitter<HyphaNodeEvents>, 'emit'> {
  readonly closed: boolean
}

/** Limits on a node's connections (HyphaNodeOptions, checked there). */
export interface ConnectionLimits {
  /** Most connections at once, proven or not. */
  maxConnections: number
  /** Most connections at once that have not proven membership yet. */
  maxUnprovenConnections: number
  /** A connection that has not proven membership this long (ms) after it came is closed. */
  memberProofTimeoutMs: number
}

export class NodeConnections {
  private readonly conns = new Set<NodeConnection>()
  /** Connections at the membership gate, oldest first. */
  private readonly unproven = new Map<SecretStream, ConnectionInfo>()
  /** Connections made before the database was known (during a lookup): attached once it is. */
  private readonly early = new Set<{ stream: SecretStream; info: ConnectionInfo }>()
  private readonly started: Transport[] = []
  private transportsStarted = false
  /** For `reach()`: connections that came (before the gate), and the transports' last error. */
  private arrived = 0
  private lastTransportError: unknown = null
  /** The database's ephemeral channel, once it is known. */
  private ephemeral: EphemeralExtension | null = null

  /** `store`: the Corestore every connection replicates; `lookup`: the channel attached at once. */
  constructor(
    private readonly host: ConnectionsHost,
    private readonly transports: readonly Transport[],
    private readonly store: any,
    private readonly lookup: AccountLookup | null,
    /** The account's member key: what each connection must prove it holds. */
    private readonly memberKey: Uint8Array,
    private readonly limits: ConnectionLimits
  ) {}

  /**
   * Why nobody may have answered, for a lookup's `ERR_NOT_FOUND`: "no connection was made; the last
   * transport error: … (ECONNREFUSED)", or how many connections came and none answered.
   */
  reach(): string {
    if (this.arrived > 0) {
      return `${this.arrived} connection${this.arrived === 1 ? '' : 's'} came and none answered as this account's peer (another account's, or not serving it)`
    }
    if (this.transports.length === 0) return 'this node has no transports, and no connection was added'
    if (this.lastTransportError !== null) return `no connection was made; the last transport error: ${describeChain(this.lastTransportError)}`
    return 'no connection was made'
  }

  /** Open connections (with the database's channel attached). */
  get list(): NodeConnection[] {
    return [...this.conns]
  }

  get size(): number {
    return this.conns.size
  }

  /** Open connections that proved membership: attached, or held until the database is known. */
  get proven(): number {
    return this.conns.size + this.early.size
  }

  /** Starts every transport, once (later calls return at once); stops early if the node closes. */
  async start(topic: Uint8Array, keyPair: KeyPair): Promise<void> {
    if (this.transportsStarted) return
    this.transportsStarted = true
    const context = { topic, keyPair, memberKey: this.memberKey, onConnection: this.add }
    for (const transport of this.transports) {
      if (this.host.closed) return
      // Every transport (TransportBase) reports what it recovers from as 'connection-error'; a
      // transport of the caller's own may emit 'error'. The node re-emits both.
      // ('error' is outside the Transport type, which lists TransportBase's events: hence the cast.)
      for (const event of ['connection-error', 'error'] as const) {
        ;(transport as unknown as TransportErrorSource).on(event, (err: unknown) => {
          this.lastTransportError = err
          this.host.emit('transport-error', err, transport)
        })
      }
      await transport.start(context)
      this.started.push(transport)
    }
  }

  /** Takes a new encrypted connection (`TransportContext.onConnection`). */
  readonly add = (stream: SecretStream, info: ConnectionInfo): void => {
    if (this.host.closed) {
      stream.destroy?.()
      return
    }
    this.arrived++
    // Errors end the connection ('close' follows); without a listener they would crash the process.
    stream.on('error', noop)
    const { maxConnections, maxUnprovenConnections, memberProofTimeoutMs } = this.limits
    const full = () => this.conns.size + this.early.size + this.unproven.size >= maxConnections
    // Room is made by closing the connection longest at the gate: a member proves within a round
    // trip, so a stranger must keep opening connections faster than that to keep a member out.
    if (this.unproven.size >= maxUnprovenConnections || (full() && this.unproven.size > 0)) {
      const [oldest, oldestInfo] = this.unproven.entries().next().value!
      this.unproven.delete(oldest)
      oldest.destroy()
      this.host.emit('peer-refused', tooMany('it was the longest at the membership gate when another came'), oldestInfo)
    }
    if (full()) {
      stream.destroy()
      this.host.emit('peer-refused', tooMany(`the node has ${maxConnections} connections`), info)
      return
    }
    this.unproven.set(stream, info)
    memberGate(stream, this.memberKey, memberProofTimeoutMs).then(
      () => {
        this.unproven.delete(stream)
        // Closed meanwhile (evicted above, or the node is closing): nothing to admit.
        if (this.host.closed || stream.destroyed) stream.destroy()
        else this.admit(stream, info)
      },
      (error: HyphaNodeError) => {
        this.unproven.delete(stream)
        // A connection that just closed (the peer went, the node is closing, or it was evicted above) is not a refusal.
        if (error.code !== 'ERR_CLOSED' && !this.host.closed) this.host.emit('peer-refused', error, info)
      }
    )
  }

  /** A connection that proved membership: replication, the lookup channel and the database's channel. */
  private admit(stream: SecretStream, info: ConnectionInfo): void {
    this.store.replicate(stream)
    this.lookup?.attach(stream)
    if (this.ephemeral) {
      this.attach(stream, info)
      return
    }
    const early = { stream, info }
    this.early.add(early)
    stream.once('close', () => this.early.delete(early))
  }

  /** The database is known: its channel goes on every connection, held and future. */
  attachDatabase(ephemeral: EphemeralExtension): void {
    this.ephemeral = ephemeral
    for (const { stream, info } of this.early) this.attach(stream, info)
    this.early.clear()
  }

  /** Stops the transports that started (failures ignored: the node is closing anyway). */
  async stopTransports(): Promise<void> {
    await Promise.allSettled(this.started.map((t) => t.stop()))
  }

  /** Ends every connection, attached or held. */
  destroyAll(): void {
    for (const conn of this.conns) conn.stream.destroy()
    for (const { stream } of this.early) stream.destroy()
    for (const stream of this.unproven.keys()) stream.destroy()
  }

  private attach(stream: SecretStream, info: ConnectionInfo): void {
    if (stream.destroyed) return
    const conn: NodeConnection = { stream, info, ephemeral: this.ephemeral!.attach(stream) }
    this.conns.add(conn)
    stream.once('close', () => {
      if (!this.conns.delete(conn)) return
      this.host.emit('disconnection', conn)
    })
    this.host.emit('connection', conn)
  }
}

function tooMany(why: string): HyphaNodeError {
  return new HyphaNodeError('ERR_TOO_MANY_CONNECTIONS', `connection closed: ${why}`)
}
