/**
 * The part of a Protomux (https://github.com/holepunchto/protomux, 3.x) this package uses, as its
 * own interfaces: published declarations then need no types from protomux, which ships none.
 */
import type { CompactEncoding } from './codec.js'

/** A message's encoding: the one compact-encoding shape every Hypha message has. */
export type MuxerEncoding<T> = CompactEncoding<T>

export interface MuxerMessageOptions<T = unknown> {
  encoding?: MuxerEncoding<T>
  onmessage?: (message: T, channel: MuxerChannel) => void | Promise<void>
}

export interface MuxerMessage<T = unknown> {
  send(message: T, channel?: MuxerChannel): boolean
}

export interface MuxerChannelOptions {
  protocol: string
  id?: Uint8Array | null
  /** Encoding of the value given to `open(handshake)`; the remote's arrives as `onopen`'s first argument. */
  handshake?: MuxerEncoding<any>
  onopen?: (handshake: any, channel: MuxerChannel) => void | Promise<void>
  onclose?: (isRemote: boolean, channel: MuxerChannel) => void | Promise<void>
}

export interface MuxerChannel {
  readonly opened: boolean
  readonly closed: boolean
  open(handshake?: unknown): void
  close(): void
  addMessage<T>(options: MuxerMessageOptions<T>): MuxerMessage<T>
}

/** One connection's Protomux. */
export interface Muxer {
  readonly isProtomux: true
  readonly stream: {
    destroyed?: boolean
    remotePublicKey?: Uint8Array | null
    once?(event: string, listener: () => void): unknown
    destroy?(error?: Error): void
  } | null
  createChannel(options: MuxerChannelOptions): MuxerChannel | null
  pair(options: { protocol: string; id?: Uint8Array | null }, notify: (id: Uint8Array | null) => void): void
  unpair(options: { protocol: string; id?: Uint8Array | null }): void
  /** Holds every message sent until as many `uncork()` calls, then writes them as one batch (one encryption, one write). */
  cork(): void
  uncork(): void
}
