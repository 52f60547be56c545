// The re-dial schedule of every transport, and the bases of the TCP and WebSocket servers
// (SecretStreamTransport) and clients (DialingTransport). Browser-safe: no Node built-ins.
import { TransportBase, type TransportBaseEvents } from './base.js'
import { TransportError } from './errors.js'
import { checkNonNegative, type RawStream, type SecretStreamOptions } from './secure.js'
import type { ConnectionInfo, Transport, TransportContext } from './types.js'

export { TransportError, type TransportErrorCode } from './errors.js'
export { TransportBase, type TransportBaseEvents } from './base.js'
export {
  secureRawStream,
  resolveSecretStreamOptions,
  checkNonNegative,
  checkPort,
  type RawStream,
  type SecretStreamOptions,
  type SecureHooks,
  type SecuredConnection
} from './secure.js'

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

/** `ReconnectOptions` with the defaults filled in and checked (`false`: no re-dialling); a bad one throws `TransportError` `ERR_INVALID_ARGUMENT`. */
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

/**
 * The one back-off of every transport that re-dials (TCP and WebSocket clients, WebRTC peers and
 * signalling): {@link reconnectDelay} over a failure count that only a connection that stayed up
 * `stableAfterMs` resets.
 */
export class ReconnectSchedule {
  private failures = 0
  private openedAt: number | null = null

  constructor(readonly options: Required<ReconnectOptions>) {}

  /** The connection is up: if it stays up `stableAfterMs`, the failure count resets when it ends. */
  connected(): void {
    this.openedAt = Date.now()
  }

  /** The attempt failed or the connection ended: the delay before the next attempt. */
  next(): number {
    const stable = this.openedAt !== null && Date.now() - this.openedAt >= this.options.stableAfterMs
    this.openedAt = null
    this.failures = stable ? 0 : this.failures + 1
    return reconnectDelay(Math.max(1, this.failures), this.options)
  }
}

/** Events of the TCP and WebSocket transports: every transport's, and these. */
export interface TransportEvents extends TransportBaseEvents {
  /** A server is listening. */
  listening: [address: { host: string; port: number }]
  /** A client starts a connection attempt (1, 2, …; counts every attempt since start). */
  dial: [attempt: number]
}

/** Base of the TCP and WebSocket servers and clients: {@link TransportBase} with their events. */
export abstract class SecretStreamTransport extends TransportBase<TransportEvents> implements Transport {}

/**
 * Base of the clients: dials, hands the connection over, and when it fails or is lost re-dials
 * after a capped exponential backoff, until `stop()`.
 */
export abstract class DialingTransport extends SecretStreamTransport {
  private readonly reconnect: ReconnectSchedule | null
  private running = false
  private loop: Promise<void> | null = null
  private sleeping: { timer: ReturnType<typeof setTimeout>; wake: () => void } | null = null
  private attempts = 0

  constructor(options: SecretStreamOptions & { reconnect?: ReconnectOptions | false }) {
    super(options)
    const reconnect = resolveReconnect(options.reconnect)
    this.reconnect = reconnect === false ? null : new ReconnectSchedule(reconnect)
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
    while (this.running) {
      const info: ConnectionInfo = { transport: this.name, isInitiator: true, remote: this.remote }
      this.emit('dial', ++this.attempts)
      try {
        const connection = this.secure(this.openRaw(), info)
        await connection.opened
        this.reconnect?.connected()
        await connection.closed
      } catch (err) {
        // secure() reports its own failures; a throwing openRaw() is reported here.
        if (!(err instanceof TransportError)) {
          this.reportError(new TransportError('ERR_CONNECTION', 'could not dial', { cause: err }), info)
        }
      }
      if (!this.running || this.reconnect === null) break
      await this.sleep(this.reconnect.next())
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
