// One file on purpose (over 400 lines): the one place the benchmarks share code, so each benchmark
// file stays its own set-up, runs and table.
// Helpers shared by the benchmarks: statistics, waits that fail with a named step, child processes
// (a relay, groups of peers) and light peers.

import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import b4a from 'b4a'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import { SecureChannel, createKeyPair } from '@hypha/secure-channel'
import { deriveAccountKeys, encodeMemberCredential, lookupProof, memberGate, writerCoreKey, type Transport, type TransportContext, type WebSocketConstructor } from '@hypha/node-core'
import { tcpClient, tcpServer } from '@hypha/transport-tcp'
import { webSocketClient } from '@hypha/transport-websocket'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { WebSocket as WsWebSocket } from 'ws'
import { createStore } from '@hypha/test-utils'
import os from 'node:os'

/** A benchmark's own check failed: it prints the reason and exits non-zero. */
export class VerificationError extends Error {}

/**
 * Runs a benchmark's main and exits: 0 when it resolves, 1 when it rejects (a failed verification
 * printed as one line, anything else with its stack).
 */
export function runBenchmark(main: () => Promise<unknown>, label = 'VERIFICATION FAILED'): void {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof VerificationError ? `${label}: ${err.message}` : err)
      process.exit(1)
    }
  )
}

/** How long one step may take before the benchmark fails naming it (a hang guard, not a measurement). */
export const STEP_TIMEOUT_MS = 60_000

/** Argon2id at its cheapest (t = 1, m = 64 KiB): the benchmarks measure everything but the KDF, and say so. */
export const BENCH_KDF = { iterations: 1, memoryKiB: 64 }

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Nearest-rank quantile, `q` from 0 to 1 (0.95 for p95). */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))]!
}

/** Polls `check` until it holds; throws a VerificationError naming `what` after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = STEP_TIMEOUT_MS
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new VerificationError(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** `promise`, or a VerificationError naming `what` after `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, what: string, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new VerificationError(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
    })
  ]).finally(() => clearTimeout(timer))
}

/** What {@link startTransportFor} needs of a HyphaNode. */
export interface TransportTarget {
  topic: Uint8Array
  noiseKeyPair: { publicKey: Uint8Array; secretKey: Uint8Array }
  addConnection(stream: any, info: { transport: string; isInitiator: boolean }): void
}

/**
 * Starts `transport` for an open node, as the node would for one of its own. For a node made before
 * the peer it dials exists (an origin, then an always-on node given its locator). Stop it yourself.
 */
export async function startTransportFor(node: TransportTarget, transport: {
  start(context: { topic: Uint8Array; keyPair: TransportTarget['noiseKeyPair']; onConnection: TransportTarget['addConnection'] }): Promise<void>
}): Promise<void> {
  await transport.start({ topic: node.topic, keyPair: node.noiseKeyPair, onConnection: node.addConnection })
}

// ================================================================================================
// Child processes: a relay (relay-child.ts) and groups of peers run apart, so their memory and CPU
// are their own. Parent and child speak over the fork IPC channel: the child sends `{ id: 0, ... }`
// when it is ready; the parent's requests carry an id the answer repeats; a message without an id
// is an event (progress).
// ================================================================================================


/** Wall-clock ms with sub-ms precision, comparable between processes on one machine (a shared clock). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now()
}

/** A full GC (same as node --expose-gc), before a memory reading. */
export function fullGc(): void {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  gc()
  gc()
}

export interface MemoryReading {
  rss: number
  heapUsed: number
  external: number
  arrayBuffers: number
}

/** process.memoryUsage() after a full GC. */
export async function memoryAfterGc(): Promise<MemoryReading> {
  await new Promise((r) => setTimeout(r, 100))
  fullGc()
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
}

/**
 * Samples RSS and the V8 heap every `everyMs` (no GC): the peak since the last reset, and the
 * process's lifetime peak RSS from the kernel (resourceUsage().maxRSS, which catches what falls
 * between samples).
 */
export function peakSampler(everyMs = 50) {
  let peakRss = 0
  let peakHeap = 0
  const sample = () => {
    const m = process.memoryUsage()
    if (m.rss > peakRss) peakRss = m.rss
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed
  }
  const timer = setInterval(sample, everyMs)
  timer.unref()
  return {
    read(reset: boolean) {
      sample()
      const out = { peakRss, peakHeap, maxRss: process.resourceUsage().maxRSS * 1024 }
      if (reset) ((peakRss = 0), (peakHeap = 0), sample())
      return out
    }
  }
}

/**
 * The npm package a module path belongs to: the innermost node_modules/<name>/ (scoped names
 * kept whole), `@hypha/<dir>` for packages/<dir>/ (its vendor/ folder labelled as the vendored
 * engine), null for anything else. Used to sum bundle bytes and profile samples per package.
 */
export function packageOf(path: string): string | null {
  const at = path.lastIndexOf('node_modules/')
  if (at !== -1) {
    const parts = path.slice(at + 'node_modules/'.length).split('/')
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
  }
  const ours = /packages\/([^/]+)\//.exec(path)
  if (ours) return `@hypha/${ours[1]}${path.includes('/vendor/') ? ' (vendored engine)' : ''}`
  return null
}

/** The CPU time this process has used, ms. */
export function cpuMs(): number {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

/** The parent's handle on a forked child (see above). */
export class Child {
  private seq = 0
  private readonly waiting = new Map<number, (msg: any) => void>()
  private exited = false
  /** Called with each message that has no id (events such as progress). */
  onEvent: (msg: any) => void = () => {}
  ready: any = null

  private constructor(readonly process: ChildProcess) {
    process.on('message', (msg: any) => {
      if (msg.id === undefined) return this.onEvent(msg)
      const resolve = this.waiting.get(msg.id)
      this.waiting.delete(msg.id)
      resolve?.(msg)
    })
    process.once('exit', () => (this.exited = true))
  }

  /** Forks `file` (a compiled benchmark) with `args`; resolves once the child has said it is ready. */
  static async fork(file: string, args: string[], env: Record<string, string>, what: string): Promise<Child> {
    const proc = fork(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const child = new Child(proc)
    child.ready = await withTimeout(
      new Promise<any>((resolve, reject) => {
        child.waiting.set(0, resolve)
        proc.once('exit', (code) => reject(new VerificationError(`${what}: the process exited (${code})`)))
      }),
      `${what} to start`
    )
    return child
  }

  ask(type: string, extra: Record<string, unknown> = {}, timeoutMs = STEP_TIMEOUT_MS): Promise<any> {
    const id = ++this.seq
    return withTimeout(
      new Promise((resolve) => {
        this.waiting.set(id, resolve)
        this.process.send({ ...extra, id, type })
      }),
      `a child process to answer '${type}'`,
      timeoutMs
    )
  }

  /** Asks the child to close ('close') and waits for it to exit (kills it if it does not answer). */
  async close(): Promise<void> {
    if (this.exited) return
    const exited = new Promise((resolve) => this.process.once('exit', resolve))
    await this.ask('close', {}, 20_000).catch(() => this.process.kill())
    await exited
  }
}

/**
 * The child's side: answers each request with its handler's result (an object), sends `ready` as
 * message 0. 'close' runs its handler, answers and exits. The child exits if the parent goes.
 */
export function serveParent(handlers: Record<string, (msg: any) => unknown>, ready: Record<string, unknown>): void {
  const send = (msg: unknown) => process.send!(msg)
  process.on('message', (msg: { id: number; type: string }) => {
    void (async () => {
      const handler = handlers[msg.type]
      if (!handler) throw new Error(`unknown request '${msg.type}'`)
      const result = (await handler(msg)) ?? {}
      send({ ...(result as object), id: msg.id })
      if (msg.type === 'close') setTimeout(() => process.exit(0), 10)
    })().catch((err) => {
      console.error('child process:', err)
      process.exit(1)
    })
  })
  process.on('disconnect', () => process.exit(0))
  send({ ...ready, id: 0 })
}

/** Sends an event (no id) to the parent. */
export function tellParent(msg: Record<string, unknown>): void {
  process.send!(msg)
}

/** The compiled file of a benchmark module (for forking it). */
export function compiledPath(importMetaUrl: string): string {
  return fileURLToPath(importMetaUrl)
}

// ================================================================================================
// Keys, transports and light peers
// ================================================================================================

export type Kind = 'tcp' | 'ws'
export const WebSocket = WsWebSocket as unknown as WebSocketConstructor
export const noop = () => {}

/** An account's keys for light peers, as hex so they cross process boundaries. */
export interface BenchKeys {
  channelKey: string
  memberKey: string
  /** What an always-on node is given. */
  memberCredential: string
}

/**
 * Keys of an account made from `rootSecret`, with a database key made the way an origin makes it
 * (from a random key pair): for light peers and a relay, where no origin runs.
 */
export function lightAccountKeys(rootSecret: Uint8Array): BenchKeys {
  const account = deriveAccountKeys(rootSecret)
  const databaseKey = writerCoreKey(createKeyPair().publicKey)
  const memberCredential = encodeMemberCredential({
    topic: account.lookupTopic,
    databaseKey,
    proof: lookupProof(account.lookupKey, databaseKey),
    memberKey: account.memberKey
  })
  return {
    channelKey: b4a.toString(account.channelKey, 'hex'),
    memberKey: b4a.toString(account.memberKey, 'hex'),
    memberCredential: b4a.toString(memberCredential, 'hex')
  }
}

export function listener(kind: Kind): Transport & { port: number | null } {
  return kind === 'tcp' ? tcpServer({ port: 0 }) : webSocketServer({ port: 0 })
}

export function dialler(kind: Kind, port: number, reconnect: false | { initialDelayMs: number; maxDelayMs: number } = false): Transport {
  return kind === 'tcp'
    ? tcpClient({ port, reconnect })
    : webSocketClient({ url: `ws://127.0.0.1:${port}`, WebSocket, reconnect })
}

/**
 * A light peer: a Corestore on random-access-memory + an EphemeralExtension on the database's
 * discovery key + a keyed SecureChannel (`relay: false`), on `transport`. Not a HyphaNode: hundreds
 * of Autobases would measure Autobase, not the relay.
 */
export interface LightPeer {
  index: number
  store: any
  ephemeral: EphemeralExtension
  channel: SecureChannel
  transport: Transport
  keyPair: { publicKey: Uint8Array; secretKey: Uint8Array }
}

/** See makeLightPeer's `membership`. */
export type Membership = 'gate' | 'channel' | 'none'

export async function makeLightPeer(options: {
  index: number
  discoveryKey: Uint8Array
  keys: BenchKeys
  transport: Transport
  /**
   * How the peer proves membership: 'gate' (node-core's membership gate on the connection, then no
   * per-channel proof: what a HyphaNode does, and what a HyphaNode relay requires), 'channel' (the
   * secure channel's own per-connection proof) or 'none'. Default 'gate'.
   */
  membership?: Membership
  onMessage?: (peer: LightPeer, payload: Uint8Array) => void
}): Promise<LightPeer> {
  const { index, discoveryKey, keys, transport } = options
  const membership = options.membership ?? 'gate'
  const { store } = await createStore()
  const keyPair = createKeyPair()
  const ephemeral = new EphemeralExtension({ discoveryKey })
  const channel = new SecureChannel({
    ephemeral,
    channelKey: b4a.from(keys.channelKey, 'hex'),
    memberKey: b4a.from(keys.memberKey, 'hex'),
    keyPair,
    relay: false,
    requireMemberProof: membership === 'channel'
  })
  const peer: LightPeer = { index, store, ephemeral, channel, transport, keyPair }
  const onMessage = options.onMessage
  if (onMessage) channel.on('message', ({ payload }) => onMessage(peer, payload))
  const context: TransportContext = {
    // TCP and WebSocket ignore the topic.
    topic: discoveryKey,
    keyPair,
    onConnection: (stream) => {
      stream.on('error', noop)
      const attach = () => {
        store.replicate(stream)
        ephemeral.attach(stream)
      }
      if (membership === 'gate') memberGate(stream, b4a.from(keys.memberKey, 'hex')).then(attach, noop)
      else attach()
    }
  }
  await transport.start(context)
  return peer
}

export async function closeLightPeer(peer: LightPeer): Promise<void> {
  await peer.transport.stop()
  peer.channel.close()
  peer.ephemeral.close()
  await peer.store.close()
}

/** Envelopes a channel (or several) rejected, all reasons. */
export function rejectedCount(channels: Array<{ stats: { rejected: Record<string, number> } }>): number {
  let n = 0
  for (const c of channels) for (const v of Object.values(c.stats.rejected)) n += v
  return n
}

// ================================================================================================
// The relay in its own process (relay-child.ts)
// ================================================================================================

/**
 * What relays: 'node' is the real always-on HyphaNode (membership proof per connection, member tag
 * and signature per envelope); 'proof' and 'open' are a light relay (Corestore + ephemeral + a
 * relay-only SecureChannel) with `requireMemberProof` true / false; 'raw' forwards every secure
 * channel frame to every other connection with no check at all.
 */
export type RelayKind = 'node' | 'proof' | 'open' | 'raw'

export interface RelayState {
  peerCount: number
  ephemeralPeers: number
  stats: { received: number; relayed: number; delivered: number; rejected: Record<string, number>; droppedPeers: number; provenPeers: number; forwardLimited: number }
  /** Connections the relay's channel closed for abuse, by reason and error code. */
  drops: Record<string, number>
}

export class RelayProcess {
  private constructor(readonly child: Child, readonly port: number, readonly discoveryKey: Uint8Array) {}

  static async start(options: { kind: Kind; relay: RelayKind; memberCredential: string; discoveryKey?: Uint8Array; memberKey?: string }): Promise<RelayProcess> {
    const file = fileURLToPath(new URL('./relay-child.js', import.meta.url))
    const child = await Child.fork(file, [], {
      RELAY_TRANSPORT: options.kind,
      RELAY_KIND: options.relay,
      RELAY_MEMBER_CREDENTIAL: options.memberCredential,
      RELAY_MEMBER_KEY: options.memberKey ?? '',
      RELAY_DISCOVERY_KEY: options.discoveryKey ? b4a.toString(options.discoveryKey, 'hex') : ''
    }, 'the relay process')
    return new RelayProcess(child, child.ready.port, b4a.from(child.ready.discoveryKey, 'hex'))
  }

  async memory(): Promise<MemoryReading> {
    return (await this.child.ask('memory')).memory
  }

  async cpuMs(): Promise<number> {
    return (await this.child.ask('cpu')).cpuMs
  }

  async state(): Promise<RelayState> {
    return this.child.ask('state')
  }

  /** Peak RSS and heap since the last reset (sampled every 50 ms) and the lifetime maxRSS. */
  async peak(reset: boolean): Promise<{ peakRss: number; peakHeap: number; maxRss: number }> {
    return this.child.ask('peak', { reset })
  }

  close(): Promise<void> {
    return this.child.close()
  }
}

/** Statistics, lists of ms. */
export function p50p99(values: number[]): { p50: number; p99: number } {
  return { p50: quantile(values, 0.5), p99: quantile(values, 0.99) }
}

export function machineLine(): string {
  return `${osInfo()}, node ${process.version}, ${new Date().toISOString()}`
}

function osInfo(): string {
  return `machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`
}
