// The WebSocket server transport, Node only: `ws`'s WebSocketServer, standalone or on an existing
// http.Server. (The browser-safe client is the package's main entry.)
import type { IncomingMessage, Server as HttpServer } from 'http'
import type { Duplex as NodeDuplex } from 'stream'
import { WebSocketServer, type WebSocket as WsSocket } from 'ws'
import type { ConnectionInfo, TransportContext, WebSocketLike } from '@hypha/node-core/transport'
import { SecretStreamTransport, TransportError, checkNonNegative, checkPort, type SecretStreamOptions } from '@hypha/node-core/transport'
import { WebSocketStream } from './stream.js'

/** Options of `webSocketServer`: its own port and host, or an existing HTTP server and path; the largest message; Noise timers. */
export interface WebSocketServerOptions extends SecretStreamOptions {
  /** Attach to this existing http.Server (it keeps serving its other requests) instead of listening. */
  server?: HttpServer
  /** Only upgrades to this path (e.g. '/hypha') are taken; any path if unset. */
  path?: string
  /** Port when not attached to `server`; 0 (the default) picks one, readable from `.port`. */
  port?: number
  /** Address when not attached to `server`. Default '127.0.0.1'. */
  host?: string
  /**
   * Largest WebSocket message accepted: at least {@link MIN_MAX_PAYLOAD} (each message is one
   * secret-stream frame, up to 16 MiB: a smaller limit drops every connection that carries a large
   * value). Default 32 MiB.
   */
  maxPayload?: number
}

/** The smallest `maxPayload`: the largest secret-stream frame (a 3-byte length and up to 2^24 - 1 bytes). */
export const MIN_MAX_PAYLOAD = 3 + 0xffffff

/**
 * Accepts WebSocket connections (Node only: uses `ws`) and runs the Noise responder on each.
 * Like the TCP server it checks nothing about who connects; access control is above the transport.
 */
export class WebSocketServerTransport extends SecretStreamTransport {
  readonly name = 'websocket'
  private readonly options: WebSocketServerOptions
  private wss: WebSocketServer | null = null
  private onUpgrade: ((req: IncomingMessage, socket: NodeDuplex, head: Buffer) => void) | null = null

  constructor(options: WebSocketServerOptions = {}) {
    super(options)
    if (options.server && options.port !== undefined) {
      throw new TransportError('ERR_INVALID_ARGUMENT', 'give either server or port, not both')
    }
    if (options.path !== undefined && (typeof options.path !== 'string' || !options.path.startsWith('/'))) {
      throw new TransportError('ERR_INVALID_ARGUMENT', "path must start with '/'")
    }
    checkPort('port', options.port ?? 0)
    const maxPayload = checkNonNegative('maxPayload', options.maxPayload ?? 0)
    if (maxPayload !== 0 && maxPayload < MIN_MAX_PAYLOAD) {
      throw new TransportError('ERR_INVALID_ARGUMENT', `maxPayload must be at least ${MIN_MAX_PAYLOAD} (a secret-stream frame)`)
    }
    this.options = options
  }

  /** The bound port while started (the http.Server's when attached), else null. */
  get port(): number | null {
    return this.address()?.port ?? null
  }

  address(): { host: string; port: number } | null {
    if (!this.wss) return null
    const address = this.options.server ? this.options.server.address() : this.wss.address()
    if (!address || typeof address === 'string') return null
    return { host: address.address, port: address.port }
  }

  async start(context: TransportContext): Promise<void> {
    this.checkContext(context)
    this.context = context
    try {
      const maxPayload = this.options.maxPayload || 32 * 1024 * 1024
      const server = this.options.server
      if (server) {
        const wss = new WebSocketServer({ noServer: true, maxPayload })
        this.onUpgrade = (req, socket, head) => {
          if (!this.wss) return
          if (!matchesPath(req, this.options.path)) {
            // Leave other paths to the server's other upgrade listeners (e.g. WebRTC signalling);
            // if there are none, refuse rather than leave the socket hanging.
            if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket)
            return
          }
          wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req))
        }
        server.on('upgrade', this.onUpgrade)
        this.wss = wss
      } else {
        const wss = new WebSocketServer({
          port: this.options.port ?? 0,
          host: this.options.host ?? '127.0.0.1',
          ...(this.options.path !== undefined ? { path: this.options.path } : {}),
          maxPayload
        })
        await new Promise<void>((resolve, reject) => {
          wss.once('error', reject)
          wss.once('listening', () => {
            wss.off('error', reject)
            resolve()
          })
        })
        wss.on('error', () => {}) // per-connection trouble must not crash the node
        wss.on('connection', (ws, req) => this.accept(ws, req))
        this.wss = wss
      }
    } catch (cause) {
      this.context = null
      const where = this.options.server ? `on the given HTTP server` : `on ${this.options.host ?? '127.0.0.1'}:${this.options.port ?? 0}`
      throw new TransportError('ERR_LISTEN', `cannot start the WebSocket server ${where}`, { cause })
    }
    const address = this.address()
    if (address) this.emit('listening', address)
  }

  async stop(): Promise<void> {
    const wss = this.wss
    if (!wss) return
    this.wss = null
    if (this.onUpgrade) this.options.server?.off('upgrade', this.onUpgrade)
    this.onUpgrade = null
    const closed = new Promise<void>((resolve) => wss.close(() => resolve()))
    await this.closeConnections()
    await closed
    this.context = null
  }

  private accept(ws: WsSocket, req: IncomingMessage): void {
    if (!this.context) {
      ws.terminate()
      return
    }
    const info: ConnectionInfo = {
      transport: this.name,
      isInitiator: false,
      remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`
    }
    this.secure(new WebSocketStream(ws as unknown as WebSocketLike), info).opened.catch(() => {})
  }
}

function matchesPath(req: IncomingMessage, path: string | undefined): boolean {
  if (path === undefined) return true
  return new URL(req.url ?? '/', 'http://localhost').pathname === path
}

function refuseUpgrade(socket: NodeDuplex): void {
  socket.on('error', () => {})
  socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
}

/** A WebSocket server transport (Node, on `ws`): accepts upgrades (on any path unless `path` is given) and runs Noise over each. */
export function webSocketServer(options: WebSocketServerOptions = {}): WebSocketServerTransport {
  return new WebSocketServerTransport(options)
}
