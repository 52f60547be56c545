// Node-only parts of @hypha/node-core: they use net, fs, ws's server or the DHT.
export { tcpServer, tcpClient, TcpServerTransport, TcpClientTransport } from './transports/tcp.js'
export type { TcpServerOptions, TcpClientOptions } from './transports/tcp.js'
export { signallingServer, SignallingServer, SignallingError } from './transports/signalling.js'
export type { SignallingServerOptions, SignallingErrorCode } from './transports/signalling.js'
export { hyperswarmTransport, HyperswarmTransport, HyperswarmError } from './transports/hyperswarm.js'
export type { HyperswarmTransportOptions } from './transports/hyperswarm.js'
export { fileStorage } from './storage/file.js'
