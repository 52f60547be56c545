// The base every Hypha transport extends (TCP, WebSocket, WebRTC, Hyperswarm): one set of event
// names, the start guard, connection tracking, and Noise over raw duplexes. Browser-safe.
import { TypedEmitter } from '@hypha/ephemeral-ext'
import { TransportError } from './errors.js'
import { lostError, resolveSecretStreamOptions, secureRawStream, type RawStream, type SecretStreamOptions, type SecuredConnection } from './secure.js'
import type { ConnectionInfo, SecretStream, TransportContext } from './types.js'

/** The events every transport emits, with the same meaning on each (the node listens to them). */
export interface TransportBaseEvents {
  /** An encrypted connection is up and was handed to `context.onConnection`. */
  connection: [stream: SecretStream, info: ConnectionInfo]
  /** A connection that was handed over has closed. */
  disconnect: [info: ConnectionInfo]
  /**
   * Something the transport recovers from: an attempt that failed, a connection dropped before
   * hand-over or lost after it, a bad frame from a signalling server. Never fatal; the node
   * re-emits it as 'transport-error'.
   */
  'connection-error': [error: TransportError, info: ConnectionInfo]
}

/**
 * Base of every transport. Subclasses implement `start` (calling {@link checkContext} and setting
 * `context`) and `stop` (calling {@link closeConnections} and clearing `context`), and hand each
 * connection over with {@link secure} (a raw duplex: Noise is run here) or {@link adopt} (a stream
 * that is already a Noise secret stream, as Hyperswarm's are). `Events` adds a transport's own events.
 *
 * Concrete transports declare `implements Transport`: with `Events` still generic here TypeScript
 * cannot relate this emitter's `on` to the interface's.
 */
export abstract class TransportBase<
  Events extends TransportBaseEvents & Record<keyof Events, any[]> = TransportBaseEvents
> extends TypedEmitter<Events> {
  abstract readonly name: string
  protected context: TransportContext | null = null
  private readonly tracked = new Map<SecretStream, Promise<void>>()
  private readonly secureOptions: Required<SecretStreamOptions>

  /** Throws `ERR_INVALID_ARGUMENT` for bad {@link SecretStreamOptions}. */
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

  /** The start guard: `ERR_ALREADY_STARTED` while started, `ERR_INVALID_ARGUMENT` for a bad context. */
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
      failed: (error) => this.reportError(error, info),
      handedOver: (stream) => this.base.emit('connection', stream, info),
      closedAfterHandOver: (error) => {
        if (error) this.reportError(error, info)
        this.base.emit('disconnect', info)
      }
    })
    this.track(connection.stream, connection.closed)
    return connection
  }

  /**
   * Hands over a stream that is already an open Noise secret stream (Hyperswarm's): tracked,
   * reported and closed on stop like the ones {@link secure} makes.
   */
  protected adopt(stream: SecretStream, info: ConnectionInfo): void {
    const context = this.context
    if (!context) {
      stream.destroy()
      return
    }
    let lost: unknown = null
    // Also keeps a reset from becoming an uncaught 'error' (Hyperswarm stops listening once open).
    stream.on('error', (err: unknown) => {
      lost ??= err
    })
    const closed = new Promise<void>((resolve) => stream.once('close', resolve))
    this.track(stream, closed)
    void closed.then(() => {
      if (lost !== null) this.reportError(lostError(lost), info)
      this.base.emit('disconnect', info)
    })
    this.base.emit('connection', stream, info)
    try {
      context.onConnection(stream, info)
    } catch (cause) {
      // The node's bug, not the peer's: close this connection and say so, but keep serving.
      stream.destroy()
      this.reportError(new TransportError('ERR_HANDLER', 'context.onConnection threw', { cause }), info)
    }
  }

  /** Reports something the transport recovered from (see 'connection-error'). */
  protected reportError(error: TransportError, info: ConnectionInfo): void {
    this.base.emit('connection-error', error, info)
  }

  /** Destroys every tracked connection and waits until they have closed. */
  protected async closeConnections(): Promise<void> {
    const all = [...this.tracked]
    for (const [stream] of all) stream.destroy()
    await Promise.all(all.map(([, closed]) => closed))
  }

  private track(stream: SecretStream, closed: Promise<void>): void {
    this.tracked.set(stream, closed)
    void closed.then(() => this.tracked.delete(stream))
  }

  // `Events` is generic here, so TypeScript cannot check emits against it: emit through the base map.
  private get base(): TypedEmitter<TransportBaseEvents> {
    return this as unknown as TypedEmitter<TransportBaseEvents>
  }
}
