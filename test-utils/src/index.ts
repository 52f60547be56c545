import net from 'node:net'
import { once, type EventEmitter } from 'node:events'
import Corestore from 'corestore'
import RAM from 'random-access-memory'
import NoiseSecretStream from '@hyperswarm/secret-stream'

/** A replication stream as returned by `store.replicate(...)`: what the ephemeral channel attaches to. */
export type ReplicationStream = any

export interface Connection {
  /** The initiator's replication stream. */
  a: ReplicationStream
  /** The responder's replication stream. */
  b: ReplicationStream
  /** Ends the connection on both sides. */
  destroy(): void
}

/** An in-memory Corestore with one core, so a store has something real to replicate. */
export async function createStore(): Promise<{ store: any; core: any }> {
  const store = new Corestore(RAM.reusable())
  const core = store.get({ name: 'db' })
  await core.ready()
  return { store, core }
}

/** A replication connection between two stores over an in-process stream pair. */
export function connectInProcess(storeA: any, storeB: any): Connection {
  const a = storeA.replicate(true)
  const b = storeB.replicate(false)
  a.pipe(b).pipe(a)
  a.on('error', () => {})
  b.on('error', () => {})
  return { a, b, destroy: () => { a.destroy(); b.destroy() } }
}

/** A replication connection between two stores over a real TCP socket on 127.0.0.1, Noise-encrypted. */
export async function connectTcp(storeA: any, storeB: any): Promise<Connection> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const accepted = once(server, 'connection')
  const socketA = net.connect(port, '127.0.0.1')
  const [socketB] = (await accepted) as [net.Socket]
  server.close()
  const a = storeA.replicate(new NoiseSecretStream(true, socketA))
  const b = storeB.replicate(new NoiseSecretStream(false, socketB))
  a.on('error', () => {})
  b.on('error', () => {})
  return {
    a,
    b,
    destroy: () => {
      a.destroy()
      b.destroy()
      socketA.destroy()
      socketB.destroy()
    }
  }
}

/** Resolves with the arguments of the next `event` whose arguments satisfy `predicate`. */
export function nextEvent<T extends unknown[] = any[]>(
  emitter: EventEmitter | { on: Function; off: Function },
  event: string,
  predicate: (...args: T) => boolean = () => true,
  timeoutMs = 10_000
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`))
    }, timeoutMs)
    const listener = (...args: T) => {
      if (!predicate(...args)) return
      clearTimeout(timer)
      emitter.off(event, listener)
      resolve(args)
    }
    emitter.on(event, listener)
  })
}

/** Collects every emission of `event` into an array (for asserting what did and did not arrive). */
export function collect<T = any>(emitter: { on: Function }, event: string): T[] {
  const seen: T[] = []
  emitter.on(event, (value: T) => seen.push(value))
  return seen
}

/** Waits until `condition()` (sync or async) is true, polling; rejects after `timeoutMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition'
): Promise<void> {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Polls `condition()` (sync or async) every 10 ms until it holds; rejects after `timeoutMs` (a deadline, not a timing threshold). */
export async function eventually(condition: () => Promise<boolean> | boolean, what = 'condition', timeoutMs = 15_000): Promise<void> {
  await until(condition, timeoutMs, what)
}

/** Lets already-queued I/O and timers run, so "nothing arrived" assertions are meaningful. */
export function settle(ms = 50): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Anything that takes encrypted connections the way a HyphaNode does. */
export interface ConnectableNode {
  noiseKeyPair: { publicKey: Uint8Array; secretKey: Uint8Array }
  addConnection(stream: any, info: { transport: string; isInitiator: boolean }): void
}

/** Connects two nodes with real Noise streams over an in-process pipe; returns a disconnect. */
export function connectNodes(x: ConnectableNode, y: ConnectableNode): () => void {
  const a = new NoiseSecretStream(true, undefined, { keyPair: x.noiseKeyPair })
  const b = new NoiseSecretStream(false, undefined, { keyPair: y.noiseKeyPair })
  a.rawStream.pipe(b.rawStream).pipe(a.rawStream)
  a.on('error', () => {})
  b.on('error', () => {})
  x.addConnection(a, { transport: 'in-process', isInitiator: true })
  y.addConnection(b, { transport: 'in-process', isInitiator: false })
  return () => {
    a.destroy()
    b.destroy()
  }
}

/**
 * A list of clean-ups run in reverse order after each test: pass vitest's `afterEach`.
 * Push a clean-up as soon as something is opened, so a failing test still closes it.
 */
export function cleanupsAfterEach(afterEach: (fn: () => Promise<void>) => void): Array<() => unknown> {
  const list: Array<() => unknown> = []
  afterEach(async () => {
    while (list.length) await list.pop()!()
  })
  return list
}

/** A free TCP port on 127.0.0.1, for a server that must come back on the same port. */
export async function freePort(): Promise<number> {
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as net.AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Raw bytes as a compact-encoding (the whole rest of a message). */
const rawBytes = {
  preencode(state: { end: number }, bytes: Uint8Array) {
    state.end += bytes.byteLength
  },
  encode(state: { start: number; buffer: Uint8Array }, bytes: Uint8Array) {
    state.buffer.set(bytes, state.start)
    state.start += bytes.byteLength
  },
  decode(state: { start: number; end: number; buffer: Uint8Array }) {
    const bytes = state.buffer.subarray(state.start, state.end)
    state.start = state.end
    return bytes
  }
}

/**
 * A sender of well-formed Protomux messages on a channel of its own (protocol `raw/junk`), on a
 * Noise stream that already carries a Protomux (secret-stream keeps it as `userData`, e.g. once an
 * ephemeral channel was attached): what a peer can put on the wire when the other side opens none
 * of its channels (a stranger at a membership gate). The other side rejects such a channel, and
 * Protomux then drops what is sent on it: a rejected channel is opened again (a new id), so every
 * payload goes on the wire. Returns false once the stream is congested.
 */
export function rawSender(stream: { userData: any }): (payload: Uint8Array) => boolean {
  let opened = 0
  let channel: any = null
  let message: any = null
  return (payload) => {
    if (channel === null || channel.closed) {
      channel = stream.userData.createChannel({ protocol: 'raw/junk', id: new TextEncoder().encode(String(opened++)) })
      message = channel.addMessage({ encoding: rawBytes })
      channel.open()
    }
    return message.send(payload)
  }
}
