// WebRTC transport: peers meet in a room on a signalling server (see signalling.ts), connect
// directly with simple-peer, and run a Noise secret stream over the data channel.
//
// This module is on the browser path: it must not import Node-only modules (ws, wrtc, node:*).
// Node callers pass `WebSocket` (from 'ws') and `wrtc` (e.g. '@roamhq/wrtc') as options.
import { EventEmitter } from 'events'
import SimplePeer from 'simple-peer'
import type { ConnectionInfo, SecretStream, Transport, TransportContext, WebSocketConstructor, WebSocketLike } from '@hypha/node-core/transport'
import {
  reconnectDelay,
  resolveReconnect,
  resolveSecretStreamOptions,
  secureRawStream,
  type RawStream,
  type ReconnectOptions,
  type SecretStreamOptions
} from '@hypha/node-core/transport'

import {
  DEFAULT_SIGNALLING_PATH,
  MAX_SIGNAL_MESSAGE_BYTES,
  SIGNAL_CLOSE,
  filterSignal,
  isLoopbackCandidate,
  isValidPeerId,
  isValidSignal,
  type Signal
} from './signalling-protocol.js'
// ---------------------------------------------------------------------------------------------
// Errors and options
// ---------------------------------------------------------------------------------------------

export type WebRtcErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_ALREADY_STARTED'
  | 'ERR_WEBRTC_UNSUPPORTED'
  | 'ERR_SIGNALLING_UNREACHABLE'
  | 'ERR_SIGNALLING_REJECTED'
  | 'ERR_BAD_SIGNAL'
  | 'ERR_UNKNOWN_PEER'
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_PEER_LEFT'
  | 'ERR_CONNECTION'

export class WebRtcError extends Error {
  override readonly name = 'WebRtcError'
  constructor(readonly code: WebRtcErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The subset of the WebSocket API the transport uses: the browser's and `ws`'s both fit. */
/** RTCPeerConnection & co. for simple-peer (in Node, see {@link nodeDatachannelWrtc}); the browser's by default. */
export interface WrtcImplementation {
  RTCPeerConnection: unknown
  RTCSessionDescription: unknown
  RTCIceCandidate: unknown
}

/** How often (every 10 ms) a candidate is retried while libdatachannel's ICE transport is not up yet. */

export interface WebRtcTransportOptions extends SecretStreamOptions {
  /** ws:// or wss:// URL of a signalling server, path included (e.g. `ws://host:port/hypha-signal`). */
  signallingUrl: string
  /** WebRTC implementation; default: the platform's (`globalThis.RTCPeerConnection`). */
  wrtc?: WrtcImplementation
  /** WebSocket constructor; default `globalThis.WebSocket`. In Node 20 pass `WebSocket` from 'ws'. */
  WebSocket?: WebSocketConstructor
  /**
   * STUN/TURN servers. Default none: host candidates only. (RTCIceServer's fields, spelt out so
   * that Node consumers type-check without the DOM lib.)
   */
  iceServers?: Array<{ urls: string | string[]; username?: string; credential?: string }>
  /** Extra RTCPeerConnection configuration (e.g. node-datachannel's `bindAddress`). */
  rtcConfig?: Record<string, unknown>
  /**
   * Which ICE candidates may be sent and accepted (applied both ways, to trickled candidates and
   * SDP lines). Default: all. Tests pass {@link isLoopbackCandidate}.
   */
  candidateFilter?: (candidate: string) => boolean
  /** A peer connection that has not connected by then is dropped. Default 30 s. */
  connectTimeoutMs?: number
  /** First delay before re-joining after the signalling socket drops; doubles up to 30 s. Default 1 s. */
  reconnectDelayMs?: number
}

/** What the node gets for a WebRTC connection: `remote` is the selected ICE pair's remote `address:port`. */
export interface WebRtcConnectionInfo extends ConnectionInfo {
  /** The remote's id in the signalling room. */
  peerId: string
  /** Local `address:port` of the selected ICE pair, if the WebRTC implementation reports it. */
  local?: string
}

export interface WebRtcTransportEvents {
  /** Joined the room (after start and after every signalling reconnection), with the ids already there. */
  joined: [peers: string[]]
  /** A connection was handed to the node. */
  connection: [stream: SecretStream, info: WebRtcConnectionInfo]
  /** A peer connection ended, or failed before connecting (`error` says why, if it was not a clean close). */
  'peer-close': [peerId: string, error: Error | null]
  /** The signalling socket closed; unless stopped, the transport re-joins after a back-off. */
  'signalling-close': [code: number, reason: string]
  /** A problem the transport recovered from (bad signal, refused message, stream error). Never fatal. */
  warning: [error: WebRtcError]
}

interface PeerEntry {
  id: string
  peer: SimplePeer.Instance
  initiator: boolean
  connected: boolean
  closed: Promise<void>
  timer: ReturnType<typeof setTimeout> | null
  error: Error | null
}

/** Signals for a peer we have no connection object for yet (docs/design.md: never lose the offer). */
const MAX_QUEUED_SIGNALS = 64

/**
 * Connects to every other member of the room. The newer joiner initiates, so each pair makes one
 * connection. A dropped connection is removed; a peer that re-joins is connected again.
 */
export class WebRtcTransport extends EventEmitter<WebRtcTransportEvents> implements Transport {
  readonly name = 'webrtc'
  private readonly options: Required<Omit<WebRtcTransportOptions, 'wrtc' | 'WebSocket' | keyof SecretStreamOptions>> &
    Pick<WebRtcTransportOptions, 'wrtc'>
  private readonly secureOptions: Required<SecretStreamOptions>
  /** The one back-off schedule of every transport (stream-transport.ts), from reconnectDelayMs. */
  private readonly backoff: Required<ReconnectOptions>
  private readonly WebSocketImpl: WebSocketConstructor | undefined
  private context: TransportContext | null = null
  private room = ''
  private selfId = ''
  private ws: WebSocketLike | null = null
  private readonly peers = new Map<string, PeerEntry>()
  private readonly queued = new Map<string, Signal[]>()
  /** Room members we know of (from 'peers' and offers; removed on 'left'): the ones worth re-dialling. */
  private readonly members = new Set<string>()
  private readonly redials = new Map<string, { attempt: number; timer: ReturnType<typeof setTimeout> | null }>()
  private stopped = true
  private joinedOnce = false
  private reconnectAttempt = 0
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private firstJoin: { resolve: () => void; reject: (err: Error) => void } | null = null

  constructor(options: WebRtcTransportOptions) {
    super()
    if (typeof options?.signallingUrl !== 'string' || !/^wss?:\/\//.test(options.signallingUrl)) {
      throw new WebRtcError('ERR_INVALID_ARGUMENT', 'signallingUrl must be a ws:// or wss:// URL')
    }
    this.options = {
      signallingUrl: options.signallingUrl,
      wrtc: options.wrtc,
      iceServers: options.iceServers ?? [],
      rtcConfig: options.rtcConfig ?? {},
      candidateFilter: options.candidateFilter ?? (() => true),
      connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
      reconnectDelayMs: options.reconnectDelayMs ?? 1_000
    }
    try {
      this.secureOptions = resolveSecretStreamOptions(options)
      this.backoff = resolveReconnect({ initialDelayMs: this.options.reconnectDelayMs, maxDelayMs: 30_000 }) as Required<ReconnectOptions>
    } catch (err) {
      throw new WebRtcError('ERR_INVALID_ARGUMENT', (err as Error).message, { cause: err })
    }
    this.WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  }

  /** This transport's id in the signalling room (new on every start). */
  get peerId(): string {
    return this.selfId
  }

  /** Ids of the peers with a connection object (connecting or connected). */
  get peerIds(): string[] {
    return [...this.peers.keys()]
  }

  /** Ids of the peers whose connection is up. */
  get connectedPeerIds(): string[] {
    return [...this.peers.values()].filter((p) => p.connected).map((p) => p.id)
  }

  /**
   * Joins the room of `context.topic`. Resolves once joined; rejects (and stays stopped) if
   * the first signalling connection fails. Later drops are retried with a back-off.
   */
  start(context: TransportContext): Promise<void> {
    if (!this.stopped) return Promise.reject(new WebRtcError('ERR_ALREADY_STARTED', 'the transport is already started'))
    if (!this.WebSocketImpl) {
      return Promise.reject(new WebRtcError('ERR_WEBRTC_UNSUPPORTED', 'no WebSocket: pass the WebSocket option'))
    }
    if (!this.options.wrtc && typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection !== 'function') {
      return Promise.reject(new WebRtcError('ERR_WEBRTC_UNSUPPORTED', 'no RTCPeerConnection: pass the wrtc option'))
    }
    this.context = context
    this.room = toHex(context.topic)
    this.selfId = randomId()
    this.stopped = false
    this.joinedOnce = false
    this.reconnectAttempt = 0
    const joined = new Promise<void>((resolve, reject) => (this.firstJoin = { resolve, reject }))
    this.connectSignalling()
    return joined
  }

  /** Leaves the room, closes every peer connection and waits for them to close. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    const ws = this.ws
    this.ws = null
    if (ws) closeQuietly(ws)
    this.queued.clear()
    this.members.clear()
    for (const redial of this.redials.values()) if (redial.timer) clearTimeout(redial.timer)
    this.redials.clear()
    const closing = [...this.peers.values()].map((entry) => {
      entry.peer.destroy()
      return entry.closed
    })
    this.firstJoin?.reject(new WebRtcError('ERR_SIGNALLING_UNREACHABLE', 'stopped before joining'))
    this.firstJoin = null
    await Promise.all(closing)
  }

  // --- signalling -----------------------------------------------------------------------------

  private connectSignalling(): void {
    let ws: WebSocketLike
    try {
      ws = new this.WebSocketImpl!(this.options.signallingUrl)
    } catch (err) {
      this.onSignallingClosed(null, 1006, String(err))
      return
    }
    this.ws = ws
    ws.onopen = () => this.send({ type: 'join', room: this.room, peer: this.selfId })
    ws.onmessage = (event) => {
      if (this.ws === ws) this.onSignallingMessage(event.data)
    }
    ws.onerror = () => {} // a close event always follows; handled there
    ws.onclose = (event) => this.onSignallingClosed(ws, event.code, event.reason)
  }

  private onSignallingClosed(ws: WebSocketLike | null, code: number, reason: string): void {
    if (ws !== null && this.ws !== ws) return // an old socket (after stop or a reconnect)
    this.ws = null
    if (this.stopped) return
    this.emit('signalling-close', code, reason)
    if (!this.joinedOnce) {
      // The first attempt failed: report it instead of retrying forever behind the caller's back.
      const rejected = code === SIGNAL_CLOSE.DUPLICATE_PEER || code === SIGNAL_CLOSE.ROOM_FULL || code === SIGNAL_CLOSE.BAD_MESSAGE
      const error = rejected
        ? new WebRtcError('ERR_SIGNALLING_REJECTED', `signalling server refused the join (${code} ${reason})`)
        : new WebRtcError('ERR_SIGNALLING_UNREACHABLE', `could not join at ${this.options.signallingUrl} (${code})`)
      this.firstJoin?.reject(error)
      this.firstJoin = null
      void this.stop()
      return
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (!this.stopped) this.connectSignalling()
    }, reconnectDelay(++this.reconnectAttempt, this.backoff))
  }

  private send(message: object): void {
    const ws = this.ws
    if (!ws || ws.readyState !== 1 /* OPEN */) return // signals lost here end in the connect timeout
    ws.send(JSON.stringify(message))
  }

  private warn(code: WebRtcErrorCode, message: string, cause?: unknown): void {
    this.emit('warning', new WebRtcError(code, message, cause === undefined ? undefined : { cause }))
  }

  private onSignallingMessage(data: unknown): void {
    if (typeof data !== 'string' || data.length > MAX_SIGNAL_MESSAGE_BYTES) {
      return this.warn('ERR_BAD_SIGNAL', 'signalling frame is not text or too large')
    }
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(data)
    } catch (err) {
      return this.warn('ERR_BAD_SIGNAL', 'signalling frame is not JSON', err)
    }
    if (typeof msg !== 'object' || msg === null) return this.warn('ERR_BAD_SIGNAL', 'signalling frame is not an object')

    switch (msg.type) {
      case 'peers': {
        const ids = msg.peers
        if (!Array.isArray(ids) || !ids.every(isValidPeerId)) return this.warn('ERR_BAD_SIGNAL', 'bad peers list')
        this.joinedOnce = true
        this.reconnectAttempt = 0
        // We are the newer joiner: we dial everyone already there (skipping peers we still have
        // from before a signalling reconnect).
        for (const id of ids) {
          if (id === this.selfId) continue
          this.members.add(id)
          if (!this.peers.has(id)) this.createPeer(id, true)
        }
        this.emit('joined', ids)
        this.firstJoin?.resolve()
        this.firstJoin = null
        return
      }
      case 'signal': {
        const { from, to, signal } = msg
        if (!isValidPeerId(from) || to !== this.selfId || !isValidSignal(signal)) {
          return this.warn('ERR_BAD_SIGNAL', 'malformed signal message')
        }
        return this.onSignal(from, signal)
      }
      case 'left': {
        if (!isValidPeerId(msg.peer)) return this.warn('ERR_BAD_SIGNAL', 'malformed left message')
        this.queued.delete(msg.peer)
        this.members.delete(msg.peer)
        this.cancelRedial(msg.peer)
        // Only a connection still being set up depends on signalling; an open one stays up.
        const entry = this.peers.get(msg.peer)
        if (entry && !entry.connected) entry.peer.destroy(new WebRtcError('ERR_PEER_LEFT', 'the peer left before connecting'))
        return
      }
      case 'error': {
        const peer = msg.peer
        if (msg.code === 'ERR_UNKNOWN_PEER' && isValidPeerId(peer)) {
          this.members.delete(peer)
          this.cancelRedial(peer)
          const entry = this.peers.get(peer)
          if (entry && !entry.connected) entry.peer.destroy(new WebRtcError('ERR_UNKNOWN_PEER', 'the peer is not in the room'))
        }
        return this.warn('ERR_UNKNOWN_PEER', `signalling server: ${String(msg.code)}`)
      }
      default:
        return this.warn('ERR_BAD_SIGNAL', 'unknown signalling message type')
    }
  }

  private onSignal(from: string, raw: Signal): void {
    const signal = filterSignal(raw, this.options.candidateFilter)
    if (signal === null) return
    let entry = this.peers.get(from)

    if (entry && signal.type === 'offer') {
      // Glare (both sides dialling, e.g. after a signalling reconnect): the larger id yields.
      if (entry.initiator && !entry.connected && this.selfId < from) return
      // Otherwise the remote started over (a re-dial after its side failed or dropped): replace ours.
      this.forgetPeer(entry)
      entry.peer.destroy()
      entry = undefined
    }

    if (!entry) {
      if (signal.type !== 'offer') {
        // Not ours yet: keep it until the offer creates the peer (bounded, dropped on 'left').
        const queue = this.queued.get(from) ?? []
        if (queue.length < MAX_QUEUED_SIGNALS) queue.push(signal)
        this.queued.set(from, queue)
        return
      }
      this.members.add(from)
      this.cancelRedial(from) // it dialled us: no need for our own attempt
      entry = this.createPeer(from, false)
    }

    this.deliver(entry, signal)
    const queue = this.queued.get(from)
    if (queue) {
      this.queued.delete(from)
      for (const queuedSignal of queue) this.deliver(entry, queuedSignal)
    }
  }

  private deliver(entry: PeerEntry, signal: Signal): void {
    try {
      entry.peer.signal(signal as SimplePeer.SignalData)
    } catch (err) {
      this.warn('ERR_BAD_SIGNAL', 'signal refused by the peer connection', err) // destroyed meanwhile
    }
  }

  // --- peers ----------------------------------------------------------------------------------

  private createPeer(id: string, initiator: boolean): PeerEntry {
    const peer = new SimplePeer({
      initiator,
      trickle: true,
      wrtc: this.options.wrtc as SimplePeer.Options['wrtc'],
      config: { iceServers: this.options.iceServers, ...this.options.rtcConfig } as RTCConfiguration
    })
    let onClosed!: () => void
    const entry: PeerEntry = {
      id,
      peer,
      initiator,
      connected: false,
      closed: new Promise<void>((resolve) => (onClosed = resolve)),
      timer: null,
      error: null
    }
    this.peers.set(id, entry)

    // Listeners go on synchronously, before anything async: the offer is emitted on a later tick.
    peer.on('signal', (data: SimplePeer.SignalData) => {
      if (!isValidSignal(data)) return // renegotiation/transceiver requests: no media here
      // SDPs go without candidate lines: every candidate is also trickled, and node-datachannel
      // can fail on candidates inside a remote description that arrives before its ICE transport.
      const signal = filterSignal(data, data.type === 'candidate' ? this.options.candidateFilter : () => false)
      if (signal) this.send({ type: 'signal', to: id, signal })
    })
    peer.on('error', (err: Error) => {
      entry.error = err // 'close' follows and reports it
    })
    peer.on('connect', () => this.onPeerConnect(entry))
    peer.on('close', () => {
      if (entry.timer) clearTimeout(entry.timer)
      const current = this.peers.get(id) === entry
      this.forgetPeer(entry)
      onClosed()
      this.emit('peer-close', id, entry.error)
      // The dialling side re-dials a peer that is still in the room (a failed attempt or a dropped
      // connection); the other side waits for that offer.
      if (current && entry.initiator) this.scheduleRedial(id)
    })
    entry.timer = setTimeout(() => {
      entry.timer = null
      if (!entry.connected) peer.destroy(new WebRtcError('ERR_CONNECT_TIMEOUT', `peer ${id} did not connect in time`))
    }, this.options.connectTimeoutMs)
    return entry
  }

  private scheduleRedial(id: string): void {
    if (this.stopped || !this.members.has(id) || this.peers.has(id)) return
    const redial = this.redials.get(id) ?? { attempt: 0, timer: null }
    if (redial.timer) return
    redial.timer = setTimeout(() => {
      redial.timer = null
      if (!this.stopped && this.members.has(id) && !this.peers.has(id)) this.createPeer(id, true)
    }, reconnectDelay(++redial.attempt, this.backoff))
    this.redials.set(id, redial)
  }

  private cancelRedial(id: string): void {
    const redial = this.redials.get(id)
    if (redial?.timer) clearTimeout(redial.timer)
    this.redials.delete(id)
  }

  private forgetPeer(entry: PeerEntry): void {
    if (this.peers.get(entry.id) === entry) this.peers.delete(entry.id)
  }

  private onPeerConnect(entry: PeerEntry): void {
    if (entry.timer) clearTimeout(entry.timer)
    entry.timer = null
    const redial = this.redials.get(entry.id)
    if (redial) redial.attempt = 0 // connected: the next drop starts the back-off afresh
    if (this.stopped || !this.context) {
      entry.peer.destroy()
      return
    }
    entry.connected = true
    const peer = entry.peer as SimplePeer.Instance & Partial<Record<'localAddress' | 'remoteAddress', string>> &
      Partial<Record<'localPort' | 'remotePort', number>>
    const info: WebRtcConnectionInfo = {
      transport: this.name,
      isInitiator: entry.initiator,
      remote: peer.remoteAddress ? `${peer.remoteAddress}:${peer.remotePort}` : entry.id,
      peerId: entry.id,
      ...(peer.localAddress ? { local: `${peer.localAddress}:${peer.localPort}` } : {})
    }
    // Noise runs over the data channel (it closes with the peer and destroys the peer when closed),
    // the way every transport secures its streams: handed to the node only after the handshake.
    const context = this.context
    secureRawStream(peer as unknown as RawStream, info, context, this.secureOptions, {
      current: () => !this.stopped && this.context === context,
      failed: (error) => this.warn('ERR_CONNECTION', `connection to ${entry.id} failed: ${error.message}`, error),
      handedOver: (stream) => this.emit('connection', stream, info),
      closedAfterHandOver: () => {}
    }).opened.catch(() => {}) // reported through `failed`
  }
}

/** Creates a {@link WebRtcTransport}. */
export function webRtcTransport(options: WebRtcTransportOptions): WebRtcTransport {
  return new WebRtcTransport(options)
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

function toHex(bytes: Uint8Array): string {
  let hex = ''
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0')
  return hex
}

function randomId(): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(16)))
}
