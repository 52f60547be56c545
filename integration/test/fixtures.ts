// Set-ups shared by the always-on abuse tests: an account's two members connected only through an
// always-on relay, and a stranger on a raw connection to that relay.
import { tcpClient, tcpServer } from '@hypha/transport-tcp'
import { createKeyPair } from '@hypha/secure-channel'
import { freePort } from '@hypha/test-utils'
import type { HyphaNode } from '@hypha/node-core'
import { eventually, startNode } from '@hypha/adapter-tests'

export type Ephemeral = HyphaNode['ephemeral']
type Cleanups = Array<() => unknown>

const HOST = '127.0.0.1'
const FAST = { initialDelayMs: 20, maxDelayMs: 200 }

/**
 * The origin and a second device (given the database key) of the account of `root`, each dialling
 * an always-on relay (given the origin's member credential) over TCP on 127.0.0.1; resolves once
 * both members' ephemeral channels to the relay are open.
 */
export async function membersThroughRelay(root: Uint8Array, cleanups: Cleanups, deadlineMs?: number) {
  const port = await freePort()
  const dial = () => tcpClient({ port, host: HOST, reconnect: FAST })
  const origin = await startNode({ role: 'origin', rootSecret: root, transports: [dial()] }, cleanups)
  const relay = await startNode(
    { role: 'always-on', memberCredential: origin.memberCredential, transports: [tcpServer({ port, host: HOST })] },
    cleanups
  )
  const phone = await startNode({ role: 'read-only', rootSecret: root, databaseKey: origin.key, transports: [dial()] }, cleanups)
  await eventually(
    () =>
      relay.ephemeral.peers.filter((p) => p.opened).length === 2 &&
      origin.ephemeral.peers.length === 1 &&
      phone.ephemeral.peers.length === 1,
    'both members\' ephemeral channels to the relay',
    deadlineMs
  )
  return { port, origin, relay, phone }
}

export interface Stranger {
  ephemeral: Ephemeral
  /** Every ephemeral message the relay sent it. */
  received: Array<{ contentType: string; payload: Uint8Array }>
  /** True once its connection to the relay closed. */
  closed(): boolean
}

/**
 * A stranger: its own Noise key, a TCP connection to `relay` and the ephemeral protocol opened for
 * the relay's discovery key, with no membership proof. Built from the class the node runs (this
 * package does not depend on @hypha/ephemeral-ext directly); it never replicates anything.
 * Resolves once the relay has opened the stranger's channel (its third peer, after two members).
 */
export async function connectStranger(
  relay: HyphaNode,
  port: number,
  cleanups: Cleanups,
  options: { maxPayloadBytes?: number; deadlineMs?: number } = {}
): Promise<Stranger> {
  const EphemeralClass = relay.ephemeral.constructor as new (options: { discoveryKey: Uint8Array; maxPayloadBytes?: number }) => Ephemeral
  const ephemeral = new EphemeralClass({ discoveryKey: relay.discoveryKey, maxPayloadBytes: options.maxPayloadBytes })
  const received: Stranger['received'] = []
  ephemeral.on('message', (m) => received.push(m))
  const transport = tcpClient({ port, host: HOST, reconnect: false })
  let connected = false
  let closed = false
  await transport.start({
    topic: relay.topic,
    keyPair: createKeyPair(),
    onConnection: (stream) => {
      connected = true
      ;(stream as unknown as { once(e: string, f: () => void): void }).once('close', () => (closed = true))
      ephemeral.attach(stream)
    }
  })
  cleanups.push(async () => {
    ephemeral.close()
    await transport.stop()
  })
  await eventually(() => connected && ephemeral.peers.length === 1, 'the stranger to connect', options.deadlineMs)
  await eventually(() => relay.ephemeral.peers.filter((p) => p.opened).length === 3, "the relay to open the stranger's channel", options.deadlineMs)
  return { ephemeral, received, closed: () => closed }
}
