// The shared transport contract (@hypha/adapter-tests) on WebRTC: two node-datachannel peers that
// meet through a signalling server, all on 127.0.0.1 (ICE bound there, only loopback candidates).
import { WebSocket, WebSocketServer } from 'ws'
import * as datachannel from 'node-datachannel/polyfill'
import { runTransportTests } from '@hypha/adapter-tests'
import { webRtcTransport, candidateAddress } from '../src/index.js'
import { nodeDatachannelWrtc } from '../src/node-datachannel.js'
import { signallingServer } from '../src/signalling-server.js'

const wrtc = nodeDatachannelWrtc(datachannel, { bindAddress: '127.0.0.1' })
// The suite's topics are random: its servers admit whoever proves this key (the transports' option).
const MEMBER_KEY = new Uint8Array(32).fill(3)
const peer = (signallingUrl: string) =>
  webRtcTransport({
    signallingUrl,
    memberKey: MEMBER_KEY,
    wrtc,
    WebSocket: WebSocket as any,
    candidateFilter: (candidate) => candidateAddress(candidate) === '127.0.0.1',
    reconnect: { initialDelayMs: 50 } // re-dial soon after a drop (a back-off start, not a test deadline)
  })

runTransportTests({
  name: 'webrtc',
  async pair(cleanups) {
    const server = await signallingServer({ port: 0, host: '127.0.0.1', authorise: (join) => join.proves(MEMBER_KEY) })
    cleanups.push(() => server.close())
    return { first: () => peer(server.url), second: () => peer(server.url) }
  },
  remote: /^127\.0\.0\.1:\d+$/,
  async provokeError(cleanups) {
    // A hostile signalling server: it lets the transport join, then sends a frame that is not JSON.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    server.on('connection', (socket) => {
      socket.send(JSON.stringify({ type: 'challenge', challenge: '00'.repeat(32) }))
      socket.on('message', () => {
        socket.send(JSON.stringify({ type: 'peers', peers: [] }))
        socket.send('not json')
      })
    })
    await new Promise((resolve) => server.once('listening', resolve))
    const { port } = server.address() as { port: number }
    return { transport: peer(`ws://127.0.0.1:${port}`), code: 'ERR_BAD_SIGNAL' }
  }
})
