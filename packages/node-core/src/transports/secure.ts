// Noise over a raw duplex, the way every Hypha transport secures its connections: a handshake
// timeout, a guard on the first frame, keep-alive and idle timeout, hand-over only after the
// handshake. Browser-safe: no Node built-ins.
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { TransportError } from './errors.js'
import type { ConnectionInfo, SecretStream, TransportContext } from './types.js'

/** Options of every transport that runs Noise itself (TCP, WebSocket, WebRTC). */
export interface SecretStreamOptions {
  /** Drop a connection whose Noise handshake has not completed in this time. Default 10 s. */
  handshakeTimeoutMs?: number
  /** Send an encrypted keep-alive after this much silence (0 turns it off). Default 5 s. */
  keepAliveMs?: number
  /** Drop a connection that received nothing for this long (0 turns it off); keep it above the peer's keepAliveMs. Default 20 s. */
  idleTimeoutMs?: number
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

/** For transport authors: `value` if it is a finite number ≥ 0 (> 0 without `allowZero`), else `TransportError` `ERR_INVALID_ARGUMENT` naming it. */
export function checkNonNegative(name: string, value: unknown, allowZero = true): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TransportError('ERR_INVALID_ARGUMENT', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`)
  }
  return value
}

/** For transport authors: `value` if it is an integer port from 0 to 65535, else `TransportError` `ERR_INVALID_ARGUMENT` naming it. */
export function checkPort(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new TransportError('ERR_INVALID_ARGUMENT', `${name} must be an integer from 0 to 65535`)
  }
  return value
}

/** One secured connection: `opened` resolves once it is handed over, rejects (TransportError) if it never was. */
export interface SecuredConnection {
  stream: SecretStream
  opened: Promise<void>
  closed: Promise<void>
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
  /** A handed-over connection closed; `error` says why if it was lost rather than closed (ERR_CONNECTION). */
  closedAfterHandOver(error: TransportError | null): void
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
  let lost: unknown = null
  let handedOver = false
  // Also keeps a socket error from becoming an unhandled 'error' event; the node may add its own.
  stream.on('error', (err: unknown) => {
    if (handedOver) lost ??= err
    else failure ??= err
  })
  const closed = new Promise<void>((resolve) => stream.once('close', resolve))
  guardFirstFrame(raw, stream)
  const timer = setTimeout(() => {
    stream.destroy(new TransportError('ERR_HANDSHAKE_TIMEOUT', `no Noise handshake within ${options.handshakeTimeoutMs} ms`))
  }, options.handshakeTimeoutMs)

  void closed.then(() => {
    if (handedOver) hooks.closedAfterHandOver(lost === null ? null : lostError(lost))
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

/** Why a connection that was up ended (a reset, the idle timeout, …). */
export function lostError(cause: unknown): TransportError {
  if (cause instanceof TransportError) return cause
  return new TransportError('ERR_CONNECTION', `connection lost: ${(cause as Error)?.message ?? String(cause)}`, { cause })
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

