// WebRTC transport: peers meet in a room on a signalling server (the client is in
// signalling-client.ts), connect directly with simple-peer, and run Noise over the data channel
// with TransportBase.secure, like every transport. This file is the per-peer connection handling.
//
// This module is on the browser path: it must not import Node-only modules (ws, wrtc, node:*).
// Node callers pass `WebSocket` (from 'ws') and `wrtc` (e.g. nodeDatachannelWrtc) as options.
import SimplePeer from 'simple-peer'
import {
  ReconnectSchedule,
  TransportBase,
  TransportError,
  resolveReconnect,
  type RawStream,
  type ReconnectOptions,
  type SecretStreamOptions,
  type Transport,
  type TransportContext,
  type WebSocketConstructor
} from '@hypha/node-core/transport'
import { filterSignal, isValidSignal, toHex, type Signal } from './signalling-protocol.js'
import { SignallingClient } from './signalling-client.js'

export type { WrtcImplementation, WebRtcTransportOptions, WebRtcConnectionInfo, WebRtcTransportEvents } from './webrtc-options.js'
import type { WebRtcTransportOptions, WebRtcConnectionInfo, WebRtcTransportEvents } from './webrtc-options.js'

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
 * Data-channel messages sent when the channel does not say how large they may be
 * (`RTCPeerConnection.sctp.maxMessageSize` missing, or not yet known): 16 KiB, the size every
 * WebRTC implementation has always received, from before max-message-size was negotiated.
 */
export const DEFAULT_MESSAGE_BYTES = 16 * 1024
/**
 * Data-channel messages are never larger than this, whatever the channel allows (libdatachannel
 * and Chrome: 256 KiB, Firefox: 1 GiB, Infinity: no limit): 64 KiB, simple-peer's back-pressure
 * threshold, so the queue stays near it and one message never holds the channel long.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024

/**
 * Connects to every other member of the room. The newer joiner initiates, so each pair makes one
 * connection. A dropped connection is re-dialled by its initiator while the peer is in the room.
 */
export class WebRtcTransport extends TransportBase<WebRtcTransportEvents> implements Transport {
  readonly name = 'webrtc'
  private readonly options: Required<Omit<WebRtcTransportOptions, 'wrtc' | 'WebSocket' | 'reconnect' | 'memberKey' | keyof SecretStreamOptions>> &
    Pick<WebRtcTransportOptions, 'wrtc' | 'memberKey'>
  private readonly reconnect: Required<ReconnectOptions>
  private readonly WebSocketImpl: WebSocketConstructor | undefined
  private signalling: SignallingClient | null = null
  private selfId = ''
  private readonly peers = new Map<string, PeerEntry>()
  private readonly queued = new Map<string, Signal[]>()
  /** Room members we know of (from 'peers' and offers; removed on 'left'): the ones worth re-dialling. */
  private readonly members = new Set<string>()
  private readonly redials = new Map<string, { schedule: ReconnectSchedule; timer: ReturnType<typeof setTimeout> | null }>()

  /** Throws `ERR_INVALID_ARGUMENT` for a bad option. */
  constructor(options: WebRtcTransportOptions) {
    super(options)
    if (typeof options?.signallingUrl !== 'string' || !/^wss?:\/\//.test(options.signallingUrl)) {
      throw new TransportError('ERR_INVALID_ARGUMENT', 'signallingUrl must be a ws:// or wss:// URL')
    }
    if (options.memberKey !== undefined && !isMemberKey(options.memberKey)) {
      throw new TransportError('ERR_INVALID_ARGUMENT', 'memberKey must be a 32-byte Uint8Array')
    }
    this.options = {
      signallingUrl: options.signallingUrl,
      wrtc: options.wrtc,
      memberKey: options.memberKey,
      iceServers: options.iceServers ?? [],
      rtcConfig: options.rtcConfig ?? {},
      candidateFilter: options.candidateFilter ?? (() => true),
      connectTimeoutMs: options.connectTimeoutMs ?? 30_000
    }
    this.reconnect = resolveReconnect(options.reconnect) as Required<ReconnectOptions>
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
   * Joins the room of `context.topic`. Resolves once joined; rejects (and stays stopped) if the
   * first signalling connection fails (`ERR_SIGNALLING_UNREACHABLE`, `ERR_SIGNALLING_REJECTED`,
   * `ERR_NOT_A_MEMBER`: the server does not accept our proof of membership),
   * or with `ERR_ALREADY_STARTED`, `ERR_NO_WEBSOCKET`, `ERR_WEBRTC_UNSUPPORTED`. Later drops are re-joined.
   */
  async start(context: TransportContext): Promise<void> {
    this.checkContext(context)
    const memberKey = this.options.memberKey ?? context.memberKey ?? null
    if (memberKey !== null && !isMemberKey(memberKey)) {
      throw new TransportError('ERR_INVALID_ARGUMENT', 'context.memberKey must be a 32-byte Uint8Array')
    }
    if (!this.WebSocketImpl) throw new TransportError('ERR_NO_WEBSOCKET', 'no WebSocket: pass the WebSocket option')
    if (!this.options.wrtc && typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection !== 'function') {
      throw new TransportError('ERR_WEBRTC_UNSUPPORTED', 'no RTCPeerConnection: pass the wrtc option')
    }
    this.context = context
    this.selfId = randomId()
    const signalling = new SignallingClient(
      {
        url: this.options.signallingUrl,
        WebSocket: this.WebSocketImpl,
        room: toHex(context.topic),
        peerId: this.selfId,
        memberKey,
        schedule: new ReconnectSchedule(this.reconnect)
      },
      {
        joined: (ids) => this.onJoined(ids),
        signal: (from, signal) => this.onSignal(from, signal),
        left: (id) => this.onGone(id, new TransportError('ERR_PEER_LEFT', 'the peer left before connecting')),
        unknownPeer: (id) => this.onGone(id, new TransportError('ERR_UNKNOWN_PEER', 'the peer is not in the room')),
        closed: (code, reason) => this.emit('signalling-close', code, reason),
        problem: (error) => this.reportError(error, { transport: this.name, isInitiator: true, remote: this.options.signallingUrl })
      }
    )
    this.signalling = signalling
    try {
      await signalling.join()
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /** Leaves the room, closes every peer connection and waits for them to close. */
  async stop(): Promise<void> {
    if (this.context === null) return
    this.context = null
    this.signalling?.close()
    this.signalling = null
    this.queued.clear()
    this.members.clear()
    for (const redial of this.redials.values()) if (redial.timer) clearTimeout(redial.timer)
    this.redials.clear()
    const closing = [...this.peers.values()].map((entry) => {
      entry.peer.destroy()
      return entry.closed
    })
    await Promise.all([...closing, this.closeConnections()])
  }

  // --- what signalling tells us ---------------------------------------------------------------

  private onJoined(ids: string[]): void {
    // We are the newer joiner: we dial everyone already there (skipping peers we still have from
    // before a signalling reconnect).
    for (const id of ids) {
      this.members.add(id)
      if (!this.peers.has(id)) this.createPeer(id, true)
    }
    this.emit('joined', ids)
  }

  /** The peer left the room (or never was in it): forget it; a connection still being set up depends on signalling. */
  private onGone(id: string, reason: TransportError): void {
    this.queued.delete(id)
    this.members.delete(id)
    this.cancelRedial(id)
    const entry = this.peers.get(id)
    if (entry && !entry.connected) entry.peer.destroy(reason) // an open one stays up
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
    } catch (cause) {
      // The peer connection was destroyed meanwhile.
      this.reportError(new TransportError('ERR_BAD_SIGNAL', 'signal refused by the peer connection', { cause }), this.peerInfo(entry))
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
    splitWrites(peer)
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
      if (signal) this.signalling?.send(id, signal)
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
      const error = entry.error === null ? null : peerError(entry.error, id)
      // Once connected, secure() reports what happens to the stream over it.
      if (error && !entry.connected) this.reportError(error, this.peerInfo(entry))
      this.emit('peer-close', id, error)
      // The dialling side re-dials a peer that is still in the room (a failed attempt or a dropped
      // connection); the other side waits for that offer.
      if (current && entry.initiator) this.scheduleRedial(id)
    })
    entry.timer = setTimeout(() => {
      entry.timer = null
      if (!entry.connected) peer.destroy(new TransportError('ERR_CONNECT_TIMEOUT', `peer ${id} did not connect in time`))
    }, this.options.connectTimeoutMs)
    return entry
  }

  private scheduleRedial(id: string): void {
    if (this.context === null || !this.members.has(id) || this.peers.has(id)) return
    const redial = this.redialOf(id)
    if (redial.timer) return
    redial.timer = setTimeout(() => {
      redial.timer = null
      if (this.context !== null && this.members.has(id) && !this.peers.has(id)) this.createPeer(id, true)
    }, redial.schedule.next())
  }

  private redialOf(id: string): { schedule: ReconnectSchedule; timer: ReturnType<typeof setTimeout> | null } {
    let redial = this.redials.get(id)
    if (!redial) this.redials.set(id, (redial = { schedule: new ReconnectSchedule(this.reconnect), timer: null }))
    return redial
  }

  private cancelRedial(id: string): void {
    const redial = this.redials.get(id)
    if (redial?.timer) clearTimeout(redial.timer)
    this.redials.delete(id)
  }

  private forgetPeer(entry: PeerEntry): void {
    if (this.peers.get(entry.id) === entry) this.peers.delete(entry.id)
  }

  private peerInfo(entry: PeerEntry): WebRtcConnectionInfo {
    return { transport: this.name, isInitiator: entry.initiator, remote: entry.id, peerId: entry.id }
  }

  private onPeerConnect(entry: PeerEntry): void {
    if (entry.timer) clearTimeout(entry.timer)
    entry.timer = null
    if (this.context === null) {
      entry.peer.destroy()
      return
    }
    entry.connected = true
    const peer = entry.peer as SimplePeer.Instance & Partial<Record<'localAddress' | 'remoteAddress', string>> &
      Partial<Record<'localPort' | 'remotePort', number>>
    const info: WebRtcConnectionInfo = {
      ...this.peerInfo(entry),
      ...(peer.remoteAddress ? { remote: `${peer.remoteAddress}:${peer.remotePort}` } : {}),
      ...(peer.localAddress ? { local: `${peer.localAddress}:${peer.localPort}` } : {})
    }
    // Noise runs over the data channel (it closes with the peer and destroys the peer when closed),
    // handed to the node only after the handshake. The back-off resets only if it stays up.
    const secured = this.secure(peer as unknown as RawStream, info)
    secured.opened.then(
      () => {
        if (entry.initiator && this.members.has(entry.id)) this.redialOf(entry.id).schedule.connected()
      },
      () => {} // reported by secure() as 'connection-error'
    )
  }
}

/** Creates a {@link WebRtcTransport}. */
export function webRtcTransport(options: WebRtcTransportOptions): WebRtcTransport {
  return new WebRtcTransport(options)
}

/**
 * simple-peer sends each write as one data-channel message, and one over the SCTP limit fails
 * (libdatachannel: "Message size exceeds limit"; browsers throw too), which dropped every
 * connection that carried a value near 256 KiB. The channel carries a byte stream (secret-stream
 * frames it with its own length prefixes; the receiver just concatenates), so writes are split
 * into messages of at most {@link messageBytes}, each through simple-peer's own `_write` and so
 * its back-pressure: the next waits for 'bufferedamountlow' while over 64 KiB is queued.
 */
function splitWrites(peer: SimplePeer.Instance): void {
  type Write = (chunk: Uint8Array, encoding: string, cb: (error?: Error | null) => void) => void
  const stream = peer as unknown as { _write: Write }
  const write = stream._write
  stream._write = function (chunk, encoding, cb) {
    const size = messageBytes(peer)
    let offset = 0
    const next = (error?: Error | null): void => {
      if (error || offset >= chunk.byteLength) return cb(error)
      write.call(this, chunk.subarray(offset, (offset += size)), encoding, next)
    }
    next()
  }
}

/** How large one data-channel message of this peer connection may be (see {@link messageBytesFor}). */
function messageBytes(peer: SimplePeer.Instance): number {
  return messageBytesFor((peer as unknown as { _pc?: { sctp?: { maxMessageSize?: unknown } | null } })._pc?.sctp?.maxMessageSize)
}

/**
 * The size of the messages writes are split into, given `RTCSctpTransport.maxMessageSize` (null
 * before the association is up, `Infinity` when the peer sets no limit, absent in old browsers):
 * that limit, at most {@link MAX_MESSAGE_BYTES}; {@link DEFAULT_MESSAGE_BYTES} when it is unknown.
 */
export function messageBytesFor(maxMessageSize: unknown): number {
  if (typeof maxMessageSize !== 'number' || !(maxMessageSize >= 1)) return DEFAULT_MESSAGE_BYTES
  return Math.min(Math.floor(maxMessageSize), MAX_MESSAGE_BYTES)
}

/** simple-peer's errors (ICE or data channel failures, with their own `code`) as a TransportError. */
function peerError(err: Error, id: string): TransportError {
  if (err instanceof TransportError) return err
  return new TransportError('ERR_CONNECTION', `peer connection to ${id} failed: ${err.message}`, { cause: err })
}

function isMemberKey(key: unknown): key is Uint8Array {
  return key instanceof Uint8Array && key.byteLength === 32
}

function randomId(): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(16)))
}
