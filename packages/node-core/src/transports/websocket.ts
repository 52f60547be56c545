// WebSocket transport. The client and `WebSocketStream` are browser-safe (no Node built-ins, no
// static `ws` import); the server loads `ws` lazily in start(), so a browser bundle that only uses
// the client never needs it (ws's "browser" entry is a stub that throws if called).
import { Duplex } from 'streamx'
import b4a from 'b4a'
import type { IncomingMessage, Server as HttpServer } from 'http'
import type { Duplex as NodeDuplex } from 'stream'
import type { WebSocketServer as WsServer, WebSocket as WsSocket } from 'ws'
import type { ConnectionInfo, TransportContext, WebSocketConstructor, WebSocketLike } from './types.js'
import {
  DialingTransport,
  SecretStreamTransport,
  TransportError,
  checkNonNegative,
  checkPort,
  type ReconnectOptions,
  type SecretStreamOptions
} from './stream-transport.js'

const CONNECTING = 0
const OPEN = 1

export interface WebSocketStreamOptions {
  /** Writes wait while the socket has more than this many bytes queued. Default 1 MiB. */
  highWaterMark?: number
  /** How often to re-check `bufferedAmount` while waiting (the browser has no drain event). Default 10 ms. */
  drainPollMs?: number
}

/**
 * A streamx Duplex over a WebSocket (browser or `ws`): each write is one binary message, each
 * binary message is one chunk. A WebSocket cannot half-close, so ending the writable side closes it.
 */
export class WebSocketStream extends Duplex {
  readonly socket: WebSocketLike
  private readonly highWaterMark: number
  private readonly drainPollMs: number
  private openCallback: ((err: Error | null) => void) | null = null
  private drainCallback: ((err: Error | null) => void) | null = null
  private drainTimer: ReturnType<typeof setTimeout> | null = null

  constructor(socket: WebSocketLike, options: WebSocketStreamOptions = {}) {
    super()
    this.socket = socket
    this.highWaterMark = checkNonNegative('highWaterMark', options.highWaterMark ?? 1024 * 1024)
    this.drainPollMs = checkNonNegative('drainPollMs', options.drainPollMs ?? 10, false)
    socket.binaryType = 'arraybuffer'
    socket.onopen = () => this.settleOpen(null)
    socket.onmessage = (event: { data: unknown }) => this.onMessage(event.data)
    socket.onerror = (event) => {
      // ws puts the socket error (ECONNREFUSED, …) on event.error; browsers give no detail.
      const cause = event?.error ?? event
      this.destroy(new TransportError('ERR_CONNECTION', `WebSocket error${cause?.message ? `: ${cause.message}` : ''}`, { cause }))
    }
    socket.onclose = (event) => {
      if (this.destroying) return
      if (this.openCallback) {
        this.destroy(new TransportError('ERR_CONNECTION', `WebSocket closed before opening (code ${event?.code})`))
      } else {
        this.push(null)
        this.destroy()
      }
    }
  }

  override _open(cb: (err: Error | null) => void): void {
    const state = this.socket.readyState
    if (state === OPEN) cb(null)
    else if (state === CONNECTING) this.openCallback = cb
    else cb(new TransportError('ERR_CONNECTION', 'the WebSocket is closed'))
  }

  override _read(cb: (err: Error | null) => void): void {
    this.socket.resume?.()
    cb(null)
  }

  override _write(data: unknown, cb: (err: Error | null) => void): void {
    if (this.socket.readyState !== OPEN) {
      cb(new TransportError('ERR_CONNECTION', 'the WebSocket is not open'))
      return
    }
    this.socket.send(data as Uint8Array)
    if (this.socket.bufferedAmount <= this.highWaterMark) cb(null)
    else {
      this.drainCallback = cb
      this.pollDrain()
    }
  }

  override _final(cb: (err: Error | null) => void): void {
    // Data sent before close() is still delivered before the close frame.
    this.socket.close(1000)
    cb(null)
  }

  override _predestroy(): void {
    this.settleOpen(new TransportError('ERR_CONNECTION', 'destroyed while connecting'))
    if (this.drainTimer) clearTimeout(this.drainTimer)
    this.drainTimer = null
    const drain = this.drainCallback
    this.drainCallback = null
    drain?.(new TransportError('ERR_CONNECTION', 'destroyed'))
  }

  override _destroy(cb: (err: Error | null) => void): void {
    const state = this.socket.readyState
    if (state === CONNECTING || state === OPEN) {
      // ws: terminate closes the TCP socket now instead of waiting up to 30 s for a close handshake.
      if (typeof this.socket.terminate === 'function') this.socket.terminate()
      else this.socket.close()
    }
    cb(null)
  }

  private settleOpen(err: Error | null): void {
    const cb = this.openCallback
    this.openCallback = null
    cb?.(err)
  }

  private onMessage(data: unknown): void {
    if (this.destroying) return
    if (!(data instanceof ArrayBuffer)) {
      this.destroy(new TransportError('ERR_PROTOCOL', 'expected a binary WebSocket message'))
      return
    }
    // b4a.from gives a Buffer view in Node (what the Holepunch stack expects) and a Uint8Array in browsers.
    if (!this.push(b4a.from(data))) this.socket.pause?.()
  }

  private pollDrain(): void {
    this.drainTimer = setTimeout(() => {
      this.drainTimer = null
      if (this.socket.bufferedAmount > this.highWaterMark && this.socket.readyState === OPEN) {
        this.pollDrain()
        return
      }
      const cb = this.drainCallback
      this.drainCallback = null
      cb?.(null)
    }, this.drainPollMs)
  }
}

export interface WebSocketServerOptions extends SecretStreamOptions {
  /** Attach to this existing http.Server (it keeps serving its other requests) instead of listening. */
  server?: HttpServer
  /** Only upgrades to this path (e.g. '/hypha') are taken; any path if unset. */
  path?: string
  /** Port when not attached to `server`; 0 (the default) picks one, readable from `.port`. */
  port?: number
  /** Address when not attached to `server`. Default '127.0.0.1'. */
  host?: string
  /** Largest WebSocket message accepted. Default 32 MiB (a secret-stream frame is at most 16 MiB). */
  maxPayload?: number
}

/**
 * Accepts WebSocket connections (Node only: uses `ws`) and runs the Noise responder on each.
 * Like the TCP server it checks nothing about who connects; access control is above the transport.
 */
export class WebSocketServerTransport extends SecretStreamTransport {
  readonly name = 'websocket'
  private readonly options: WebSocketServerOptions
  private wss: WsServer | null = null
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
    checkNonNegative('maxPayload', options.maxPayload ?? 0)
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
      const { WebSocketServer } = await import('ws')
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
      throw new TransportError('ERR_LISTEN', 'cannot start the WebSocket server', { cause })
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

export interface WebSocketClientOptions extends SecretStreamOptions, WebSocketStreamOptions {
  /** ws:// or wss:// URL of the server, including its path (e.g. 'ws://127.0.0.1:8080/hypha'). */
  url: string
  /**
   * The WebSocket class. Defaults to `globalThis.WebSocket` (browsers, Node ≥ 22). In Node 20 pass
   * `ws`'s: `import { WebSocket } from 'ws'`. Kept an option so this module never imports `ws`.
   */
  WebSocket?: WebSocketConstructor
  /** Re-dial schedule, or `false` to dial once. */
  reconnect?: ReconnectOptions | false
}

/** Dials a WebSocket server (browser or Node) and re-dials whenever the connection fails or is lost. */
export class WebSocketClientTransport extends DialingTransport {
  readonly name = 'websocket'
  readonly url: string
  private readonly WebSocketImpl: WebSocketConstructor
  private readonly streamOptions: WebSocketStreamOptions

  constructor(options: WebSocketClientOptions) {
    super(options)
    let url: URL
    try {
      url = new URL(options?.url)
    } catch (cause) {
      throw new TransportError('ERR_INVALID_ARGUMENT', `invalid url: ${options?.url}`, { cause })
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new TransportError('ERR_INVALID_ARGUMENT', 'url must be ws:// or wss://')
    }
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (typeof impl !== 'function') {
      throw new TransportError('ERR_NO_WEBSOCKET', "no WebSocket here: pass { WebSocket } (in Node 20, ws's WebSocket)")
    }
    this.url = url.href
    this.WebSocketImpl = impl
    this.streamOptions = {
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.drainPollMs !== undefined ? { drainPollMs: options.drainPollMs } : {})
    }
  }

  protected get remote(): string {
    return this.url
  }

  protected openRaw(): WebSocketStream {
    return new WebSocketStream(new this.WebSocketImpl(this.url), this.streamOptions)
  }
}

export function webSocketServer(options: WebSocketServerOptions = {}): WebSocketServerTransport {
  return new WebSocketServerTransport(options)
}

export function webSocketClient(options: WebSocketClientOptions): WebSocketClientTransport {
  return new WebSocketClientTransport(options)
}
