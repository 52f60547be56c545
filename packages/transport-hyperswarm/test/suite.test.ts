// The shared transport contract (@hypha/adapter-tests) on Hyperswarm: two swarms on a local
// hyperdht testnet, every DHT bound to 127.0.0.1.
import createTestnet from 'hyperdht/testnet'
import { runTransportTests } from '@hypha/adapter-tests'
import { eventually } from '@hypha/test-utils'
import { hyperswarmTransport } from '../src/index.js'

runTransportTests({
  name: 'hyperswarm',
  async pair(cleanups) {
    const testnet = await createTestnet(3, { host: '127.0.0.1' })
    cleanups.push(() => testnet.destroy())
    const swarm = () => hyperswarmTransport({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })
    return { first: swarm, second: swarm }
  },
  remote: /^127\.0\.0\.1:\d+$/,
  async provokeError(cleanups) {
    // Once the swarm is up, a raw DHT peer dials it by its key and then resets the UDX stream
    // under the Noise stream (no clean close): the swarm's side of the connection fails.
    const testnet = await createTestnet(3, { host: '127.0.0.1' })
    cleanups.push(() => testnet.destroy())
    const swarm = hyperswarmTransport({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })
    // The node starts the swarm; dial only once start() resolved (the topic is announced).
    let started = false
    const start = swarm.start.bind(swarm)
    swarm.start = async (context) => {
      await start(context)
      started = true
    }
    void (async () => {
      await eventually(() => started, 'the swarm to start', 30_000)
      const dht: any = testnet.createNode() // hyperdht's declarations here lack connect()
      const conn = dht.connect(swarm.publicKey)
      conn.on('error', () => {})
      await eventually(() => swarm.connections.length > 0, 'the raw peer to connect', 30_000)
      conn.rawStream.destroy()
    })().catch(() => {}) // a failure here shows as the suite's missing transport-error
    return { transport: swarm, code: 'ERR_CONNECTION' }
  }
})
