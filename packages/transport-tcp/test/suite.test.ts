// The shared transport contract (@hypha/adapter-tests) on TCP: a server and a re-dialling client on 127.0.0.1.
import { runTransportTests } from '@hypha/adapter-tests'
import { freePort } from '@hypha/test-utils'
import { tcpClient, tcpServer, type TcpServerTransport } from '../src/index.js'

// Re-dial quickly, so "no connection after stop()" has seen several re-dial slots by quietMs.
const fast = { initialDelayMs: 5, maxDelayMs: 20 }

runTransportTests({
  name: 'tcp',
  async pair() {
    return {
      first: () => tcpServer({ port: 0, host: '127.0.0.1' }),
      second: (server) => tcpClient({ port: (server as TcpServerTransport).port!, host: '127.0.0.1', reconnect: fast })
    }
  },
  remote: /^127\.0\.0\.1:\d+$/,
  quietMs: 300,
  redial: {
    server: (port) => tcpServer({ port, host: '127.0.0.1' }),
    client: (port) => tcpClient({ port, host: '127.0.0.1', reconnect: fast })
  },
  async provokeError() {
    // Nothing listens there: every dial is refused and reported.
    return { transport: tcpClient({ port: await freePort(), host: '127.0.0.1', reconnect: fast }), code: 'ERR_CONNECTION' }
  }
})
