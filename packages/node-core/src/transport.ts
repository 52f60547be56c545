// For transport authors (@hypha/transport-tcp, -websocket, -webrtc, -hyperswarm and your own): the
// base every Hypha transport extends (TransportBase: one set of events, the start guard, connection
// tracking, Noise over raw duplexes), the one error type, and the one re-dial schedule, so each
// hands over a connection only after the Noise handshake, with the same timeouts, first-frame
// guard, keep-alive and back-off.
export { TransportBase, type TransportBaseEvents } from './transports/base.js'
export { TransportError, type TransportErrorCode } from './transports/errors.js'
export { memberProof, verifyMemberProof, MEMBER_PROOF_BYTES } from './transports/member-proof.js'
export {
  secureRawStream,
  lostError,
  resolveSecretStreamOptions,
  checkNonNegative,
  checkPort,
  type RawStream,
  type SecureHooks,
  type SecuredConnection,
  type SecretStreamOptions
} from './transports/secure.js'
export {
  SecretStreamTransport,
  DialingTransport,
  ReconnectSchedule,
  resolveReconnect,
  reconnectDelay,
  DEFAULT_RECONNECT,
  type TransportEvents,
  type ReconnectOptions
} from './transports/stream-transport.js'
export type { Transport, TransportContext, ConnectionInfo, SecretStream, WebSocketLike, WebSocketConstructor } from './transports/types.js'
