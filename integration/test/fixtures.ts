// Set-ups shared by the always-on tests: an account's two members connected only through an
// always-on relay, a raw connection to that relay (a stranger's, or a passphrase holder's), and
// numbered entries to write and check.
import { tcpClient, tcpServer } from '@hypha/transport-tcp'
import { expect } from 'vitest'
import b4a from 'b4a'
import { createKeyPair } from '@hypha/secure-channel'
import { autobaseOf } from '@hypha/node-core/debug'
import { freePort, rawSender } from '@hypha/test-utils'
import { memberGate, type HyphaNode, type HyphaNodeOptions } from '@hypha/node-core'
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
export async function membersThroughRelay(root: Uint8Array, cleanups: Cleanups, deadlineMs?: number, relayOptions: Partial<HyphaNodeOptions> = {}) {
  const port = await freePort()
  const dial = () => tcpClient({ port, host: HOST, reconnect: FAST })
  const origin = await startNode({ role: 'origin', rootSecret: root, transports: [dial()] }, cleanups)
  const relay = await startNode(
    { ...relayOptions, role: 'always-on', memberCredential: origin.memberCredential, transports: [tcpServer({ port, host: HOST })] } as HyphaNodeOptions,
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

export interface RawPeer {
  ephemeral: Ephemeral
  /** Every ephemeral message the relay sent it. */
  received: Array<{ contentType: string; payload: Uint8Array }>
  /** True once its connection to the relay closed. */
  closed(): boolean
  /**
   * Sends `payload` as a well-formed Protomux message on a channel of its own: what a stranger can
   * put on the wire when the relay opens none of its channels (the relay would hold them all).
   */
  sendRaw(payload: Uint8Array): void
}

/**
 * A peer on a raw connection to `relay` (TCP on 127.0.0.1, its own Noise key), speaking the
 * ephemeral protocol directly for the relay's discovery key; it never replicates anything.
 * With `memberKey` it first passes the membership gate with it (a passphrase holder writing its
 * own frames) and resolves once the relay opened its channel (its third peer, after two members);
 * without, it is a stranger that sends no proof, and resolves once connected.
 */
export async function connectRaw(
  relay: HyphaNode,
  port: number,
  cleanups: Cleanups,
  options: { memberKey?: Uint8Array; maxPayloadBytes?: number; deadlineMs?: number } = {}
): Promise<RawPeer> {
  const EphemeralClass = relay.ephemeral.constructor as new (options: { discoveryKey: Uint8Array; maxPayloadBytes?: number }) => Ephemeral
  const ephemeral = new EphemeralClass({ discoveryKey: relay.discoveryKey, maxPayloadBytes: options.maxPayloadBytes })
  const received: RawPeer['received'] = []
  ephemeral.on('message', (m) => received.push(m))
  const transport = tcpClient({ port, host: HOST, reconnect: false })
  let connection: any = null
  let closed = false
  await transport.start({
    topic: relay.topic,
    keyPair: createKeyPair(),
    onConnection: (stream) => {
      connection = stream
      ;(stream as unknown as { once(e: string, f: () => void): void }).once('close', () => (closed = true))
      if (options.memberKey) memberGate(stream, options.memberKey).then(() => ephemeral.attach(stream), () => {})
      else ephemeral.attach(stream)
    }
  })
  cleanups.push(async () => {
    ephemeral.close()
    await transport.stop()
  })
  await eventually(() => connection !== null, 'the raw peer to connect', options.deadlineMs)
  if (options.memberKey) {
    await eventually(() => ephemeral.peers.length === 1, "the raw peer's channel to open", options.deadlineMs)
    await eventually(() => relay.ephemeral.peers.filter((p) => p.opened).length === 3, "the relay to open the raw peer's channel", options.deadlineMs)
  }
  let send: ((payload: Uint8Array) => boolean) | null = null
  const sendRaw = (payload: Uint8Array) => {
    send ??= rawSender(connection)
    send(payload)
  }
  return { ephemeral, received, closed: () => closed, sendRaw }
}

const hex = (b: Uint8Array) => b4a.toString(b, 'hex')

/** Writes `count` entries `<prefix>000000`… with values `v0`…, in batches of `batch`. */
export async function writeEntries(node: HyphaNode, prefix: string, count: number, batch = 250): Promise<void> {
  for (let i = 0; i < count; i += batch) {
    const ops = []
    for (let j = i; j < Math.min(count, i + batch); j++) {
      ops.push({ type: 'put' as const, key: `${prefix}${String(j).padStart(6, '0')}`, value: `v${j}` })
    }
    await node.batch(ops)
  }
}

/** How many entries under `prefix` the node reads now (after an update). */
export async function count(node: HyphaNode, prefix: string): Promise<number> {
  await node.update()
  return (await node.list({ gte: prefix, lt: prefix + '\xff' })).length
}

/** Every entry `writeEntries` wrote under `prefix` is there exactly once with its value. */
export async function expectAll(node: HyphaNode, prefix: string, n: number): Promise<void> {
  const entries = await node.list({ gte: prefix, lt: prefix + '\xff' })
  expect(entries).toHaveLength(n)
  entries.forEach((e, i) => {
    expect(e.key).toBe(`${prefix}${String(i).padStart(6, '0')}`)
    expect(e.value).toBe(`v${i}`)
  })
}

/** The always-on node holds this writer's whole oplog as the writer has it now. */
export function holdsAll(alwaysOn: HyphaNode, writer: HyphaNode): boolean {
  const length = autobaseOf(writer).local.length as number
  const core = alwaysOn.seeded().find((c) => hex(c.key) === hex(writer.writerKey!))
  return core !== undefined && core.contiguousLength >= length
}
