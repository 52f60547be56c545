// For transport authors (@hypha/transport-tcp, -websocket, -webrtc and your own): the base classes
// and helpers every Hypha transport builds on, so each hands over a connection only after the
// Noise handshake, with the same timeouts, first-frame guard, keep-alive and re-dial schedule.
export {
  SecretStreamTransport,
  DialingTransport,
  secureRawStream,
  resolveSecretStreamOptions,
  resolveReconnect,
  reconnectDelay,
  checkNonNegative,
  checkPort,
  TransportError,
  DEFAULT_RECONNECT,
  type RawStream,
  type SecureHooks,
  type SecuredConnection,
  type TransportErrorCode,
  type TransportEvents,
  type ReconnectOptions,
  type SecretStreamOptions
} from './transports/stream-transport.js'
export type { Transport, TransportContext, ConnectionInfo, SecretStream, WebSocketLike, WebSocketConstructor } from './transports/types.js'
