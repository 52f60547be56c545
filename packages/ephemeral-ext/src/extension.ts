import { TypedEmitter } from './typed-emitter.js'
import Protomux from 'protomux'
import type { Muxer, MuxerChannel, MuxerMessage } from './muxer.js'
import { EphemeralError } from './errors.js'
import { FRAME_OVERHEAD_BYTES, checkContentType, checkPayloadSize, decodeFrame, frameMessageEncoding, type Frame } from './frame.js'

/** Protomux protocol name; the version is part of it so incompatible peers never pair. */
export const PROTOCOL = 'hypha/ephemeral/1'

/** DEP-0000's limit for one ephemeral payload. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 10 * 1024

/**
 * Default for `maxFrameBytes`: a received frame larger than this drops the connection that sent it.
 * Well above any frame a peer with the default payload limit sends, so only a broken or hostile
 * peer reaches it.
 */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024

/** The largest payload limit: the 16 MiB a secret-stream message can carry at most. */
const MAX_PAYLOAD_LIMIT = 16 * 1024 * 1024

/**
 * Runs `fn` once the event loop has handled the I/O that is ready now (Node's setImmediate), so
 * that everything sent while that I/O is handled leaves as one write per connection. Null where
 * there is none (browsers): there each message is written at once, as before.
 */
const afterIo: ((fn: () => void) => unknown) | null =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === 'function'
    ? (globalThis as unknown as { setImmediate: (fn: () => void) => unknown }).setImmediate
    : null

/** Content type used when `send`/`broadcast` are given none. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

/** Options of `new EphemeralExtension`: the database it is scoped to and its size limits. */
export interface EphemeralExtensionOptions {
  /** Discovery key of the database (its Hypercore/Autobase discovery key): scopes the channel to it. */
  discoveryKey: Uint8Array
  /** Largest payload accepted on send and on receive. Default {@link DEFAULT_MAX_PAYLOAD_BYTES}. */
  maxPayloadBytes?: number
  /**
   * A received frame larger than this drops the connection it came on (`peer-dropped`). At least
   * `maxPayloadBytes` plus the frame overhead; default the larger of that and
   * {@link DEFAULT_MAX_FRAME_BYTES}. Frames between the payload limit and this are only reported
   * (`bad-message`): a peer configured with a larger payload limit is not hostile.
   */
  maxFrameBytes?: number
  /**
   * Write what is sent to a connection during one turn of the event loop as one batch (one
   * encryption and one write per connection, not per message), where the runtime has
   * `setImmediate` (Node). Default true; see {@link EphemeralExtension.batchWrites}.
   */
  batchWrites?: boolean
}

/** A message received (the `message` event): the connection it came on, its content type and payload. */
export interface EphemeralMessage {
  /** The connection the message arrived on. */
  peer: EphemeralPeer
  contentType: string
  payload: Uint8Array
}

/** Options of `send`: the content type (default `DEFAULT_CONTENT_TYPE`). */
export interface SendOptions {
  contentType?: string
}

/** Options of `broadcast`: those of `send`, and peers to leave out. */
export interface BroadcastOptions extends SendOptions {
  /** Peers to leave out, for example the one a relayed message came from. */
  except?: EphemeralPeer | Iterable<EphemeralPeer>
  /** Send only to the open peers this returns true for (the frame is still encoded once for all). */
  only?: (peer: EphemeralPeer) => boolean
}

/** Events of an `EphemeralExtension`: messages, refused frames, peers opening and closing the channel. */
export interface EphemeralEvents {
  /** A well-formed message from a peer. */
  message: [message: EphemeralMessage]
  /** A frame from `peer` was refused and dropped; `error.code` says why. */
  'bad-message': [error: EphemeralError, peer: EphemeralPeer]
  /**
   * The extension closed this connection because of what the peer sent (`ERR_FRAME_TOO_LARGE`), or
   * a layer above asked it to with {@link EphemeralExtension.drop} (`ERR_PEER_DROPPED`, the reason
   * as `cause`). `peer-close` follows.
   */
  'peer-dropped': [error: EphemeralError, peer: EphemeralPeer]
  /** The channel is open on a connection: the peer speaks this protocol for this database. */
  'peer-open': [peer: EphemeralPeer]
  /** The channel on a connection closed (the connection ended, or either side detached). */
  'peer-close': [peer: EphemeralPeer]
  /** A `message` listener threw; without an `error` listener the error is rethrown asynchronously. */
  error: [error: unknown]
}

/** Anything that carries a Protomux: a Hypercore/Corestore replication stream, a Noise stream, or a Protomux. */
export type ReplicationStream = object

/**
 * One connection on which the ephemeral channel was attached. `opened` is true while the remote
 * side has the same protocol open for the same discovery key.
 */
export class EphemeralPeer {
  /** @internal */ channel: MuxerChannel | null = null
  /** @internal */ message: MuxerMessage<Frame | Uint8Array> | null = null
  // Own flag: Protomux sets `channel.opened` only after onopen returns, and listeners of
  // `peer-open` must be able to send right away.
  /** @internal */ isOpen = false
  /** @internal */ dropped = false

  /** @internal */
  constructor(/** @internal */ readonly muxer: Muxer) {}

  /** Remote Noise public key of the connection (null before its handshake). */
  get remotePublicKey(): Uint8Array | null {
    return this.muxer.stream?.remotePublicKey ?? null
  }

  get opened(): boolean {
    return this.channel !== null && this.isOpen && !this.channel.closed
  }
}

/**
 * Ephemeral messages between the peers replicating one database, carried on the same multiplexed
 * connections as replication (a Protomux channel per connection).
 */
export class EphemeralExtension extends TypedEmitter<EphemeralEvents> {
  readonly discoveryKey: Uint8Array
  readonly maxPayloadBytes: number
  /** Received frames larger than this drop their connection. */
  readonly maxFrameBytes: number
  /**
   * Whether sends are batched per connection and event-loop turn (option `batchWrites`). Batches
   * leave in the same turn, after the I/O ready then: no added wait, but one write per connection
   * for all the messages a relay forwards in that turn. Where there is no `setImmediate`
   * (browsers) every message is written at once whatever this says. May be changed at any time.
   */
  batchWrites: boolean
  private readonly attached = new Map<Muxer, EphemeralPeer>()
  private isClosed = false
  /** Connections corked since the last turn of the event loop (see {@link hold}); null when none. */
  private corked: Set<Muxer> | null = null

  constructor(options: EphemeralExtensionOptions) {
    super()
    if (!(options?.discoveryKey instanceof Uint8Array) || options.discoveryKey.byteLength !== 32) {
      throw new EphemeralError('ERR_INVALID_ARGUMENT', 'discoveryKey must be a 32-byte Uint8Array')
    }
    const max = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
    if (!Number.isInteger(max) || max <= 0 || max > MAX_PAYLOAD_LIMIT) {
      throw new EphemeralError('ERR_INVALID_ARGUMENT', 'maxPayloadBytes must be an integer from 1 to 16 MiB')
    }
    const minFrame = max + FRAME_OVERHEAD_BYTES
    const maxFrame = options.maxFrameBytes ?? Math.max(DEFAULT_MAX_FRAME_BYTES, minFrame)
    if (!Number.isInteger(maxFrame) || maxFrame < minFrame || maxFrame > MAX_PAYLOAD_LIMIT + FRAME_OVERHEAD_BYTES) {
      throw new EphemeralError(
        'ERR_INVALID_ARGUMENT',
        `maxFrameBytes must be an integer from maxPayloadBytes + ${FRAME_OVERHEAD_BYTES} (${minFrame}) to 16 MiB + ${FRAME_OVERHEAD_BYTES}`
      )
    }
    this.discoveryKey = options.discoveryKey
    this.maxPayloadBytes = max
    this.maxFrameBytes = maxFrame
    this.batchWrites = options.batchWrites ?? true
  }

  get closed(): boolean {
    return this.isClosed
  }

  /** Peers whose channel is open, in the order they were attached. */
  get peers(): EphemeralPeer[] {
    return [...this.attached.values()].filter((peer) => peer.opened)
  }

  /**
   * Opens the channel on a replication connection. Call it for every connection of the database,
   * before or after its handshake; the peer opens (`peer-open`) once the remote side attaches too.
   * A connection whose remote never attaches stays unopened and is ignored. Attaching the same
   * connection twice returns the same peer.
   */
  attach(stream: ReplicationStream): EphemeralPeer {
    if (this.isClosed) throw new EphemeralError('ERR_CLOSED', 'the extension is closed')
    const muxer = muxerOf(stream)
    const existing = this.attached.get(muxer)
    if (existing) return existing
    if (muxer.stream?.destroyed) throw new EphemeralError('ERR_CLOSED', 'the connection is closed')

    const peer = new EphemeralPeer(muxer)
    this.attached.set(muxer, peer)
    // If the remote attaches after our open was refused, Protomux asks us to pair: open again.
    muxer.pair({ protocol: PROTOCOL, id: this.discoveryKey }, () => this.openChannel(peer))
    muxer.stream?.once?.('close', () => this.forget(peer))
    this.openChannel(peer)
    return peer
  }

  /** Closes the channel on one connection; the connection itself stays up for replication. */
  detach(peer: EphemeralPeer): void {
    this.forget(peer)
    peer.channel?.close()
  }

  private forget(peer: EphemeralPeer): void {
    if (this.attached.get(peer.muxer) !== peer) return
    this.attached.delete(peer.muxer)
    peer.muxer.unpair({ protocol: PROTOCOL, id: this.discoveryKey })
  }

  private openChannel(peer: EphemeralPeer): void {
    if (this.isClosed || this.attached.get(peer.muxer) !== peer || peer.opened) return
    let wasOpened = false
    const channel = peer.muxer.createChannel({
      protocol: PROTOCOL,
      id: this.discoveryKey,
      onopen: () => {
        wasOpened = true
        if (peer.channel === channel) peer.isOpen = true
        this.emit('peer-open', peer)
      },
      onclose: () => {
        if (peer.channel === channel) {
          peer.channel = peer.message = null
          peer.isOpen = false
        }
        if (wasOpened) this.emit('peer-close', peer)
      }
    })
    if (channel === null) return // the connection is closing
    peer.message = channel.addMessage<Frame | Uint8Array>({
      // Sends a frame encoded straight into Protomux's buffer; receives the raw bytes.
      encoding: frameMessageEncoding,
      // Protomux destroys the whole connection if this throws: every failure is caught in receive.
      onmessage: (bytes) => this.receive(peer, bytes as Uint8Array)
    })
    peer.channel = channel
    channel.open()
  }

  /**
   * Closes the whole connection `peer` is on (replication included) and emits `peer-dropped` with
   * `reason`: for layers above that detect abuse (a flood, say). `reason` is reported as is if it
   * is an {@link EphemeralError}, else as the `cause` of an `ERR_PEER_DROPPED` one. Dropping a
   * peer twice does nothing.
   */
  drop(peer: EphemeralPeer, reason: unknown): void {
    if (peer.dropped) return
    peer.dropped = true
    const error =
      reason instanceof EphemeralError
        ? reason
        : new EphemeralError('ERR_PEER_DROPPED', `peer dropped: ${(reason as Error)?.message ?? String(reason)}`, { cause: reason })
    this.forget(peer)
    try {
      this.emit('peer-dropped', error, peer)
    } finally {
      // No error argument: the stream would emit it as 'error', and the transport's owner may not listen.
      const stream = peer.muxer.stream
      if (stream?.destroy) stream.destroy()
      else peer.channel?.close()
    }
  }

  /** Sends to one peer. Throws {@link EphemeralError} if the payload is too large or the peer is not open. */
  send(peer: EphemeralPeer, payload: Uint8Array, options: SendOptions = {}): void {
    const frame = this.frame(payload, options.contentType)
    if (!peer.opened) throw new EphemeralError('ERR_PEER_NOT_OPEN', 'the peer has no open ephemeral channel')
    this.hold(peer.muxer)
    peer.message!.send(frame)
  }

  /** Sends to every open peer (less `except`); returns how many it was sent to. */
  broadcast(payload: Uint8Array, options: BroadcastOptions = {}): number {
    const frame = this.frame(payload, options.contentType)
    return this.broadcastFrame(frame, options.except, options.only)
  }

  /** Closes the channel on every connection. Further sends throw `ERR_CLOSED`. */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    // What was sent before close() is written now: the connections may be destroyed right after.
    this.release()
    for (const peer of [...this.attached.values()]) this.detach(peer)
  }

  /** The frame to send, checked; Protomux encodes it once per peer (no intermediate copy). */
  private frame(payload: Uint8Array, contentType: string = DEFAULT_CONTENT_TYPE): Frame {
    if (this.isClosed) throw new EphemeralError('ERR_CLOSED', 'the extension is closed')
    if (!(payload instanceof Uint8Array)) {
      throw new EphemeralError('ERR_INVALID_ARGUMENT', 'payload must be a Uint8Array')
    }
    checkContentType(contentType)
    checkPayloadSize(payload, this.maxPayloadBytes)
    return { contentType, payload }
  }

  private broadcastFrame(frame: Frame, except?: EphemeralPeer | Iterable<EphemeralPeer>, only?: (peer: EphemeralPeer) => boolean): number {
    const skip = except instanceof EphemeralPeer ? new Set([except]) : new Set(except ?? [])
    let sent = 0
    for (const peer of this.attached.values()) {
      if (!peer.opened || skip.has(peer) || (only && !only(peer))) continue
      this.hold(peer.muxer)
      peer.message!.send(frame)
      sent++
    }
    return sent
  }

  /**
   * Corks `muxer` until the I/O ready now has been handled: a relay forwarding several envelopes
   * that arrived together then encrypts and writes them to each connection once, not once per
   * envelope (the write syscall and the per-message encryption were most of a relay's time per
   * delivery). Adds no wait of its own: the batch leaves in the same turn of the event loop.
   */
  private hold(muxer: Muxer): void {
    if (afterIo === null || !this.batchWrites) return
    if (this.corked === null) {
      this.corked = new Set()
      afterIo(this.release)
    } else if (this.corked.has(muxer)) return
    muxer.cork()
    this.corked.add(muxer)
  }

  private readonly release = (): void => {
    const corked = this.corked ?? []
    this.corked = null
    for (const muxer of corked) {
      try {
        muxer.uncork()
      } catch {
        // The connection was destroyed meanwhile: there is nobody left to write to.
      }
    }
  }

  private receive(peer: EphemeralPeer, bytes: Uint8Array): void {
    // Later messages of a batch that arrived with the one that dropped the connection.
    if (peer.dropped) return
    if (bytes.byteLength > this.maxFrameBytes) {
      // The bytes are already buffered by the layer below (see the README); refuse any more.
      const error = new EphemeralError(
        'ERR_FRAME_TOO_LARGE',
        `frame of ${bytes.byteLength} bytes exceeds maxFrameBytes (${this.maxFrameBytes}): connection dropped`
      )
      try {
        this.drop(peer, error)
      } catch (err) {
        this.surface(err) // a peer-dropped listener threw
      }
      return
    }
    let message: EphemeralMessage
    try {
      const frame = decodeFrame(bytes, this.maxPayloadBytes)
      message = { peer, contentType: frame.contentType, payload: frame.payload }
    } catch (err) {
      const error =
        err instanceof EphemeralError
          ? err
          : new EphemeralError('ERR_MALFORMED_FRAME', 'frame could not be decoded', { cause: err })
      this.report('bad-message', error, peer)
      return
    }
    this.report('message', message)
  }

  // A throwing listener is the app's bug, not the peer's: keep the connection, surface the error.
  private report<K extends 'message' | 'bad-message'>(event: K, ...args: EphemeralEvents[K]): void {
    try {
      ;(this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args)
    } catch (err) {
      this.surface(err)
    }
  }

  private surface(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else queueMicrotask(() => { throw err })
  }
}

/** Finds the Protomux that a replication stream already runs on (never builds a second one on encrypted bytes). */
export function muxerOf(stream: ReplicationStream): Muxer {
  const s = stream as { isProtomux?: boolean; noiseStream?: { userData?: unknown }; userData?: unknown }
  if (s?.isProtomux === true) return stream as Muxer
  const fromNoise = s?.noiseStream?.userData as { isProtomux?: boolean } | undefined
  if (fromNoise?.isProtomux === true) return fromNoise as Muxer
  const fromUserData = s?.userData as { isProtomux?: boolean } | undefined
  if (fromUserData?.isProtomux === true) return fromUserData as Muxer
  // A bare Noise stream (for example a Hyperswarm connection) nobody has multiplexed yet.
  if (s && typeof (s as { write?: unknown }).write === 'function' && 'userData' in s) {
    return Protomux.from(stream) as unknown as Muxer
  }
  throw new EphemeralError(
    'ERR_INVALID_ARGUMENT',
    'expected a replication stream (store.replicate(...)), a Noise secret stream or a Protomux'
  )
}
