// The WebRTC transport's signalling client: one WebSocket to the signalling server, the join, the
// re-join after a drop (on the one back-off of every transport), and a check of every frame the
// server sends before the transport sees it. Browser-safe: no Node built-ins.
import { TransportError, type ReconnectSchedule, type WebSocketConstructor, type WebSocketLike } from '@hypha/node-core/transport'
import {
  CHALLENGE_BYTES,
  MAX_SIGNAL_MESSAGE_BYTES,
  SIGNAL_CLOSE,
  isValidPeerId,
  isValidSignal,
  joinProof,
  parseHex,
  toHex,
  type Signal
} from './signalling-protocol.js'

/** What the signalling client tells the transport. */
export interface SignallingHandlers {
  /** Joined the room (first time and after every re-join), with the ids already there. */
  joined(peers: string[]): void
  /** A signal from another member (its shape checked; `from` stamped by the server). */
  signal(from: string, signal: Signal): void
  /** A member's signalling socket closed. */
  left(peer: string): void
  /** The server could not deliver a signal of ours: `peer` is not in the room. */
  unknownPeer(peer: string): void
  /** The socket closed; unless {@link SignallingClient.close} was called, a re-join follows. */
  closed(code: number, reason: string): void
  /** A frame broke the protocol, or the server reported an error (never fatal). */
  problem(error: TransportError): void
}

export interface SignallingClientOptions {
  url: string
  WebSocket: WebSocketConstructor
  /** Hex of the topic. */
  room: string
  /** Own id in the room. */
  peerId: string
  /** The account's member key: every join carries a proof of it. Null: joins without (open servers only). */
  memberKey: Uint8Array | null
  /** Re-join schedule; a join that was up `stableAfterMs` resets it. */
  schedule: ReconnectSchedule
}

export class SignallingClient {
  private ws: WebSocketLike | null = null
  /** The join went out on the current socket (it answers the server's first 'challenge' only). */
  private joinSent = false
  private closedByUs = false
  private joinedOnce = false
  private timer: ReturnType<typeof setTimeout> | null = null
  private firstJoin: { resolve: () => void; reject: (err: Error) => void } | null = null

  constructor(
    private readonly options: SignallingClientOptions,
    private readonly handlers: SignallingHandlers
  ) {}

  /**
   * Connects and joins. Resolves once joined; rejects with `ERR_SIGNALLING_UNREACHABLE` or
   * `ERR_SIGNALLING_REJECTED` if the first attempt fails (and then gives up: no retry behind the
   * caller's back). Later drops are re-joined on the schedule until {@link close}.
   */
  join(): Promise<void> {
    const joined = new Promise<void>((resolve, reject) => (this.firstJoin = { resolve, reject }))
    this.connect()
    return joined
  }

  /** Sends a signal to `to`; dropped if the socket is not open (the peer's connect timeout ends it). */
  send(to: string, signal: Signal): void {
    const ws = this.ws
    if (!ws || ws.readyState !== 1 /* OPEN */) return
    ws.send(JSON.stringify({ type: 'signal', to, signal }))
  }

  /** Leaves: closes the socket and stops re-joining. A pending first join rejects. */
  close(): void {
    this.closedByUs = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const ws = this.ws
    this.ws = null
    if (ws) closeQuietly(ws)
    this.firstJoin?.reject(new TransportError('ERR_SIGNALLING_UNREACHABLE', 'stopped before joining'))
    this.firstJoin = null
  }

  private connect(): void {
    let ws: WebSocketLike
    try {
      ws = new this.options.WebSocket(this.options.url)
    } catch (err) {
      this.onClosed(null, 1006, String(err))
      return
    }
    this.ws = ws
    this.joinSent = false
    ws.onopen = () => {} // the join answers the server's challenge
    ws.onmessage = (event) => {
      if (this.ws === ws) this.onMessage(event.data)
    }
    ws.onerror = () => {} // a close event always follows; handled there
    ws.onclose = (event) => this.onClosed(ws, event.code, event.reason)
  }

  private onClosed(ws: WebSocketLike | null, code: number, reason: string): void {
    if (ws !== null && this.ws !== ws) return // an old socket (after close or a re-join)
    this.ws = null
    if (this.closedByUs) return
    this.handlers.closed(code, reason)
    if (!this.joinedOnce) {
      const rejected = code === SIGNAL_CLOSE.DUPLICATE_PEER || code === SIGNAL_CLOSE.ROOM_FULL || code === SIGNAL_CLOSE.BAD_MESSAGE
      const error = code === SIGNAL_CLOSE.NOT_A_MEMBER
        ? new TransportError('ERR_NOT_A_MEMBER', `signalling server refused the join: no proof of membership it accepts (${reason})`)
        : rejected
        ? new TransportError('ERR_SIGNALLING_REJECTED', `signalling server refused the join (${code} ${reason})`)
        : new TransportError('ERR_SIGNALLING_UNREACHABLE', `could not join at ${this.options.url} (${code})`)
      this.closedByUs = true
      this.firstJoin?.reject(error)
      this.firstJoin = null
      return
    }
    this.timer = setTimeout(() => {
      this.timer = null
      if (!this.closedByUs) this.connect()
    }, this.options.schedule.next())
  }

  private problem(code: 'ERR_BAD_SIGNAL' | 'ERR_UNKNOWN_PEER', message: string, cause?: unknown): void {
    this.handlers.problem(new TransportError(code, message, cause === undefined ? undefined : { cause }))
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string' || data.length > MAX_SIGNAL_MESSAGE_BYTES) {
      return this.problem('ERR_BAD_SIGNAL', 'signalling frame is not text or too large')
    }
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(data)
    } catch (err) {
      return this.problem('ERR_BAD_SIGNAL', 'signalling frame is not JSON', err)
    }
    if (typeof msg !== 'object' || msg === null) return this.problem('ERR_BAD_SIGNAL', 'signalling frame is not an object')

    switch (msg.type) {
      case 'challenge': {
        const challenge = parseHex(msg.challenge, CHALLENGE_BYTES)
        if (challenge === null || this.joinSent) return this.problem('ERR_BAD_SIGNAL', 'bad or repeated challenge')
        this.joinSent = true
        const { room, peerId, memberKey } = this.options
        const join: Record<string, string> = { type: 'join', room, peer: peerId }
        if (memberKey) join.proof = toHex(joinProof(memberKey, challenge, room, peerId))
        this.ws?.send(JSON.stringify(join))
        return
      }
      case 'peers': {
        const ids = msg.peers
        if (!Array.isArray(ids) || !ids.every(isValidPeerId)) return this.problem('ERR_BAD_SIGNAL', 'bad peers list')
        this.joinedOnce = true
        this.options.schedule.connected()
        this.handlers.joined(ids.filter((id) => id !== this.options.peerId))
        this.firstJoin?.resolve()
        this.firstJoin = null
        return
      }
      case 'signal': {
        const { from, to, signal } = msg
        if (!isValidPeerId(from) || to !== this.options.peerId || !isValidSignal(signal)) {
          return this.problem('ERR_BAD_SIGNAL', 'malformed signal message')
        }
        return this.handlers.signal(from, signal)
      }
      case 'left':
        if (!isValidPeerId(msg.peer)) return this.problem('ERR_BAD_SIGNAL', 'malformed left message')
        return this.handlers.left(msg.peer)
      case 'error':
        if (msg.code === 'ERR_UNKNOWN_PEER' && isValidPeerId(msg.peer)) {
          this.handlers.unknownPeer(msg.peer)
          return this.problem('ERR_UNKNOWN_PEER', `signalling server: no peer ${msg.peer} in the room`)
        }
        return this.problem('ERR_BAD_SIGNAL', `signalling server error: ${String(msg.code)}`)
      default:
        return this.problem('ERR_BAD_SIGNAL', 'unknown signalling message type')
    }
  }
}

function closeQuietly(ws: WebSocketLike): void {
  ws.onopen = ws.onmessage = ws.onclose = null
  ws.onerror = () => {}
  try {
    ws.close(1000, 'stopped')
  } catch {
    // closing a socket that is still connecting can throw in some implementations
  }
}
