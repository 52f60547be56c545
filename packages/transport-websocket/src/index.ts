export { webSocketClient, WebSocketClientTransport, type WebSocketClientOptions } from './client.js'
export { WebSocketStream, type WebSocketStreamOptions } from './stream.js'
