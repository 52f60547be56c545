// The one error type of every transport (TCP, WebSocket, WebRTC and its signalling server,
// Hyperswarm, and yours): one class, one code union. Browser-safe.

export type TransportErrorCode =
  /** A factory or option was given a bad value. */
  | 'ERR_INVALID_ARGUMENT'
  /** `start()` on a transport that is already started. */
  | 'ERR_ALREADY_STARTED'
  /** The server could not listen (the cause says why, e.g. EADDRINUSE). */
  | 'ERR_LISTEN'
  /** The peer did not complete the Noise handshake in time. */
  | 'ERR_HANDSHAKE_TIMEOUT'
  /** The peer sent something that is not a Noise handshake. */
  | 'ERR_HANDSHAKE_FAILED'
  /** The connection could not be made or was lost (the cause holds the socket error, e.g. ECONNREFUSED). */
  | 'ERR_CONNECTION'
  /** The peer broke the framing the transport expects (e.g. a WebSocket text frame). */
  | 'ERR_PROTOCOL'
  /** `context.onConnection` threw: the connection was closed (the cause is what it threw). */
  | 'ERR_HANDLER'
  /** No WebSocket implementation: pass one (`ws`'s WebSocket in Node 20). */
  | 'ERR_NO_WEBSOCKET'
  /** No RTCPeerConnection: pass a WebRTC implementation (`wrtc`, e.g. nodeDatachannelWrtc in Node). */
  | 'ERR_WEBRTC_UNSUPPORTED'
  /** The first join at the signalling server failed: it could not be reached, or the transport stopped first. */
  | 'ERR_SIGNALLING_UNREACHABLE'
  /** The signalling server refused the join (duplicate id, full room, bad message). */
  | 'ERR_SIGNALLING_REJECTED'
  /** A signalling frame broke the signalling protocol (not JSON, bad shape, unknown type), in either direction. */
  | 'ERR_BAD_SIGNAL'
  /** A signalling frame was larger than the server's maxMessageBytes. */
  | 'ERR_MESSAGE_TOO_LARGE'
  /** A signalling client sent a signal before joining a room. */
  | 'ERR_NOT_JOINED'
  /** A signalling client sent a second join. */
  | 'ERR_ALREADY_JOINED'
  /** A signalling client joined under an id already in its room. */
  | 'ERR_DUPLICATE_PEER'
  /**
   * A signalling join without a valid proof of membership (no proof, a wrong one, or a room the
   * server holds no member key for): refused before the joiner learns who is in the room.
   */
  | 'ERR_NOT_A_MEMBER'
  /** A signalling client joined a room that is full. */
  | 'ERR_ROOM_FULL'
  /** A signalling client did not join within the server's joinTimeoutMs. */
  | 'ERR_JOIN_TIMEOUT'
  /** The signalling server already holds maxPendingSockets sockets that have not joined: a new one is refused. */
  | 'ERR_TOO_MANY_PENDING'
  /** A signal was addressed to an id that is not (or no longer) in the sender's room. */
  | 'ERR_UNKNOWN_PEER'
  /** A WebRTC peer left the room before its connection was up. */
  | 'ERR_PEER_LEFT'
  /** A WebRTC peer connection did not connect within connectTimeoutMs. */
  | 'ERR_CONNECT_TIMEOUT'
  /** A Hyperswarm transport was given a DHT that an earlier stop() destroyed. */
  | 'ERR_DHT_DESTROYED'
  /** Peer discovery failed: the DHT could not announce or look up the topic (the cause says why). */
  | 'ERR_DISCOVERY'

export class TransportError extends Error {
  readonly code: TransportErrorCode

  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TransportError'
    this.code = code
  }
}
