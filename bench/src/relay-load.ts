// One file on purpose (over 400 lines): the relay child process is this same file run with
// `--relay`, and a benchmark's set-up, runs and printed table read best top to bottom.
// Load on an always-on relay: one always-on HyphaNode (tcpServer or webSocketServer) relays
// the secure channel among N connected peers (BENCH_PEERS, default 100 and 500), once over TCP and
// once over WebSocket, all on 127.0.0.1.
//
// The relay runs in a child process (this file with `--relay`), so its memory is its own: it reports
// process.memoryUsage() (after a full GC) before and after the peers connect, and its CPU time.
// The peers run in this process. They are light nodes, not HyphaNodes (500 Autobases would measure
// Autobase, not the relay): each is a Corestore on random-access-memory + an EphemeralExtension on
// the database's discovery key + a keyed SecureChannel (channel and member keys derived from the same root
// secret; `relay: false`, so only the always-on node relays), dialling the relay with the real
// transports (tcpClient / webSocketClient with ws's WebSocket) through a TransportContext whose
// onConnection does `store.replicate(stream)` and `ephemeral.attach(stream)`.
//
// Measured per case:
//   - throughput: BENCH_SENDERS peers (4) take turns broadcasting BENCH_MESSAGES (500) messages of 256
//     bytes; every other peer must receive every message (verified per message and per peer: each
//     message reaches exactly N-1 peers, each peer gets every message it did not send, no rejections,
//     the relay relayed each once and opened none). At most BENCH_WINDOW (2000) deliveries in flight.
//     msg/s = messages / time from the first send to the last delivery; deliveries/s = msg/s × (N-1).
//   - latency: the sender's performance.now() inside the payload vs the receiver's (same process, same
//     clock), p50/p99 over all deliveries, under that load and for BENCH_PINGS (20) messages sent one
//     at a time (each waits until all N-1 peers have it).
//   - relay memory per peer: (RSS after − RSS before) / N and the same for the V8 heap.
// Baseline, same run: the same messages over a direct connection between two light peers (one
// listens with tcpServer / webSocketServer, the other dials), no relay.
// Prints; no thresholds. Exits non-zero if any verification fails.
//
//   npx tsc -b bench && node bench/dist/relay-load.js
//   env: BENCH_PEERS ("100,500"), BENCH_MESSAGES (500), BENCH_SENDERS (4), BENCH_WINDOW (2000),
//        BENCH_PINGS (20), BENCH_TRANSPORTS ("tcp,ws")
//
// File descriptors: the relay holds one socket per peer and so does this process (per peer: one
// socket here, one in the child). Sizes that do not fit the soft `ulimit -n` are skipped and said so.
import os from 'node:os'
import fs from 'node:fs'
import v8 from 'node:v8'
import vm from 'node:vm'
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { WebSocket as WsWebSocket } from 'ws'
import b4a from 'b4a'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import { SecureChannel, createKeyPair } from '@hypha/secure-channel'
import {
  HyphaNode,
  deriveAccountKeys,
  encodeMemberCredential,
  lookupProof,
  writerCoreKey,
  type Transport,
  type TransportContext,
  type WebSocketConstructor
} from '@hypha/node-core'
import { deriveRootSecret, generatePassphrase } from '@hypha/auth'
import { webSocketClient } from '@hypha/transport-websocket'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { tcpClient, tcpServer } from '@hypha/transport-tcp'
import { createStore } from '@hypha/test-utils'
import { STEP_TIMEOUT_MS, VerificationError, quantile, until, withTimeout } from './common.js'

const WebSocket = WsWebSocket as unknown as WebSocketConstructor

const MESSAGE_BYTES = 256
const PEERS = (process.env.BENCH_PEERS ?? '100,500').split(',').map((s) => Number(s.trim())).filter((n) => n >= 2)
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 500)
const SENDERS = Number(process.env.BENCH_SENDERS ?? 4)
const WINDOW = Number(process.env.BENCH_WINDOW ?? 2000)
const PINGS = Number(process.env.BENCH_PINGS ?? 20)
const TRANSPORTS = (process.env.BENCH_TRANSPORTS ?? 'tcp,ws').split(',').map((s) => s.trim()) as Kind[]
const KDF = { iterations: 1, memoryKiB: 64 } // not measured

type Kind = 'tcp' | 'ws'

// A full GC before each memory reading (same as node --expose-gc).
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const noop = () => {}

// ================================================================================================
// The relay (child process)
// ================================================================================================

interface RelayMemory {
  rss: number
  heapUsed: number
  external: number
  arrayBuffers: number
}

type ToRelay = { id: number; type: 'memory' | 'state' | 'cpu' | 'close' }

async function relayMain(): Promise<void> {
  const kind = process.env.RELAY_TRANSPORT as Kind
  const memberCredential = process.env.RELAY_MEMBER_CREDENTIAL!
  const server = kind === 'tcp' ? tcpServer({ port: 0 }) : webSocketServer({ port: 0 })
  const node = new HyphaNode({ role: 'always-on', memberCredential, transports: [server] })
  await node.ready()
  const send = (msg: unknown) => process.send!(msg)
  const memory = async (): Promise<RelayMemory> => {
    await new Promise((r) => setTimeout(r, 100))
    gc()
    gc()
    const m = process.memoryUsage()
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
  }
  process.on('message', (msg: ToRelay) => {
    void (async () => {
      if (msg.type === 'memory') send({ id: msg.id, memory: await memory() })
      else if (msg.type === 'cpu') {
        const c = process.cpuUsage()
        send({ id: msg.id, cpuMs: (c.user + c.system) / 1000 })
      } else if (msg.type === 'state') {
        send({
          id: msg.id,
          peerCount: node.peerCount,
          ephemeralPeers: node.ephemeral.peers.length,
          stats: node.channel.stats
        })
      } else if (msg.type === 'close') {
        await node.close()
        send({ id: msg.id })
        process.exit(0)
      }
    })()
  })
  process.on('disconnect', () => process.exit(0))
  send({ id: 0, port: server.port, discoveryKey: b4a.toString(node.discoveryKey, 'hex') })
}

// ---- the parent's handle on the relay ------------------------------------------------------------

class Relay {
  private seq = 0
  private readonly waiting = new Map<number, (msg: any) => void>()
  port = 0
  discoveryKey: Uint8Array = new Uint8Array(32)

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (msg: any) => {
      const resolve = this.waiting.get(msg.id)
      this.waiting.delete(msg.id)
      resolve?.(msg)
    })
  }

  static async start(kind: Kind, memberCredential: string): Promise<Relay> {
    const child = fork(fileURLToPath(import.meta.url), ['--relay'], {
      env: { ...process.env, RELAY_TRANSPORT: kind, RELAY_MEMBER_CREDENTIAL: memberCredential },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    const relay = new Relay(child)
    const ready = await withTimeout(
      new Promise<any>((resolve, reject) => {
        relay.waiting.set(0, resolve)
        child.once('exit', (code) => reject(new VerificationError(`the relay process exited (${code})`)))
      }),
      'the relay process to start'
    )
    relay.port = ready.port
    relay.discoveryKey = b4a.from(ready.discoveryKey, 'hex')
    return relay
  }

  ask(type: ToRelay['type']): Promise<any> {
    const id = ++this.seq
    return withTimeout(
      new Promise((resolve) => {
        this.waiting.set(id, resolve)
        this.child.send({ id, type })
      }),
      `the relay to answer '${type}'`
    )
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    await this.ask('close').catch(() => this.child.kill())
    await exited
  }
}

// ================================================================================================
// Light peers (this process)
// ================================================================================================

interface Peer {
  index: number
  store: any
  ephemeral: EphemeralExtension
  channel: SecureChannel
  transport: Transport
}

/** Where deliveries of the current run are counted. */
interface Run {
  count: number
  /** Deliveries expected per message (N-1, or 1 for the direct pair). */
  fanOut: number
  perMessage: Uint16Array
  perPeer: Uint32Array
  /** Messages sent by each peer. */
  sentBy: Uint32Array
  latencies: Float64Array
  deliveries: number
  /** Deliveries of messages outside this run (must stay 0). */
  stray: number
  target: number
  reached: (() => void) | null
}

let run: Run | null = null

function onDelivery(peer: Peer, payload: Uint8Array): void {
  const now = performance.now()
  const r = run
  if (!r || payload.byteLength !== MESSAGE_BYTES) {
    if (r) r.stray++
    return
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  const seq = view.getUint32(0)
  if (seq >= r.count) {
    r.stray++
    return
  }
  r.latencies[r.deliveries] = now - view.getFloat64(4)
  r.perMessage[seq]!++
  r.perPeer[peer.index]!++
  r.deliveries++
  if (r.reached && r.deliveries >= r.target) {
    const resolve = r.reached
    r.reached = null
    resolve()
  }
}

async function makePeer(
  index: number,
  discoveryKey: Uint8Array,
  keys: Keys,
  transport: Transport
): Promise<Peer> {
  const { store } = await createStore()
  const keyPair = createKeyPair()
  const ephemeral = new EphemeralExtension({ discoveryKey })
  const channel = new SecureChannel({ ephemeral, channelKey: keys.channelKey, memberKey: keys.memberKey, keyPair, relay: false })
  const peer: Peer = { index, store, ephemeral, channel, transport }
  channel.on('message', ({ payload }) => onDelivery(peer, payload))
  const context: TransportContext = {
    // TCP and WebSocket ignore the topic.
    topic: discoveryKey,
    keyPair,
    onConnection: (stream) => {
      stream.on('error', noop)
      store.replicate(stream)
      ephemeral.attach(stream)
    }
  }
  await transport.start(context)
  return peer
}

async function closePeer(peer: Peer): Promise<void> {
  await peer.transport.stop()
  peer.channel.close()
  peer.ephemeral.close()
  await peer.store.close()
}

function rejectedCount(peers: Peer[]): number {
  let n = 0
  for (const p of peers) for (const v of Object.values(p.channel.stats.rejected)) n += v
  return n
}

/**
 * `senders` take turns sending `count` messages; at most `window` deliveries are outstanding (sending
 * resumes when half have arrived; window = fan-out: one message at a time). Verifies every delivery.
 */
async function blast(peers: Peer[], senders: Peer[], count: number, window: number, what: string) {
  const fanOut = peers.length - 1
  const r: Run = {
    count,
    fanOut,
    perMessage: new Uint16Array(count),
    perPeer: new Uint32Array(peers.length),
    sentBy: new Uint32Array(peers.length),
    latencies: new Float64Array(count * fanOut),
    deliveries: 0,
    stray: 0,
    target: 0,
    reached: null
  }
  const rejectedBefore = rejectedCount(peers)
  run = r
  const limit = Math.max(window, fanOut)
  const lowWater = limit === fanOut ? 0 : Math.floor(limit / 2)
  const waitFor = (target: number) =>
    r.deliveries >= target
      ? Promise.resolve()
      : withTimeout(new Promise<void>((resolve) => ((r.target = target), (r.reached = resolve))), `${what}: ${target} deliveries (have ${r.deliveries})`)

  const payload = b4a.alloc(MESSAGE_BYTES, 0x61)
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  const start = performance.now()
  for (let seq = 0; seq < count; seq++) {
    if ((seq + 1) * fanOut - r.deliveries > limit) await waitFor(seq * fanOut - lowWater)
    const sender = senders[seq % senders.length]!
    view.setUint32(0, seq)
    view.setFloat64(4, performance.now())
    const { peers: handedTo } = sender.channel.send(payload)
    if (handedTo !== 1) throw new VerificationError(`${what}: a sender has ${handedTo} connections, expected 1`)
    r.sentBy[sender.index]!++
  }
  await waitFor(count * fanOut)
  const ms = performance.now() - start
  // Anything extra (duplicates, strays) would show up now.
  await new Promise((resolve) => setTimeout(resolve, 200))
  run = null

  // ---- verification ------------------------------------------------------------------------------
  if (r.deliveries !== count * fanOut) throw new VerificationError(`${what}: ${r.deliveries} deliveries, expected ${count * fanOut}`)
  for (let i = 0; i < count; i++) {
    if (r.perMessage[i] !== fanOut) throw new VerificationError(`${what}: message ${i} reached ${r.perMessage[i]} peers, expected ${fanOut}`)
  }
  for (const p of peers) {
    const expected = count - r.sentBy[p.index]!
    if (r.perPeer[p.index] !== expected) throw new VerificationError(`${what}: peer ${p.index} got ${r.perPeer[p.index]} messages, expected ${expected}`)
  }
  if (r.stray !== 0) throw new VerificationError(`${what}: ${r.stray} unexpected messages`)
  const rejected = rejectedCount(peers) - rejectedBefore
  if (rejected !== 0) throw new VerificationError(`${what}: ${rejected} envelopes rejected by peers`)
  return { ms, latencies: Array.from(r.latencies) }
}

function dialler(kind: Kind, port: number): Transport {
  return kind === 'tcp'
    ? tcpClient({ port, reconnect: false })
    : webSocketClient({ url: `ws://127.0.0.1:${port}`, WebSocket, reconnect: false })
}

async function waitOpen(peers: Peer[], what: string, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  await until(() => peers.every((p) => p.ephemeral.peers.length === 1), what, timeoutMs)
}

// ================================================================================================
// Cases
// ================================================================================================

interface Result {
  kind: Kind
  peers: number
  msgPerS: number
  deliveriesPerS: number
  loadP50: number
  loadP99: number
  pingP50: number
  pingP99: number
  connectMs?: number
  rssPerPeer?: number
  heapPerPeer?: number
  externalPerPeer?: number
  relayCpuPct?: number
  /** Relay CPU time per delivery (µs): what one delivery costs the relay alone. */
  relayUsPerDelivery?: number
  parentCpuPct: number
}

interface Keys {
  databaseKey: Uint8Array
  channelKey: Uint8Array
  memberKey: Uint8Array
  /** What the relay is given (hex). */
  memberCredential: string
}

async function direct(kind: Kind, keys: Keys, discoveryKey: Uint8Array): Promise<Result> {
  const server = kind === 'tcp' ? tcpServer({ port: 0 }) : webSocketServer({ port: 0 })
  const a = await makePeer(0, discoveryKey, keys, server)
  const b = await makePeer(1, discoveryKey, keys, dialler(kind, server.port!))
  await waitOpen([a, b], `${kind} direct: the pair to connect`)
  const pings = await blast([a, b], [a], PINGS, 1, `${kind} direct, one at a time`)
  const cpu0 = process.cpuUsage()
  const load = await blast([a, b], [a], MESSAGES, WINDOW, `${kind} direct, load`)
  const cpu = process.cpuUsage(cpu0)
  await closePeer(b)
  await closePeer(a)
  return {
    kind,
    peers: 2,
    msgPerS: MESSAGES / (load.ms / 1000),
    deliveriesPerS: MESSAGES / (load.ms / 1000),
    loadP50: quantile(load.latencies, 0.5),
    loadP99: quantile(load.latencies, 0.99),
    pingP50: quantile(pings.latencies, 0.5),
    pingP99: quantile(pings.latencies, 0.99),
    parentCpuPct: (100 * (cpu.user + cpu.system)) / 1000 / load.ms
  }
}

async function relayed(kind: Kind, n: number, keys: Keys): Promise<Result> {
  const relay = await Relay.start(kind, keys.memberCredential)
  const peers: Peer[] = []
  try {
    const before: RelayMemory = (await relay.ask('memory')).memory
    const connectStart = performance.now()
    // Dial in batches of 50 (a listen backlog, and 500 Noise handshakes at once, are no test of relaying).
    for (let i = 0; i < n; i += 50) {
      const batch: Promise<Peer>[] = []
      for (let j = i; j < Math.min(n, i + 50); j++) batch.push(makePeer(j, relay.discoveryKey, keys, dialler(kind, relay.port)))
      peers.push(...(await Promise.all(batch)))
      await waitOpen(peers, `${kind} relay: peers ${i}–${i + batch.length - 1} to connect`)
    }
    const connectMs = performance.now() - connectStart
    const state = await relay.ask('state')
    if (state.peerCount !== n || state.ephemeralPeers !== n) {
      throw new VerificationError(`${kind} relay: the relay has ${state.peerCount} connections (${state.ephemeralPeers} open channels), expected ${n}`)
    }
    const after: RelayMemory = (await relay.ask('memory')).memory

    const senders = peers.slice(0, Math.min(SENDERS, n))
    const pings = await blast(peers, senders.slice(0, 1), PINGS, n - 1, `${kind} relay ×${n}, one at a time`)
    const relayCpu0: number = (await relay.ask('cpu')).cpuMs
    const cpu0 = process.cpuUsage()
    const load = await blast(peers, senders, MESSAGES, WINDOW, `${kind} relay ×${n}, load`)
    const cpu = process.cpuUsage(cpu0)
    const relayCpuMs: number = (await relay.ask('cpu')).cpuMs - relayCpu0

    const end = await relay.ask('state')
    const stats = end.stats as { relayed: number; delivered: number; rejected: Record<string, number> }
    const relayRejected = Object.values(stats.rejected).reduce((x, y) => x + y, 0)
    if (stats.relayed !== PINGS + MESSAGES) throw new VerificationError(`${kind} relay ×${n}: relayed ${stats.relayed} envelopes, expected ${PINGS + MESSAGES}`)
    if (stats.delivered !== 0) throw new VerificationError(`${kind} relay ×${n}: the relay opened ${stats.delivered} messages`)
    if (relayRejected !== 0) throw new VerificationError(`${kind} relay ×${n}: the relay rejected ${relayRejected} envelopes`)
    if (end.peerCount !== n) throw new VerificationError(`${kind} relay ×${n}: ${n - end.peerCount} peers dropped during the run`)

    const msgPerS = MESSAGES / (load.ms / 1000)
    return {
      kind,
      peers: n,
      msgPerS,
      deliveriesPerS: msgPerS * (n - 1),
      loadP50: quantile(load.latencies, 0.5),
      loadP99: quantile(load.latencies, 0.99),
      pingP50: quantile(pings.latencies, 0.5),
      pingP99: quantile(pings.latencies, 0.99),
      connectMs,
      rssPerPeer: (after.rss - before.rss) / n,
      heapPerPeer: (after.heapUsed - before.heapUsed) / n,
      externalPerPeer: (after.external - before.external) / n,
      relayCpuPct: (100 * relayCpuMs) / load.ms,
      relayUsPerDelivery: (1000 * relayCpuMs) / (MESSAGES * (n - 1)),
      parentCpuPct: (100 * (cpu.user + cpu.system)) / 1000 / load.ms
    }
  } finally {
    for (const p of peers) await closePeer(p)
    await relay.close()
  }
}

// ---- helpers -------------------------------------------------------------------------------------

/** The soft limit on open files (Linux /proc; null elsewhere). */
function openFileLimit(): number | null {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const soft = line?.split(/\s{2,}/)[1]
    return soft === undefined || soft === 'unlimited' ? null : Number(soft)
  } catch {
    return null
  }
}

// ================================================================================================
// main
// ================================================================================================

async function main(): Promise<void> {
  const limit = openFileLimit()
  console.log(`relay load: one always-on HyphaNode (child process) relaying the secure channel among N light peers; ` +
    `${MESSAGES} × ${MESSAGE_BYTES}-byte messages from ${SENDERS} senders, ≤ ${WINDOW} deliveries in flight; 127.0.0.1`)
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
    `${os.platform()} ${os.release()}, node ${process.version}, ulimit -n ${limit ?? 'unlimited'}, ${new Date().toISOString()}`)
  // Each process needs one descriptor per peer, plus its own (stdio, epoll, pipes…): keep 100 spare.
  const sizes: number[] = []
  for (const n of PEERS) {
    if (limit !== null && n + 100 > limit) console.log(`skipped: ${n} peers need about ${n + 100} open files per process; ulimit -n is ${limit}`)
    else sizes.push(n)
  }

  const rootSecret = await deriveRootSecret(generatePassphrase(), 'relay-load@example.com', KDF)
  // The database key is an origin's writer core key (from its random key pair, held in its storage);
  // no origin runs here (the peers are light), so one is made the same way. The channel key still
  // and member keys still come from the root secret; the relay gets the member credential.
  const account = deriveAccountKeys(rootSecret)
  const databaseKey = writerCoreKey(createKeyPair().publicKey)
  const memberCredential = b4a.toString(
    encodeMemberCredential({
      topic: account.lookupTopic,
      databaseKey,
      proof: lookupProof(account.lookupKey, databaseKey),
      memberKey: account.memberKey
    }),
    'hex'
  )
  const keys: Keys = { databaseKey, channelKey: account.channelKey, memberKey: account.memberKey, memberCredential }
  // The discovery key, as the node computes it (direct pairs need it before any relay exists).
  const probe = new HyphaNode({ role: 'always-on', memberCredential })
  await probe.ready()
  const discoveryKey = probe.discoveryKey
  await probe.close()

  const startAll = performance.now()
  const results: Result[] = []
  for (const kind of TRANSPORTS) {
    await direct(kind, keys, discoveryKey) // warm-up, not counted
    results.push(await direct(kind, keys, discoveryKey))
    for (const n of sizes) results.push(await relayed(kind, n, keys))
  }

  const label = { tcp: 'TCP', ws: 'WebSocket' }
  const kB = (bytes: number | undefined) => (bytes === undefined ? '' : (bytes / 1024).toFixed(1))
  const rows = results.map((r) => {
    const base = results.find((x) => x.kind === r.kind && x.peers === 2)!
    return {
      case: r.peers === 2 ? `${label[r.kind]}, direct pair, no relay (baseline)` : `${label[r.kind]}, relay, ${r.peers} peers`,
      'msg/s': Math.round(r.msgPerS),
      'msg/s vs direct': (r.msgPerS / base.msgPerS).toFixed(2),
      'deliveries/s': Math.round(r.deliveriesPerS),
      'deliv./s vs direct': (r.deliveriesPerS / base.deliveriesPerS).toFixed(2),
      'p50/p99 loaded (ms)': `${r.loadP50.toFixed(1)} / ${r.loadP99.toFixed(1)}`,
      'p50/p99 one at a time (ms)': `${r.pingP50.toFixed(2)} / ${r.pingP99.toFixed(2)}`,
      'relay RSS/peer (KiB)': kB(r.rssPerPeer),
      'relay heap/peer (KiB)': kB(r.heapPerPeer),
      'CPU relay / peers': `${r.relayCpuPct === undefined ? '–' : r.relayCpuPct.toFixed(0) + '%'} / ${r.parentCpuPct.toFixed(0)}%`,
      'relay CPU µs/delivery': r.relayUsPerDelivery === undefined ? '' : r.relayUsPerDelivery.toFixed(1)
    }
  })
  console.table(rows)
  console.log('msg/s: messages sent ÷ time from the first send to the last delivery; deliveries/s: msg/s × receivers (N−1; 1 for the pair). ' +
    'Latency: receive − send time (performance.now() in the payload), nearest rank, over all deliveries; "one at a time": ' +
    `${PINGS} messages, each sent once the previous one reached every peer. Relay memory: after − before the peers connected ` +
    '(full GC before each reading), ÷ N. CPU: process CPU time ÷ wall time during the load run (100% = one core); the peers (all ' +
    'senders and receivers) share this one process, so with the relay at well under one core the figures are bounded by the ' +
    'receivers, not the relay; relay CPU µs/delivery (its CPU time during the load run ÷ deliveries) bounds what the relay alone could do: ' +
    '10⁶ ÷ that = deliveries/s on one core.')
  for (const r of results) {
    if (r.connectMs !== undefined) {
      console.log(`${label[r.kind]} ×${r.peers}: ${r.peers} peers connected (Noise handshake + channel open, batches of 50) in ${(r.connectMs / 1000).toFixed(1)} s; ` +
        `relay external memory/peer ${kB(r.externalPerPeer)} KiB`)
    }
  }
  console.log(`verified: every message reached every other peer exactly once (per message and per peer), nothing rejected, ` +
    `the relay relayed each envelope once and opened none (${((performance.now() - startAll) / 1000).toFixed(1)} s)`)
}

if (process.argv.includes('--relay')) {
  relayMain().catch((err) => {
    console.error('relay process:', err)
    process.exit(1)
  })
} else {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof VerificationError ? `VERIFICATION FAILED: ${err.message}` : err)
      process.exit(1)
    }
  )
}
