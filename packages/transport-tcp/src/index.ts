// TCP transport (Node only): net sockets with a Noise secret stream on top.
import net from 'node:net'
import type { TransportContext } from '@hypha/node-core/transport'
import {
  DialingTransport,
  SecretStreamTransport,
  TransportError,
  checkPort,
  type ReconnectOptions,
  type SecretStreamOptions
} from '@hypha/node-core/transport'

/** Options of `tcpServer`: where to listen (loopback, a free port by default) and the Noise stream's timers. */
export interface TcpServerOptions extends SecretStreamOptions {
  /** Port to listen on; 0 (the default) picks a free one, readable from `.port` after start. */
  port?: number
  /** Address to bind. Default '127.0.0.1'; pass '0.0.0.0' or '::' to accept other machines. */
  host?: string
}

/** Options of `tcpClient`: the server's address, the re-dial schedule and the Noise stream's timers. */
export interface TcpClientOptions extends SecretStreamOptions {
  port: number
  /** Default '127.0.0.1'. */
  host?: string
  /** Re-dial schedule, or `false` to dial once. */
  reconnect?: ReconnectOptions | false
}

/**
 * Accepts TCP connections and runs the Noise responder on each. It checks nothing about who
 * connects: the database is addressed by public key and access control lives above the transport.
 */
export class TcpServerTransport extends SecretStreamTransport {
  readonly name = 'tcp'
  private readonly requestedPort: number
  private readonly host: string
  private server: net.Server | null = null

  constructor(options: TcpServerOptions = {}) {
    super(options)
    this.requestedPort = checkPort('port', options.port ?? 0)
    this.host = options.host ?? '127.0.0.1'
  }

  /** The bound port while listening, else null. */
  get port(): number | null {
    return this.address()?.port ?? null
  }

  /** The bound address while listening, else null. */
  address(): { host: string; port: number } | null {
    const address = this.server?.address()
    if (!address || typeof address === 'string') return null
    return { host: address.address, port: address.port }
  }

  async start(context: TransportContext): Promise<void> {
    this.checkContext(context)
    this.context = context
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(this.requestedPort, this.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (cause) {
      this.context = null
      throw new TransportError('ERR_LISTEN', `cannot listen on ${this.host}:${this.requestedPort}`, { cause })
    }
    // Accept errors (e.g. EMFILE) are per-connection trouble, not a reason to crash the node.
    server.on('error', () => {})
    this.server = server
    this.emit('listening', this.address()!)
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = null
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    await this.closeConnections()
    await closed
    this.context = null
  }

  private accept(socket: net.Socket): void {
    if (!this.context) {
      socket.destroy()
      return
    }
    const info = { transport: this.name, isInitiator: false, remote: `${socket.remoteAddress}:${socket.remotePort}` }
    // Failures are reported as 'connection-error'.
    this.secure(socket, info).opened.catch(() => {})
  }
}

/** Dials a TCP server and re-dials whenever the connection fails or is lost, until `stop()`. */
export class TcpClientTransport extends DialingTransport {
  readonly name = 'tcp'
  readonly host: string
  readonly port: number

  constructor(options: TcpClientOptions) {
    super(options)
    this.port = checkPort('port', options?.port)
    if (this.port === 0) throw new TransportError('ERR_INVALID_ARGUMENT', 'port must be from 1 to 65535')
    this.host = options.host ?? '127.0.0.1'
  }

  protected get remote(): string {
    return `${this.host}:${this.port}`
  }

  protected openRaw(): net.Socket {
    // net buffers writes until connected; ECONNREFUSED arrives as an 'error' secret-stream handles.
    return net.connect({ host: this.host, port: this.port, noDelay: true })
  }
}

/** A TCP server transport: listens once started, runs the Noise responder on each connection. Throws `TransportError` `ERR_INVALID_ARGUMENT` for a bad option. */
export function tcpServer(options: TcpServerOptions = {}): TcpServerTransport {
  return new TcpServerTransport(options)
}

/** A TCP client transport: dials `host:port` once started and re-dials on failure or loss until `stop()`. Throws `TransportError` `ERR_INVALID_ARGUMENT` for a bad option. */
export function tcpClient(options: TcpClientOptions): TcpClientTransport {
  return new TcpClientTransport(options)
}
