// The WebRTC transport's public shapes: its options, what the node gets for a connection, and its
// events. Kept apart from webrtc.ts (the per-peer connection handling) so that file reads as
// behaviour only. Browser path: types only, no imports with side effects.
import type {
  ConnectionInfo,
  ReconnectOptions,
  SecretStream,
  SecretStreamOptions,
  TransportBaseEvents,
  TransportError,
  WebSocketConstructor
} from '@hypha/node-core/transport'

/** RTCPeerConnection & co. for simple-peer (in Node, see {@link nodeDatachannelWrtc}); the browser's by default. */
export interface WrtcImplementation {
  RTCPeerConnection: unknown
  RTCSessionDescription: unknown
  RTCIceCandidate: unknown
}

/** Options of `webRtcTransport`: the signalling server, the member key, the WebRTC and WebSocket implementations, ICE settings and timers. */
export interface WebRtcTransportOptions extends SecretStreamOptions {
  /** ws:// or wss:// URL of a signalling server, path included (e.g. `ws://host:port/hypha-signal`). */
  signallingUrl: string
  /**
   * The account's 32-byte member key: every join proves it to the signalling server (see the
   * README's protocol). Default: the node's (`TransportContext.memberKey`, which HyphaNode sets).
   * Without either, joins carry no proof and only an open server (tests, dev) accepts them.
   */
  memberKey?: Uint8Array
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
  /** Schedule of signalling re-joins and of re-dials of each peer: the one of every transport. */
  reconnect?: ReconnectOptions
}

/** What the node gets for a WebRTC connection: `remote` is the selected ICE pair's remote `address:port`. */
export interface WebRtcConnectionInfo extends ConnectionInfo {
  /** The remote's id in the signalling room. */
  peerId: string
  /** Local `address:port` of the selected ICE pair, if the WebRTC implementation reports it. */
  local?: string
}

/**
 * Every transport's events, and these. 'connection-error' reports a failed or lost peer connection
 * (info: the peer) and a bad frame from the signalling server (info: `remote` is its URL).
 */
export interface WebRtcTransportEvents extends TransportBaseEvents {
  /** A connection was handed to the node. */
  connection: [stream: SecretStream, info: WebRtcConnectionInfo]
  /** Joined the room (after start and after every signalling reconnection), with the ids already there. */
  joined: [peers: string[]]
  /** A peer connection ended, or failed before connecting (`error` says why, if it was not a clean close). */
  'peer-close': [peerId: string, error: TransportError | null]
  /** The signalling socket closed; unless stopped, the transport re-joins after a back-off. */
  'signalling-close': [code: number, reason: string]
}
