// Transport test peers built from the real parts the node uses: a RAM corestore, the ephemeral
// channel, a Noise key pair. Shared by the transport suite and the transport packages' own tests.
import { afterEach } from 'vitest'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import { createStore } from '@hypha/test-utils'
import type { ConnectionInfo, Transport, TransportContext } from '@hypha/node-core'

// A peer built from the real parts the node uses: a RAM corestore, the ephemeral channel, a Noise key pair.
export interface Peer {
  store: any
  core: any
  ephemeral: EphemeralExtension
  keyPair: { publicKey: Uint8Array; secretKey: Uint8Array }
  context: TransportContext
  /** Each connection as handed over, with the remote key it had authenticated by then (null: none). */
  connections: Array<{ stream: any; info: ConnectionInfo; remoteKeyAtHandOver: Uint8Array | null }>
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
      connections.push({ stream, info, remoteKeyAtHandOver: stream.remotePublicKey ?? null })
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
