// Hyperswarm transport: joins the database's discovery key as a topic (announcing and looking up)
// and hands over every connection. Hyperswarm connections already are Noise secret streams, and the
// swarm re-dials lost topic peers itself (with back-off), so this transport only wires it up.
import { EventEmitter } from 'node:events'
import Hyperswarm from 'hyperswarm'
import DHT from 'hyperdht'
import type { ConnectionInfo, SecretStream, Transport, TransportContext } from '@hypha/node-core/transport'

export type HyperswarmErrorCode = 'ERR_ALREADY_STARTED' | 'ERR_DHT_DESTROYED' | 'ERR_CONNECTION'

export class HyperswarmError extends Error {
  override readonly name = 'HyperswarmError'
  constructor(readonly code: HyperswarmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A DHT bootstrap node: `{ host, port }` or `'host:port'`. */
export type BootstrapNode = string | { host: string; port: number }

export interface HyperswarmTransportOptions {
  /** DHT bootstrap nodes. Default: the public Hyperswarm network. Tests pass a local testnet's. */
  bootstrap?: BootstrapNode[]
  /** Address the transport's own DHT binds to (tests: '127.0.0.1'). Default: all interfaces. */
  host?: string
  /**
   * A HyperDHT instance to run on instead of creating one. The swarm takes it over: stop()
   * destroys it, so such a transport cannot be started again.
   */
  dht?: object
  /** Most peers connected at once. Default: Hyperswarm's (64). */
  maxPeers?: number
}

export interface HyperswarmTransportEvents {
  /** A connection was handed to the node. */
  connection: [stream: SecretStream, info: ConnectionInfo]
  /** A connection ended. */
  disconnection: [stream: SecretStream, info: ConnectionInfo]
  /** A connection failed; the swarm re-dials topic peers itself. Never fatal. */
  warning: [error: HyperswarmError]
}

export class HyperswarmTransport extends EventEmitter<HyperswarmTransportEvents> implements Transport {
  readonly name = 'hyperswarm'
  private readonly options: HyperswarmTransportOptions
  private swarm: Hyperswarm | null = null
  private topic: Uint8Array | null = null
  private dhtUsed = false

  constructor(options: HyperswarmTransportOptions = {}) {
    super()
    this.options = options
  }

  /** Open connections (Noise secret streams). */
  get connections(): SecretStream[] {
    return this.swarm ? [...this.swarm.connections] : []
  }

  /** The swarm's Noise public key (the context's key pair), while started. */
  get publicKey(): Uint8Array | null {
    return this.swarm?.keyPair.publicKey ?? null
  }

  /** Joins the topic as server and client; resolves once announced and the first lookup is done. */
  async start(context: TransportContext): Promise<void> {
    if (this.swarm) throw new HyperswarmError('ERR_ALREADY_STARTED', 'the transport is already started')
    let dht = this.options.dht as DHT | undefined
    if (dht) {
      if (this.dhtUsed || dht.destroyed) throw new HyperswarmError('ERR_DHT_DESTROYED', 'the given DHT was destroyed by an earlier stop()')
      this.dhtUsed = true
    } else {
      dht = new DHT({ bootstrap: this.options.bootstrap, host: this.options.host })
    }
    // The node's Noise key pair is an ed25519 key pair, which is what Hyperswarm uses too: the
    // remote public key of every connection is then the remote node's key, on every transport.
    const swarm = new Hyperswarm({
      dht,
      keyPair: context.keyPair,
      ...(this.options.maxPeers !== undefined ? { maxPeers: this.options.maxPeers } : {})
    })
    this.swarm = swarm
    this.topic = context.topic
    swarm.on('connection', (conn: SecretStream) => this.onConnection(context, conn))
    try {
      await swarm.join(context.topic, { server: true, client: true }).flushed()
    } catch (err) {
      this.swarm = null
      await swarm.destroy().catch(() => {})
      throw err
    }
  }

  /** Leaves the topic (unannounces), closes every connection and the DHT. */
  async stop(): Promise<void> {
    const swarm = this.swarm
    if (!swarm) return
    this.swarm = null
    const topic = this.topic!
    this.topic = null
    await swarm.leave(topic)
    for (const conn of swarm.connections) conn.destroy()
    await swarm.destroy()
  }

  private onConnection(context: TransportContext, conn: SecretStream): void {
    const raw = conn.rawStream as { remoteHost?: string; remotePort?: number } | undefined
    const info: ConnectionInfo = {
      transport: this.name,
      isInitiator: conn.isInitiator,
      remote: raw?.remoteHost ? `${raw.remoteHost}:${raw.remotePort}` : undefined
    }
    // Hyperswarm stops listening for errors once a connection opens: without this a peer that
    // vanishes (ETIMEDOUT, reset) would be an uncaught 'error'.
    conn.on('error', (err: Error) => {
      this.emit('warning', new HyperswarmError('ERR_CONNECTION', `connection to ${info.remote ?? 'peer'} failed`, { cause: err }))
    })
    conn.once('close', () => this.emit('disconnection', conn, info))
    try {
      context.onConnection(conn, info)
    } catch (err) {
      conn.destroy()
      this.emit('warning', new HyperswarmError('ERR_CONNECTION', 'onConnection threw; connection closed', { cause: err }))
      return
    }
    this.emit('connection', conn, info)
  }
}

/** Creates a {@link HyperswarmTransport}. */
export function hyperswarmTransport(options: HyperswarmTransportOptions = {}): HyperswarmTransport {
  return new HyperswarmTransport(options)
}
