// The signalling server's public shapes: its options, a join as `authorise` sees it, and its events.
// Kept apart from signalling-server.ts (the server's behaviour). Node only, like the server.
import type http from 'node:http'
import type { TransportError } from '@hypha/node-core/transport'

/** Options of `signallingServer`: its own port or an existing HTTP server, the rooms and their member keys, and its limits. */
export interface SignallingServerOptions {
  /** Listen on this port (0: any free one) on a server of its own. Ignored when `server` is given. */
  port?: number
  /** Address for a server of its own. Default: all interfaces (tests pass '127.0.0.1'). */
  host?: string
  /** Attach to an existing HTTP server instead (it keeps serving its other paths and upgrades). */
  server?: http.Server
  /** URL path of the WebSocket endpoint. Default {@link DEFAULT_SIGNALLING_PATH}. */
  path?: string
  /** Largest frame accepted; a larger one closes that socket (1009). Default 64 KiB. */
  maxMessageBytes?: number
  /**
   * The rooms served, each with its account's 32-byte member key (`[hex room, memberKey]`, e.g. the
   * always-on node's `[hex(node.topic), node.memberKey]`); more with {@link SignallingServer.addRoom}.
   * Once the server holds any key, a join is accepted only to one of these rooms and only with a
   * valid proof. Given none (and none added): open, every join accepted (tests and development only).
   */
  rooms?: Iterable<readonly [room: string, memberKey: Uint8Array]>
  /**
   * Decides joins to rooms not in `rooms` (e.g. a server for many accounts that looks keys up):
   * true (or a Promise of true) admits the join; anything else, a throw or a rejection refuses it.
   * `join.proves(memberKey)` checks the join's proof against a key. Given this, the server is
   * closed even without `rooms`.
   */
  authorise?: (join: SignallingJoin) => boolean | Promise<boolean>
  /** Most members in one room (only proven members join a room that has a key). Default 64. */
  maxRoomSize?: number
  /** A socket that has not joined by then (including a pending `authorise`) is closed (4408). Default 10 s. */
  joinTimeoutMs?: number
  /** Most sockets connected but not yet joined; more are refused at the upgrade (HTTP 503). Default 256. */
  maxPendingSockets?: number
  /** Ping interval; a socket that missed the previous pong is dropped. Default 30 s. */
  heartbeatMs?: number
}

/** A join as {@link SignallingServerOptions.authorise} sees it. */
export interface SignallingJoin {
  /** Hex discovery key. */
  room: string
  /** The joiner's id in the room. */
  peer: string
  /** True if the join carries a valid proof under this 32-byte member key (for this socket's challenge, room and id). */
  proves(memberKey: Uint8Array): boolean
}

/** A relayed signal, as observed by the server (for logs and tests; the server never changes it). */
export interface RelayedSignal {
  room: string
  from: string
  to: string
  signal: unknown
}

/** Events of a `SignallingServer`: joins, leaves, relayed signals and refused sockets (for logs and tests). */
export interface SignallingServerEvents {
  join: [room: string, peer: string]
  leave: [room: string, peer: string]
  relay: [message: RelayedSignal]
  /** A socket sent bad input and was closed, or a signal was refused (`ERR_UNKNOWN_PEER`, socket kept). */
  rejected: [error: TransportError]
}
