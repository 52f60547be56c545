// Transport test peers built from the real parts the node uses: a RAM corestore, the ephemeral
// channel, a Noise key pair. Shared by the TCP and WebSocket tests.
import { afterEach, expect } from 'vitest'
import b4a from 'b4a'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import { createStore, nextEvent } from '@hypha/test-utils'
import type { TransportError } from '@hypha/node-core'
import { expectEphemeralBothWays } from './exchange.js'
import type { ConnectionInfo, Transport, TransportContext } from '@hypha/node-core'

// A peer built from the real parts the node uses: a RAM corestore, the ephemeral channel, a Noise key pair.
export interface Peer {
  store: any
  core: any
  ephemeral: EphemeralExtension
  keyPair: { publicKey: Uint8Array; secretKey: Uint8Array }
  context: TransportContext
  connections: Array<{ stream: any; info: ConnectionInfo }>
}

export const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

export function track<T extends Transport>(transport: T): T {
  cleanups.push(() => transport.stop())
  return transport
}

export async function createPeer(discoveryKey?: Uint8Array): Promise<Peer> {
  const { store, core } = await createStore()
  cleanups.push(() => store.close())
  const dk: Uint8Array = discoveryKey ?? core.discoveryKey
  const ephemeral = new EphemeralExtension({ discoveryKey: dk })
  cleanups.push(() => ephemeral.close())
  const keyPair = NoiseSecretStream.keyPair()
  const connections: Peer['connections'] = []
  const context: TransportContext = {
    topic: dk,
    keyPair,
    onConnection(stream, info) {
      connections.push({ stream, info })
      store.replicate(stream)
      ephemeral.attach(stream)
    }
  }
  return { store, core, ephemeral, keyPair, context, connections }
}

/** Server peer A owns the core; client peer B reads it by key. */
export async function createPair() {
  const a = await createPeer()
  const b = await createPeer(a.context.topic)
  const remoteCore = b.store.get({ key: a.core.key })
  await remoteCore.ready()
  return { a, b, remoteCore }
}

/**
 * A client re-dials a server that stopped and started again on the same port, without crashing on
 * ECONNREFUSED meanwhile, and catches up on a block appended while it was away.
 */
export async function expectRedialAndCatchUp(
  server: (port: number) => Transport & { readonly port: number | null },
  client: (port: number) => Transport
): Promise<void> {
  const { a, b, remoteCore } = await createPair()
  const server1 = server(0)
  await server1.start(a.context)
  const port = server1.port!
  const dialer = track(client(port))
  await dialer.start(b.context)
  await a.core.append(b4a.from('before'))
  expect(b4a.toString(await remoteCore.get(0))).toBe('before')

  const lost = nextEvent(dialer, 'disconnect')
  await server1.stop()
  await lost
  const [refused] = await nextEvent<[TransportError]>(dialer, 'connection-error', (e) => (e.cause as any)?.code === 'ECONNREFUSED')
  expect(refused.code).toBe('ERR_CONNECTION')
  await a.core.append(b4a.from('while offline'))

  const server2 = track(server(port))
  const reconnected = nextEvent(dialer, 'connection')
  await server2.start(a.context)
  await reconnected
  expect(b4a.toString(await remoteCore.get(1))).toBe('while offline')
  expect(b.connections).toHaveLength(2)
  await expectEphemeralBothWays(a, b)
}
