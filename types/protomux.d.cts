// Minimal types for protomux 3 (https://github.com/holepunchto/protomux): only what Hypha uses.
// Kept because protomux ships no types and there is no @types/protomux (npm, 2026-11). Used only
// inside this repository (tsconfig.base.json paths): published declarations describe the muxer
// with @hypha/ephemeral-ext's own interfaces (muxer.ts), so consumers never need this file.
import type { Encoder as Encoding } from 'compact-encoding'

declare namespace Protomux {
  interface MessageOptions<T = unknown> {
    encoding?: Encoding<T>
    onmessage?: (message: T, channel: Channel) => void | Promise<void>
    autoBatch?: boolean
  }
  interface Message<T = unknown> {
    type: number
    send(message: T, channel?: Channel): boolean
  }
  interface ChannelOptions {
    protocol: string
    id?: Uint8Array | null
    unique?: boolean
    userData?: unknown
    handshake?: Encoding<unknown> | null
    messages?: MessageOptions<any>[]
    onopen?: (handshake: unknown, channel: Channel) => void | Promise<void>
    onclose?: (isRemote: boolean, channel: Channel) => void | Promise<void>
    ondestroy?: (channel: Channel) => void | Promise<void>
    ondrain?: (channel: Channel) => void
  }
  interface Channel {
    readonly opened: boolean
    readonly closed: boolean
    readonly destroyed: boolean
    userData: unknown
    messages: Message<any>[]
    open(handshake?: unknown): void
    close(): void
    cork(): void
    uncork(): void
    fullyOpened(): Promise<boolean>
    addMessage<T>(opts: MessageOptions<T>): Message<T>
  }
}

declare class Protomux {
  constructor(stream: unknown, opts?: unknown)
  readonly isProtomux: true
  readonly stream: any
  static from(stream: unknown, opts?: unknown): Protomux
  static isProtomux(value: unknown): value is Protomux
  createChannel(opts: Protomux.ChannelOptions): Protomux.Channel | null
  pair(opts: { protocol: string; id?: Uint8Array | null }, notify: (id: Uint8Array | null) => void): void
  unpair(opts: { protocol: string; id?: Uint8Array | null }): void
  opened(opts: { protocol: string; id?: Uint8Array | null }): boolean
  destroy(err?: Error): void
  cork(): void
  uncork(): void
}

export = Protomux
