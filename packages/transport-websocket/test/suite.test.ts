// The shared transport contract (@hypha/adapter-tests) on WebSocket: a server and a re-dialling `ws` client on 127.0.0.1.
import { WebSocket } from 'ws'
import { runTransportTests } from '@hypha/adapter-tests'
import { freePort } from '@hypha/test-utils'
import { webSocketClient } from '../src/index.js'
import { webSocketServer, type WebSocketServerTransport } from '../src/server.js'

// Re-dial quickly, so "no connection after stop()" has seen several re-dial slots by quietMs.
const fast = { initialDelayMs: 5, maxDelayMs: 20 }
const client = (port: number) => webSocketClient({ url: `ws://127.0.0.1:${port}`, WebSocket, reconnect: fast })

runTransportTests({
  name: 'websocket',
  async pair() {
    return {
      first: () => webSocketServer({ port: 0, host: '127.0.0.1' }),
      second: (server) => client((server as WebSocketServerTransport).port!)
    }
  },
  // The server side knows the remote's address, the client side the URL it dialled.
  remote: /^(ws:\/\/)?127\.0\.0\.1:\d+\/?$/,
  quietMs: 300,
  redial: { server: (port) => webSocketServer({ port, host: '127.0.0.1' }), client },
  async provokeError() {
    // Nothing listens there: every dial is refused and reported.
    return { transport: client(await freePort()), code: 'ERR_CONNECTION' }
  }
})
