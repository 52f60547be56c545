// Shared by the TCP and WebSocket transports: Noise over a raw duplex, connection bookkeeping,
// and the client re-dial loop with capped exponential backoff. Browser-safe: no Node built-ins.
import { EventEmitter } from 'events'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import type { ConnectionInfo, SecretStream, Transport, TransportContext } from './types.js'

export type TransportErrorCode =
  /** A factory or option was given a bad value. */
  | 'ERR_INVALID_ARGUMENT'
  /** `start()` on a transport that is already started. */
  | 'ERR_ALREADY_STARTED'
  /** The server could not listen (the cause says why, e.g. EADDRINUSE). */
  | 'ERR_LISTEN'
  /** The peer did not complete the Noise handshake in time. */
  | 'ERR_HANDSHAKE_TIMEOUT'
  /** The peer sent something that is not a Noise handshake. */
  | 'ERR_HANDSHAKE_FAILED'
  /** The connection could not be made or was lost (the cause holds the socket error, e.g. ECONNREFUSED). */
  | 'ERR_CONNECTION'
  /** The peer broke the framing the transport expects (e.g. a WebSocket text frame). */
  | 'ERR_PROTOCOL'
  /** `context.onConnection` threw: the connection was closed (the cause is what it threw). */
  | 'ERR_HANDLER'
  /** No WebSocket implementation: pass one (`ws`'s WebSocket in Node 20). */
  | 'ERR_NO_WEBSOCKET'

export class TransportError extends Error {
  readonly code: TransportErrorCode

  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TransportError'
    this.code = code
  }
}

/**
 * Client re-dial schedule: delay = min(maxDelayMs, initialDelayMs × factor^(failures-1)), less up
 * to `jitter` of it. A failure is a dial that did not connect, or a connection that closed within
 * `stableAfterMs` of opening; only a connection that stayed up longer resets the count (a server
 * that accepts and drops at once would otherwise be re-dialled at `initialDelayMs` forever).
 */
export interface ReconnectOptions {
  /** Delay before the first re-dial. Default 250 ms. */
  initialDelayMs?: number
  /** Cap on the delay. Default 30 s. */
  maxDelayMs?: number
  /** Growth per consecutive failure. Default 2. */
  factor?: number
  /** Fraction (0–1) of each delay taken off at random, so clients don't re-dial a restarted server in lockstep. Default 0.2. */
  jitter?: number
  /** A connection that stayed up this long resets the failure count. Default 10 s. */
  stableAfterMs?: number
}

export const DEFAULT_RECONNECT: Readonly<Required<ReconnectOptions>> = {
  initialDelayMs: 250,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.2,
  stableAfterMs: 10_000
}

/** Options every TCP/WebSocket transport takes. */
export interface SecretStreamOptions {
  /** Drop a connection whose Noise handshake has not completed in this time. Default 10 s. */
  handshakeTimeoutMs?: number
  /** Send an encrypted keep-alive after this much silence (0 turns it off). Default 5 s. */
  keepAliveMs?: number
  /** Drop a connection that received nothing for this long (0 turns it off); keep it above the peer's keepAliveMs. Default 20 s. */
  idleTimeoutMs?: number
}

export interface TransportEvents {
  /** A server is listening. */
  listening: [address: { host: string; port: number }]
  /** A client starts a connection attempt (1, 2, …; counts every attempt since start). */
  dial: [attempt: number]
  /** An encrypted connection is up and was handed to `context.onConnection`. */
  connection: [stream: SecretStream, info: ConnectionInfo]
  /** A connection that was handed over has closed. */
  disconnect: [info: ConnectionInfo]
  /** A connection attempt failed or an incoming connection was dropped before hand-over; never fatal. */
  'connection-error': [error: TransportError, info: ConnectionInfo]
}

/** What the transports run Noise over: a net.Socket, a `WebSocketStream`, or any duplex with these. */
export interface RawStream {
  on(event: string, listener: (...args: any[]) => void): unknown
  removeListener(event: string, listener: (...args: any[]) => void): unknown
  destroy(error?: Error): unknown
}

// A Noise XX handshake message is under 100 bytes, but secret-stream would wait for (and allocate)
// whatever its 24-bit length prefix declares, up to 16 MiB: refuse absurd first frames at once.
const MAX_HANDSHAKE_FRAME = 4096

export function checkNonNegative(name: string, value: unknown, allowZero = true): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TransportError('ERR_INVALID_ARGUMENT', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`)
  }
  return value
}

export function checkPort(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new TransportError('ERR_INVALID_ARGUMENT', `${name} must be an integer from 0 to 65535`)
  }
  return value
}

export function resolveReconnect(options: ReconnectOptions | false | undefined): Required<ReconnectOptions> | false {
  if (options === false) return false
  const merged = { ...DEFAULT_RECONNECT, ...options }
  checkNonNegative('reconnect.initialDelayMs', merged.initialDelayMs)
  checkNonNegative('reconnect.maxDelayMs', merged.maxDelayMs)
  if (checkNonNegative('reconnect.factor', merged.factor) < 1) {
    throw new TransportError('ERR_INVALID_ARGUMENT', 'reconnect.factor must be at least 1')
  }
  checkNonNegative('reconnect.stableAfterMs', merged.stableAfterMs)
  if (checkNonNegative('reconnect.jitter', merged.jitter) > 1) {
    throw new TransportError('ERR_INVALID_ARGUMENT', 'reconnect.jitter must be from 0 to 1')
  }
  return merged
}

/** Delay before re-dial number `failures` (1 for the first re-dial). */
export function reconnectDelay(failures: number, options: Required<ReconnectOptions>, random: () => number = Math.random): number {
  const exponent = Math.max(0, failures - 1)
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** exponent)
  return Math.round(base * (1 - options.jitter * random()))
}

interface Tracked {
  stream: SecretStream
  closed: Promise<void>
}

/** One secured connection: `opened` resolves once it is handed over, rejects (TransportError) if it never was. */
export interface SecuredConnection {
  stream: SecretStream
  opened: Promise<void>
  closed: Promise<void>
}

/**
 * Base of the TCP and WebSocket transports: secures raw duplexes with Noise, hands them to the node
 * after the handshake (so the node never sees garbage connections), and closes them on stop.
 */
export abstract class SecretStreamTransport extends EventEmitter<TransportEvents> implements Transport {
  abstract readonly name: string
  protected context: TransportContext | null = null
  private readonly tracked = new Set<Tracked>()
  private readonly secureOptions: Required<SecretStreamOptions>

  constructor(options: SecretStreamOptions = {}) {
    super()
    this.secureOptions = resolveSecretStreamOptions(options)
  }

  abstract start(context: TransportContext): Promise<void>
  abstract stop(): Promise<void>

  /** Connections currently open or handshaking. */
  get connectionCount(): number {
    return this.tracked.size
  }

  protected checkContext(context: TransportContext): void {
    if (this.context !== null) throw new TransportError('ERR_ALREADY_STARTED', `the ${this.name} transport is already started`)
    if (!context || typeof context.onConnection !== 'function' || !context.keyPair) {
      throw new TransportError('ERR_INVALID_ARGUMENT', 'start() needs a TransportContext')
    }
  }

  /** Runs Noise over `raw` and hands the stream over once the handshake is done. */
  protected secure(raw: RawStream, info: ConnectionInfo): SecuredConnection {
    const context = this.context!
    const connection = secureRawStream(raw, info, context, this.secureOptions, {
      current: () => this.context === context,
      failed: (error) => this.emit('connection-error', error, info),
      handedOver: (stream) => this.emit('connection', stream, info),
      closedAfterHandOver: () => this.emit('disconnect', info)
    })
    const entry: Tracked = { stream: connection.stream, closed: connection.closed }
    this.tracked.add(entry)
    void connection.closed.then(() => this.tracked.delete(entry))
    return connection
  }

  /** Destroys every connection and waits until they have closed. */
  protected async closeConnections(): Promise<void> {
    const all = [...this.tracked]
    for (const { stream } of all) stream.destroy()
    await Promise.all(all.map((t) => t.closed))
  }
}

/** Checks and fills in {@link SecretStreamOptions}. Throws `ERR_INVALID_ARGUMENT`. */
export function resolveSecretStreamOptions(options: SecretStreamOptions = {}): Required<SecretStreamOptions> {
  return {
    handshakeTimeoutMs: checkNonNegative('handshakeTimeoutMs', options.handshakeTimeoutMs ?? 10_000, false),
    keepAliveMs: checkNonNegative('keepAliveMs', options.keepAliveMs ?? 5_000),
    idleTimeoutMs: checkNonNegative('idleTimeoutMs', options.idleTimeoutMs ?? 20_000)
  }
}

/** What a transport learns about one connection it secures. */
export interface SecureHooks {
  /** Still wanted? (false once the transport stopped): a stream that finishes its handshake after that is dropped. */
  current(): boolean
  failed(error: TransportError): void
  handedOver(stream: SecretStream): void
  closedAfterHandOver(): void
}

/**
 * Every transport's way to secure a raw duplex (a socket, a WebSocket stream, a WebRTC data
 * channel): Noise over it, a handshake timeout, a guard on the first frame, keep-alive and idle
 * timeout, and `context.onConnection` only once the handshake is done (so the node never sees a
 * connection that is not authenticated).
 */
export function secureRawStream(
  raw: RawStream,
  info: ConnectionInfo,
  context: TransportContext,
  options: Required<SecretStreamOptions>,
  hooks: SecureHooks
): SecuredConnection {
  const stream = new NoiseSecretStream(info.isInitiator, raw, { keyPair: context.keyPair }) as SecretStream
  let failure: unknown = null
  // Also keeps a socket error from becoming an unhandled 'error' event; the node may add its own.
  stream.on('error', (err: unknown) => {
    failure ??= err
  })
  const closed = new Promise<void>((resolve) => stream.once('close', resolve))
  guardFirstFrame(raw, stream)
  const timer = setTimeout(() => {
    stream.destroy(new TransportError('ERR_HANDSHAKE_TIMEOUT', `no Noise handshake within ${options.handshakeTimeoutMs} ms`))
  }, options.handshakeTimeoutMs)

  let handedOver = false
  void closed.then(() => {
    if (handedOver) hooks.closedAfterHandOver()
  })

  const opened = (async () => {
    const ok: boolean = await stream.opened
    clearTimeout(timer)
    if (!ok || stream.destroying || !hooks.current()) {
      stream.destroy()
      await closed // 'error' (if any) is emitted before 'close'
      const error = toTransportError(failure)
      hooks.failed(error)
      throw error
    }
    if (options.keepAliveMs > 0) stream.setKeepAlive(options.keepAliveMs)
    if (options.idleTimeoutMs > 0) stream.setTimeout(options.idleTimeoutMs)
    handedOver = true
    hooks.handedOver(stream)
    try {
      context.onConnection(stream, info)
    } catch (cause) {
      // The node's bug, not the peer's: close this connection and say so, but keep serving.
      const error = new TransportError('ERR_HANDLER', 'context.onConnection threw', { cause })
      stream.destroy()
      hooks.failed(error)
      throw error
    }
  })()
  return { stream, opened, closed }
}

function toTransportError(failure: unknown): TransportError {
  if (failure instanceof TransportError) return failure
  if (failure === null) return new TransportError('ERR_CONNECTION', 'the connection closed before the Noise handshake')
  const message = (failure as Error)?.message ?? String(failure)
  if (/handshake|header/i.test(message)) {
    return new TransportError('ERR_HANDSHAKE_FAILED', `Noise handshake failed: ${message}`, { cause: failure })
  }
  return new TransportError('ERR_CONNECTION', `connection failed: ${message}`, { cause: failure })
}

/** Watches the first 3 bytes (the first frame's length) and drops the connection if they are absurd. */
function guardFirstFrame(raw: RawStream, stream: SecretStream): void {
  let length = 0
  let seen = 0
  // Added after secret-stream's own constructor ran; data only arrives from later I/O events, so
  // this listener never makes the raw stream flow before secret-stream listens.
  const ondata = (chunk: Uint8Array) => {
    for (let i = 0; i < chunk.byteLength && seen < 3; i++) length += chunk[i]! * 256 ** seen++
    if (seen < 3) return
    raw.removeListener('data', ondata)
    if (length === 0 || length > MAX_HANDSHAKE_FRAME) {
      stream.destroy(new TransportError('ERR_HANDSHAKE_FAILED', `first frame declares ${length} bytes: not a Noise handshake`))
    }
  }
  raw.on('data', ondata)
}

/**
 * Base of the clients: dials, hands the connection over, and when it fails or is lost re-dials
 * after a capped exponential backoff, until `stop()`.
 */
export abstract class DialingTransport extends SecretStreamTransport {
  private readonly reconnect: Required<ReconnectOptions> | false
  private running = false
  private loop: Promise<void> | null = null
  private sleeping: { timer: ReturnType<typeof setTimeout>; wake: () => void } | null = null
  private attempts = 0

  constructor(options: SecretStreamOptions & { reconnect?: ReconnectOptions | false }) {
    super(options)
    this.reconnect = resolveReconnect(options.reconnect)
  }

  /** Opens the raw duplex to the server (writes before it is connected must be buffered). */
  protected abstract openRaw(): RawStream
  /** Remote address for ConnectionInfo. */
  protected abstract get remote(): string

  /** Starts dialling in the background and resolves at once; watch 'connection' or `context.onConnection`. */
  async start(context: TransportContext): Promise<void> {
    this.checkContext(context)
    this.context = context
    this.running = true
    this.loop = this.run()
  }

  /** Stops dialling and closes the connection; after it resolves no further attempt is made. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer)
      this.sleeping.wake()
    }
    await this.closeConnections()
    await this.loop
    this.loop = null
    this.context = null
  }

  private async run(): Promise<void> {
    let failures = 0
    while (this.running) {
      const info: ConnectionInfo = { transport: this.name, isInitiator: true, remote: this.remote }
      this.emit('dial', ++this.attempts)
      try {
        const connection = this.secure(this.openRaw(), info)
        await connection.opened
        const openedAt = Date.now()
        await connection.closed
        // Only a connection that stayed up a while proves the server well; one dropped at once is a failure.
        const stableAfterMs = this.reconnect === false ? 0 : this.reconnect.stableAfterMs
        failures = Date.now() - openedAt >= stableAfterMs ? 0 : failures + 1
      } catch (err) {
        failures++
        // secure() reports its own failures; a throwing openRaw() is reported here.
        if (!(err instanceof TransportError)) {
          this.emit('connection-error', new TransportError('ERR_CONNECTION', 'could not dial', { cause: err }), info)
        }
      }
      if (!this.running || this.reconnect === false) break
      await this.sleep(reconnectDelay(Math.max(1, failures), this.reconnect))
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.sleeping = null
        resolve()
      }
      this.sleeping = { timer: setTimeout(wake, ms), wake }
    })
  }
}
