import type { TypedListener } from '@hypha/ephemeral-ext'
import type { TransportBaseEvents } from './base.js'

/**
 * An encrypted connection as a transport hands it to the node: a Noise secret stream
 * (`@hyperswarm/secret-stream`), ready for `store.replicate(stream)` and the ephemeral channel.
 */
export type SecretStream = any

export interface ConnectionInfo {
  /** Which transport made it: 'tcp', 'websocket', 'webrtc', 'hyperswarm', … */
  transport: string
  /** True on the side that dialled. */
  isInitiator: boolean
  /** Human-readable remote address for logs (`127.0.0.1:4001`, a peer id, …), if known. */
  remote?: string
}

/** What a node gives each transport when it starts it. */
export interface TransportContext {
  /**
   * Where the account's nodes meet: the topic to join, the room to signal in (the account's lookup
   * topic, from the root secret; see HyphaNode.topic).
   */
  topic: Uint8Array
  /** The node's Noise key pair for secret-stream handshakes. */
  keyPair: { publicKey: Uint8Array; secretKey: Uint8Array }
  /**
   * The account's 32-byte member key (HyphaNode.memberKey), for transports that must prove
   * membership to a server they meet through (the WebRTC signalling server). It proves membership
   * and reads nothing. Optional: a transport that needs none ignores it; set by HyphaNode.
   */
  memberKey?: Uint8Array
  /** Hand every new encrypted connection to the node (which replicates and attaches the channel). */
  onConnection(stream: SecretStream, info: ConnectionInfo): void
}

/**
 * One narrow interface for every way of reaching peers. The node never knows which it has:
 * a transport makes encrypted connections and hands them over; it re-dials lost ones itself.
 */
export interface Transport {
  // Listeners of the events every transport emits (TransportBase); a transport of one's own that
  // does not extend TransportBase must accept these names. Written out rather than picked from
  // TypedEmitter so a transport with more events (its own map) still implements this.
  on<K extends keyof TransportBaseEvents>(event: K, listener: TypedListener<TransportBaseEvents, K>): this
  off<K extends keyof TransportBaseEvents>(event: K, listener: TypedListener<TransportBaseEvents, K>): this
  once<K extends keyof TransportBaseEvents>(event: K, listener: TypedListener<TransportBaseEvents, K>): this
  /** Short name used in logs and in ConnectionInfo.transport. */
  readonly name: string
  start(context: TransportContext): Promise<void>
  /** Stops listening and dialling and closes its connections. */
  stop(): Promise<void>
}

/**
 * What transports need of a WebSocket: satisfied by the browser's WebSocket and by `ws`'s, so the
 * same client code runs in both (Node 20 has no global WebSocket: pass `ws`'s).
 * (`pause`/`resume` exist only on `ws`: used for read back-pressure when present.)
 */
export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  readonly bufferedAmount: number
  send(data: string | Uint8Array): void
  close(code?: number, reason?: string): void
  // `any` events: the browser's and ws's event classes differ, and handler properties are checked contravariantly.
  onopen: ((event: any) => void) | null
  onmessage: ((event: any) => void) | null
  onerror: ((event: any) => void) | null
  onclose: ((event: any) => void) | null
  pause?(): void
  resume?(): void
  terminate?(): void
}

export interface WebSocketConstructor {
  new (url: string): WebSocketLike
}
