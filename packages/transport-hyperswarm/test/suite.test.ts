// The shared transport contract (@hypha/adapter-tests) on Hyperswarm: two swarms on a local
// hyperdht testnet, every DHT bound to 127.0.0.1.
import createTestnet from 'hyperdht/testnet'
import { runTransportTests } from '@hypha/adapter-tests'
import { hyperswarmTransport } from '../src/index.js'

runTransportTests({
  name: 'hyperswarm',
  async pair(cleanups) {
    const testnet = await createTestnet(3, { host: '127.0.0.1' })
    cleanups.push(() => testnet.destroy())
    const swarm = () => hyperswarmTransport({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })
    return { first: swarm, second: swarm }
  },
  remote: /^127\.0\.0\.1:\d+$/
  // No provokeError: nothing a test can do makes a started swarm report an error on its own.
})
