// Hyperswarm transport: joins the database's discovery key as a topic (announcing and looking up)
// and hands over every connection. Hyperswarm connections already are Noise secret streams, and the
// swarm re-dials lost topic peers itself (with back-off), so this transport only wires it up: it
// uses TransportBase's tracking and events (adopt), not its Noise (secure).
import Hyperswarm from 'hyperswarm'
import DHT from 'hyperdht'
import { TransportBase, TransportError, type TransportBaseEvents } from '@hypha/node-core/transport'
import type { ConnectionInfo, SecretStream, Transport, TransportContext } from '@hypha/node-core/transport'

/** A DHT bootstrap node: `{ host, port }` or `'host:port'`. */
export type BootstrapNode = string | { host: string; port: number }

/** Options of `hyperswarmTransport`: where its DHT starts and binds, or a DHT to take over, and the peer cap. */
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

/** Every transport's events (connection, disconnect, connection-error); Hyperswarm adds none. */
export type HyperswarmTransportEvents = TransportBaseEvents

/** Joins the account's topic on Hyperswarm (server and client) and hands every connection to the node. */
export class HyperswarmTransport extends TransportBase<HyperswarmTransportEvents> implements Transport {
  readonly name = 'hyperswarm'
  private readonly options: HyperswarmTransportOptions
  private swarm: Hyperswarm | null = null
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

  /**
   * Joins the topic as server and client; resolves once announced and the first lookup is done.
   * Rejects with `ERR_ALREADY_STARTED`, `ERR_INVALID_ARGUMENT`, `ERR_DHT_DESTROYED` or `ERR_DISCOVERY`.
   */
  async start(context: TransportContext): Promise<void> {
    this.checkContext(context)
    let dht = this.options.dht as DHT | undefined
    if (dht) {
      if (this.dhtUsed || dht.destroyed) throw new TransportError('ERR_DHT_DESTROYED', 'the given DHT was destroyed by an earlier stop()')
      this.dhtUsed = true
    } else {
      try {
        dht = new DHT({ bootstrap: this.options.bootstrap, host: this.options.host })
      } catch (cause) {
        throw new TransportError('ERR_INVALID_ARGUMENT', `cannot create the DHT: ${(cause as Error)?.message}`, { cause })
      }
    }
    // The node's Noise key pair is an ed25519 key pair, which is what Hyperswarm uses too: the
    // remote public key of every connection is then the remote node's key, on every transport.
    const swarm = new Hyperswarm({
      dht,
      keyPair: context.keyPair,
      ...(this.options.maxPeers !== undefined ? { maxPeers: this.options.maxPeers } : {})
    })
    this.context = context
    this.swarm = swarm
    swarm.on('connection', (conn: SecretStream) => this.onConnection(conn))
    try {
      await swarm.join(context.topic, { server: true, client: true }).flushed()
    } catch (cause) {
      this.swarm = null
      this.context = null
      await swarm.destroy().catch(() => {})
      throw new TransportError('ERR_DISCOVERY', 'could not join the topic on the DHT', { cause })
    }
  }

  /** Leaves the topic (unannounces), closes every connection and the DHT. */
  async stop(): Promise<void> {
    const swarm = this.swarm
    if (!swarm) return
    this.swarm = null
    const topic = this.context!.topic
    await swarm.leave(topic)
    await this.closeConnections()
    this.context = null
    await swarm.destroy()
  }

  private onConnection(conn: SecretStream): void {
    const raw = conn.rawStream as { remoteHost?: string; remotePort?: number } | undefined
    const info: ConnectionInfo = {
      transport: this.name,
      isInitiator: conn.isInitiator,
      remote: raw?.remoteHost ? `${raw.remoteHost}:${raw.remotePort}` : undefined
    }
    this.adopt(conn, info)
  }
}

/** Creates a {@link HyperswarmTransport}. */
export function hyperswarmTransport(options: HyperswarmTransportOptions = {}): HyperswarmTransport {
  return new HyperswarmTransport(options)
}
