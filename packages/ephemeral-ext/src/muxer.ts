/**
 * The part of a Protomux (https://github.com/holepunchto/protomux, 3.x) this package uses, as its
 * own interfaces: published declarations then need no types from protomux, which ships none.
 */

/** A compact-encoding `{ preencode, encode, decode }` (the state is compact-encoding's). */
export interface MuxerEncoding<T> {
  preencode(state: { start: number; end: number; buffer: Uint8Array | null }, value: T): void
  encode(state: { start: number; end: number; buffer: Uint8Array | null }, value: T): void
  decode(state: { start: number; end: number; buffer: Uint8Array | null }): T
}

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
  onopen?: (handshake: unknown, channel: MuxerChannel) => void | Promise<void>
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
  readonly stream: { destroyed?: boolean; remotePublicKey?: Uint8Array | null; once?(event: string, listener: () => void): unknown } | null
  createChannel(options: MuxerChannelOptions): MuxerChannel | null
  pair(options: { protocol: string; id?: Uint8Array | null }, notify: (id: Uint8Array | null) => void): void
  unpair(options: { protocol: string; id?: Uint8Array | null }): void
}
