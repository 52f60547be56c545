// WebSocketStream: a WebSocket as a streamx duplex of binary messages, with back-pressure.
// Browser-safe: no Node built-ins.
import { Duplex } from 'streamx'
import b4a from 'b4a'
import { TransportError, checkNonNegative } from '@hypha/node-core/transport'
import type { WebSocketLike } from '@hypha/node-core/transport'

const CONNECTING = 0
const OPEN = 1

/** Back-pressure of a `WebSocketStream`: how much may be buffered before writes wait, and how often to poll. */
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
