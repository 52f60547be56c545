// One file on purpose: the flooder's child process is this same file run with `--flooder`, and a
// benchmark's set-up, runs and printed table read best top to bottom.
// Under a flood of BENCH_FLOOD (200,000) envelopes at an always-on relay: a member's latency beside
// its unloaded latency in the same run, and the relay's peak memory. TCP on 127.0.0.1, real parts:
//
//   - an origin (@hypha/auth signUp) and member devices (signIn: read-only HyphaNodes of the same
//     account, not approved as writers), all tcpClients of
//   - an always-on HyphaNode relay (role 'always-on', given origin.memberCredential) in a child
//     process (relay-child.ts), so its memory is its own: RSS and V8 heap sampled every 50 ms (peak)
//     and the kernel's lifetime maxRSS (process.resourceUsage().maxRSS);
//   - a flooder in a second child process (this file with `--flooder`), so that its own work does not
//     slow the members' process. It dials the relay, re-dialling whenever the relay closes it (50–200
//     ms), and sends envelopes as fast as the connection drains until it has handed BENCH_FLOOD to
//     the socket or BENCH_FLOOD_SECONDS (60) have passed.
//
// Member latency, two measures:
//   - a real prompt: a signed-in device calls requestAuthorisation() and the clock runs until the
//     prompt appears on the origin (request, challenge, reveal: addressed secure-channel messages
//     through the relay; the origin denies it at once). Fresh devices, one at a time: each signs in
//     (not timed: its lookup has a 250 ms settle window), asks, and closes. BENCH_PROMPTS (10)
//     unloaded; under flood, as many as fit while it lasts: few samples, so p50 and max;
//   - the round trip of a secure-channel ping addressed from one device ('Phone') to the origin and
//     answered by a pong, both relayed: many samples. Unloaded: BENCH_PINGS (200) pings
// one after another; under flood: pings one after another for as long as the flood lasts (each gets
// 5 s, a ping without a pong counts as lost). Pings start at least 5 ms apart (≤ 200/s, under the
// relay's forward limit of 250/s per connection).
//
// Two floods:
//   stranger   knows the database's discovery key (anyone given the database key does), not the
//              member key: its own Noise key, no membership proof, and envelopes sealed with random
//              channel and member keys (a pool of 1,000 different ones, sent round and round). The
//              relay's membership gate opens none of its channels, so it writes them as raw Protomux
//              messages on a channel of its own (what it can still put on the wire) until the gate
//              closes the connection (over 64 KiB before a proof), and re-dials.
//   member     holds the passphrase (so the member key and channel key): a light peer that passes
//              the membership gate, flooding valid envelopes (a pool of BENCH_FLOOD_POOL, 10,000,
//              sealed beforehand, sent round and round: past the pool the relay sees duplicates) —
//              what only the relay's per-connection token bucket (maxEnvelopesPerSecond 1000, burst
//              5000, maxExcessEnvelopes 10,000) stands against: it drops the excess as `rate-limited`
//              and then the connection (peer-dropped, ERR_RATE_LIMITED).
// Reported per flood: envelopes the flooder handed to its sockets, connections it made and how many
// opened an ephemeral channel; what the relay counted (received, rejected by reason, dropped
// connections and why, relayed); the relay's CPU; member prompt p50/max and ping p50/p99 unloaded vs
// under flood and the ratios;
// the relay's peak RSS and heap during the flood beside its idle reading. Verified: the members are
// still connected and answer after each flood, nothing of the flood reached them as a stranger's.
// Prints; no thresholds.
//
//   npx tsc -b bench && node bench/dist/flood.js
//   env: BENCH_FLOOD (200000), BENCH_FLOOD_SECONDS (60), BENCH_FLOOD_POOL (10000), BENCH_PINGS (200),
//        BENCH_PROMPTS (10), BENCH_FLOODS ("stranger,member")
import b4a from 'b4a'
import { memberGate, type HyphaNode } from '@hypha/node-core'
import { generatePassphrase, signIn, signUp, type Account } from '@hypha/auth'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import { SecureChannel, SECURE_CONTENT_TYPE, createChannelKey, createKeyPair, createMemberKey, randomBytes, sealEnvelope } from '@hypha/secure-channel'
import { tcpClient } from '@hypha/transport-tcp'
import { rawSender } from '@hypha/test-utils'
import {
  BENCH_KDF as KDF,
  Child,
  RelayProcess,
  VerificationError,
  runBenchmark,
  compiledPath,
  machineLine,
  noop,
  p50p99,
  serveParent,
  startTransportFor,
  until,
  withTimeout,
  type RelayState
} from './common.js'

const FLOOD = Number(process.env.BENCH_FLOOD ?? 200_000)
const FLOOD_SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 60)
const POOL = Number(process.env.BENCH_FLOOD_POOL ?? 10_000)
const PINGS = Number(process.env.BENCH_PINGS ?? 200)
const PROMPTS = Number(process.env.BENCH_PROMPTS ?? 10)
const FLOODS = (process.env.BENCH_FLOODS ?? 'stranger,member').split(',').map((s) => s.trim()) as Mode[]
const RECONNECT = { initialDelayMs: 50, maxDelayMs: 200 }
const PING = 'bench/ping'
const PONG = 'bench/pong'
const PING_TIMEOUT_MS = 5_000
const PAYLOAD_BYTES = 200
/** Envelopes sent before looking at the socket's backpressure. */
const BATCH = 256

type Mode = 'stranger' | 'member'

// ================================================================================================
// The flooder (child process, `--flooder`)
// ================================================================================================

interface FloodReport {
  /** Envelopes handed to a socket whose ephemeral channel was open. */
  written: number
  connections: number
  /** Connections on which the relay opened the ephemeral channel (and, for a member, accepted the proof). */
  channels: number
  /** Connections the relay (or the network) closed. */
  closed: number
  /** Most envelopes handed to one connection. */
  mostOnOne: number
  ms: number
  sealMs: number
}

/** Where the flooder writes on its current connection. */
interface Sink {
  stream: any
  send(frame: Uint8Array): unknown
}

function flooderMain(): void {
  let ephemeral: EphemeralExtension
  let channel: SecureChannel | null = null
  let strangerSink: Sink | null = null
  /** A member writes on its open ephemeral channel; a stranger, which gets none, raw on its connection. */
  const currentSink = (): Sink | null => {
    if (channel === null) return strangerSink
    const peer = ephemeral.peers[0]
    if (!peer) return null
    const stream = (peer as unknown as { muxer: { stream: any } }).muxer.stream
    return { stream, send: (frame) => ephemeral.send(peer, frame, { contentType: SECURE_CONTENT_TYPE }) }
  }
  let transport: ReturnType<typeof tcpClient>
  const pool: Uint8Array[] = []
  let connections = 0
  let closed = 0
  let sealMs = 0
  serveParent(
    {
      prepare: async (msg: { mode: Mode; port: number; discoveryKey: string; channelKey?: string; memberKey?: string }) => {
        const discoveryKey = b4a.from(msg.discoveryKey, 'hex')
        ephemeral = new EphemeralExtension({ discoveryKey })
        const keyPair = createKeyPair()
        const member = msg.mode === 'member'
        const keys = member
          ? { channelKey: b4a.from(msg.channelKey!, 'hex'), memberKey: b4a.from(msg.memberKey!, 'hex'), keyPair }
          : { channelKey: createChannelKey(), memberKey: createMemberKey(), keyPair }
        // A member's channel (it proves at the gate, so no per-channel proof); nothing of the flood goes through it.
        if (member) channel = new SecureChannel({ ephemeral, ...keys, relay: false, requireMemberProof: false })
        const start = performance.now()
        const size = member ? POOL : 1000
        for (let i = 0; i < size; i++) {
          pool.push(sealEnvelope({ ...keys, contentType: 'x', payload: randomBytes(PAYLOAD_BYTES), ttl: 4, timestamp: Date.now() }))
        }
        sealMs = performance.now() - start
        transport = tcpClient({ port: msg.port, reconnect: RECONNECT })
        await transport.start({
          topic: discoveryKey,
          keyPair: createKeyPair(),
          onConnection: (stream) => {
            connections++
            stream.on('error', noop)
            stream.on('close', () => closed++)
            if (member) {
              // Through the relay's membership gate first, as a HyphaNode does.
              memberGate(stream, keys.memberKey).then(() => ephemeral.attach(stream), noop)
              return
            }
            // A stranger gets no channel opened: it writes its envelopes as raw Protomux messages.
            ephemeral.attach(stream)
            const sink = { stream, send: rawSender(stream) }
            strangerSink = sink
            stream.on('close', () => {
              if (strangerSink === sink) strangerSink = null
            })
          }
        })
        return {}
      },
      flood: async () => {
        let written = 0
        let channels = 0
        let mostOnOne = 0
        let current: unknown = null
        let onThis = 0
        const start = performance.now()
        const deadline = start + FLOOD_SECONDS * 1000
        while (written < FLOOD && performance.now() < deadline) {
          const sink = currentSink()
          if (!sink) {
            await new Promise((r) => setTimeout(r, 2))
            continue
          }
          if (sink.stream !== current) ((current = sink.stream), (onThis = 0), channels++)
          try {
            for (let i = 0; i < BATCH && written < FLOOD; i++) {
              sink.send(pool[written % pool.length]!)
              written++
              onThis++
            }
          } catch {
            // The connection closed under us: wait for the next one.
          }
          mostOnOne = Math.max(mostOnOne, onThis)
          const mux = sink.stream.userData as { drained: boolean; stream: any } | undefined
          if (mux && !mux.drained && mux.stream) {
            await new Promise<void>((resolve) => {
              const done = () => (clearTimeout(timer), mux.stream.off('drain', done), mux.stream.off('close', done), resolve())
              const timer = setTimeout(done, 1000)
              mux.stream.on('drain', done)
              mux.stream.on('close', done)
            })
          } else {
            await new Promise((r) => setImmediate(r))
          }
        }
        const report: FloodReport = { written, connections, channels, closed, mostOnOne, ms: performance.now() - start, sealMs }
        return report
      },
      close: async () => {
        await transport?.stop()
        channel?.close()
        ephemeral?.close()
        return {}
      }
    },
    {}
  )
}

// ================================================================================================
// The members (this process)
// ================================================================================================

const encoder = new TextEncoder()
let pingSeq = 0

/** Ids of the pings the origin received (to tell, for a lost ping, which way it was lost). */
const pingsReceived = new Set<string>()

/** Answers secure-channel pings (addressed to this node) with a pong to the sender. */
function answerPings(node: HyphaNode): void {
  node.channel.on('message', ({ sender, contentType, payload }) => {
    if (contentType !== PING) return
    pingsReceived.add(b4a.toString(payload))
    node.channel.send(payload, { contentType: PONG, to: sender })
  })
}

/** Ids of the pings that got no pong in time. */
const lostPings: string[] = []

/**
 * Pings start at least this far apart: at most 200/s, under the relay's forward limit of 250
 * envelopes/s per connection (maxForwardedPerSecond). Back to back they reached ~1,350/s between
 * floods and the relay, rightly, stopped forwarding some (a lost ping).
 */
const PING_SPACING_MS = 5
let lastPingAt = 0

/** One ping from `from` to the node with channel key `to`: its round trip in ms, or null if no pong within PING_TIMEOUT_MS. */
async function ping(from: HyphaNode, to: Uint8Array): Promise<number | null> {
  const wait = lastPingAt + PING_SPACING_MS - performance.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  lastPingAt = performance.now()
  const id = `${++pingSeq}`
  let on: (m: { contentType: string; payload: Uint8Array }) => void = noop
  const pong = new Promise<void>((resolve) => {
    on = ({ contentType, payload }) => {
      if (contentType === PONG && b4a.toString(payload) === id) resolve()
    }
    from.channel.on('message', on)
  })
  const start = performance.now()
  from.channel.send(encoder.encode(id), { contentType: PING, to })
  try {
    await withTimeout(pong, 'a pong', PING_TIMEOUT_MS)
    return performance.now() - start
  } catch {
    lostPings.push(id)
    return null
  } finally {
    from.channel.off('message', on)
  }
}

function rejectedDelta(before: RelayState, after: RelayState): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [reason, n] of Object.entries(after.stats.rejected)) {
    const d = n - (before.stats.rejected[reason] ?? 0)
    if (d) out[reason] = d
  }
  return out
}

// ---- real prompts --------------------------------------------------------------------------------

/** When each device's prompt appeared on the origin (performance.now()), by node name. */
const promptsAt = new Map<string, number>()
let deviceSeq = 0

/** `count` fresh devices signed in through the relay (unapproved, connected, membership proven). */
async function signInDevices(count: number, world: { name: string; passphrase: string; port: number }): Promise<Account[]> {
  const devices: Account[] = []
  for (let i = 0; i < count; i++) {
    const device = await signIn({ passphrase: world.passphrase, name: world.name, nodeName: `Device ${++deviceSeq}`, kdf: KDF, transports: [tcpClient({ port: world.port, reconnect: false })] })
    devices.push(device)
    await until(() => device.node.ephemeral.peers.length === 1 && device.node.channel.isProven(device.node.ephemeral.peers[0]!), `${device.nodeName} to connect`)
  }
  return devices
}

/** A signed-in device asks for authorisation: ms until its prompt appears on the origin, or null after 10 s. */
async function promptLatency(device: Account): Promise<number | null> {
  const start = performance.now()
  device.requestAuthorisation().done.catch(noop) // denied
  try {
    await until(() => promptsAt.has(device.nodeName), `the prompt for ${device.nodeName}`, 10_000)
    return promptsAt.get(device.nodeName)! - start
  } catch {
    return null
  }
}

interface FloodResult {
  mode: Mode
  report: FloodReport
  rtts: number[]
  lost: number
  prompts: number[]
  promptsLost: number
  received: number
  rejected: Record<string, number>
  dropped: number
  /** Of those, by reason and error code. */
  dropReasons: Record<string, number>
  relayed: number
  /** Pings sent during the flood (each ping and its pong are relayed too). */
  pings: number
  forwardLimited: number
  relayCpuMs: number
  peak: { peakRss: number; peakHeap: number; maxRss: number }
}

async function main(): Promise<void> {
  console.log(`flood: ${FLOOD.toLocaleString('en')} envelopes (at most ${FLOOD_SECONDS} s) at an always-on HyphaNode relay (child process) ` +
    'between member HyphaNodes (origin and devices, @hypha/auth); member latency = a sign-in prompt (requestAuthorisation → prompt on the origin) ' +
    'and a secure-channel ping round trip device → relay → origin → relay → device; TCP on 127.0.0.1')
  console.log(machineLine())
  const name = 'flood@example.com'
  const passphrase = generatePassphrase()
  const originAccount = await signUp({ name, passphrase, nodeName: 'Origin', kdf: KDF, transports: [], existingAccountCheckMs: 0 })
  const origin = originAccount.node
  originAccount.on('authorisation-request', (prompt) => {
    promptsAt.set(prompt.nodeName, performance.now())
    // Answered at once: the origin keeps at most 16 open prompts (maxOpenPrompts) and refuses more.
    prompt.deny()
  })
  const relay = await RelayProcess.start({ kind: 'tcp', relay: 'node', memberCredential: origin.memberCredential })
  const originClient = tcpClient({ port: relay.port, reconnect: RECONNECT })
  const world = { name, passphrase, port: relay.port }
  let phoneAccount: Account | null = null
  const results: FloodResult[] = []
  try {
    if (!b4a.equals(relay.discoveryKey, origin.discoveryKey)) throw new VerificationError('the relay is on another discovery key')
    await startTransportFor(origin, originClient)
    // The pinging member: a device signed in through the relay (a member: it holds the keys; not approved as a writer).
    phoneAccount = await signIn({ passphrase, name, nodeName: 'Phone', kdf: KDF, transports: [tcpClient({ port: relay.port, reconnect: RECONNECT })] })
    const phone = phoneAccount.node
    const proven = (n: HyphaNode) => n.ephemeral.peers.length === 1 && n.channel.isProven(n.ephemeral.peers[0]!)
    await until(() => proven(origin) && proven(phone), 'both members to connect to the relay and prove membership')
    answerPings(origin)
    const originKey = origin.channel.publicKey!
    for (let i = 0; i < 20; i++) if ((await ping(phone, originKey)) === null) throw new VerificationError('a warm-up ping got no pong')

    const idle = await relay.memory()
    await relay.peak(true)
    const unloaded: number[] = []
    for (let i = 0; i < PINGS; i++) {
      const rtt = await ping(phone, originKey)
      if (rtt === null) throw new VerificationError('an unloaded ping got no pong')
      unloaded.push(rtt)
    }
    const unloadedPeak = await relay.peak(true)
    const unloadedPrompts: number[] = []
    for (let i = 0; i < PROMPTS; i++) {
      const [device] = await signInDevices(1, world)
      const ms = await promptLatency(device!)
      await device!.close()
      if (ms === null) throw new VerificationError(`no prompt for ${device!.nodeName} without a flood`)
      unloadedPrompts.push(ms)
    }

    for (const mode of FLOODS) {
      const flooder = await Child.fork(compiledPath(import.meta.url), ['--flooder'], {}, `the ${mode} flooder`)
      try {
        await flooder.ask('prepare', {
          mode,
          port: relay.port,
          discoveryKey: b4a.toString(origin.discoveryKey, 'hex'),
          ...(mode === 'member' ? { channelKey: b4a.toString(origin.channelKey!, 'hex'), memberKey: b4a.toString(origin.memberKey!, 'hex') } : {})
        })
        const before = await relay.state()
        const cpu0 = await relay.cpuMs()
        await relay.peak(true)
        let done = false
        const flood = flooder.ask('flood', {}, (FLOOD_SECONDS + 60) * 1000).finally(() => (done = true))
        const rtts: number[] = []
        let lost = 0
        const prompts: number[] = []
        let promptsLost = 0
        // Beside the pings, while the flood lasts: a fresh device signs in (not timed) and asks.
        const asking = (async () => {
          while (!done) {
            const [device] = await signInDevices(1, world)
            try {
              if (done) break
              const ms = await promptLatency(device!)
              if (ms === null) promptsLost++
              else prompts.push(ms)
            } finally {
              await device!.close()
            }
          }
        })()
        while (!done) {
          const rtt = await ping(phone, originKey)
          if (rtt === null) lost++
          else rtts.push(rtt)
        }
        await asking
        const report = (await flood) as FloodReport
        const peak = await relay.peak(true)
        // Let the relay finish what is queued before reading its counters.
        await new Promise((r) => setTimeout(r, 1000))
        const after = await relay.state()
        const relayCpuMs = (await relay.cpuMs()) - cpu0
        // Still connected, still answering.
        await until(() => proven(origin) && proven(phone), `the members to be connected after the ${mode} flood`)
        if ((await ping(phone, originKey)) === null) throw new VerificationError(`no pong after the ${mode} flood`)
        results.push({
          mode,
          report,
          rtts,
          lost,
          prompts,
          promptsLost,
          received: after.stats.received - before.stats.received,
          rejected: rejectedDelta(before, after),
          dropped: after.stats.droppedPeers - before.stats.droppedPeers,
          dropReasons: Object.fromEntries(Object.entries(after.drops).map(([k, v]) => [k, v - (before.drops[k] ?? 0)]).filter(([, v]) => v !== 0)),
          relayed: after.stats.relayed - before.stats.relayed,
          pings: rtts.length + lost + 1,
          forwardLimited: after.stats.forwardLimited - before.stats.forwardLimited,
          relayCpuMs,
          peak
        })
      } finally {
        await flooder.close()
      }
    }
    // Unloaded again: how far the machine itself drifted during the run.
    const unloadedAfter: number[] = []
    for (let i = 0; i < PINGS; i++) {
      const rtt = await ping(phone, originKey)
      if (rtt === null) throw new VerificationError('an unloaded ping after the floods got no pong')
      unloadedAfter.push(rtt)
    }
    for (const member of [origin, phone]) {
      if (member.channel.stats.rejected['not-a-member'] !== 0) throw new VerificationError("a stranger's envelope reached a member")
    }

    // ---- table -------------------------------------------------------------------------------------
    const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1))
    const MiB = (b: number) => (b / 2 ** 20).toFixed(1)
    const base = p50p99(unloaded)
    const rows: Record<string, string | number>[] = [
      {
        case: 'no flood (baseline)',
        pings: unloaded.length,
        'p50 / p99 (ms)': `${ms(base.p50)} / ${ms(base.p99)}`,
        'p50 / p99 vs baseline': '1.00 / 1.00',
        prompts: unloadedPrompts.length,
        'prompt p50 / max (ms)': `${ms(p50p99(unloadedPrompts).p50)} / ${ms(Math.max(...unloadedPrompts))}`,
        'prompt p50 vs baseline': '1.00',
        'relay peak RSS / heap (MiB)': `${MiB(unloadedPeak.peakRss)} / ${MiB(unloadedPeak.peakHeap)}`
      }
    ]
    for (const r of results) {
      const q = r.rtts.length ? p50p99(r.rtts) : { p50: NaN, p99: NaN }
      rows.push({
        case: `${r.mode === 'stranger' ? "stranger's" : "member-key holder's"} flood`,
        pings: `${r.rtts.length} (+${r.lost} lost)`,
        'p50 / p99 (ms)': `${ms(q.p50)} / ${ms(q.p99)}`,
        'p50 / p99 vs baseline': `${(q.p50 / base.p50).toFixed(2)} / ${(q.p99 / base.p99).toFixed(2)}`,
        prompts: `${r.prompts.length} (+${r.promptsLost} lost)`,
        'prompt p50 / max (ms)': r.prompts.length ? `${ms(p50p99(r.prompts).p50)} / ${ms(Math.max(...r.prompts))}` : '',
        'prompt p50 vs baseline': r.prompts.length ? (p50p99(r.prompts).p50 / p50p99(unloadedPrompts).p50).toFixed(2) : '',
        'relay peak RSS / heap (MiB)': `${MiB(r.peak.peakRss)} / ${MiB(r.peak.peakHeap)}`
      })
    }
    const again = p50p99(unloadedAfter)
    rows.push({
      case: 'no flood, again after the floods',
      pings: unloadedAfter.length,
      'p50 / p99 (ms)': `${ms(again.p50)} / ${ms(again.p99)}`,
      'p50 / p99 vs baseline': `${(again.p50 / base.p50).toFixed(2)} / ${(again.p99 / base.p99).toFixed(2)}`,
      'relay peak RSS / heap (MiB)': ''
    })
    console.table(rows)
    console.log(`relay idle (after a full GC): RSS ${MiB(idle.rss)} MiB, heap ${MiB(idle.heapUsed)} MiB; its lifetime maxRSS (kernel) ${MiB(results.at(-1)?.peak.maxRss ?? unloadedPeak.maxRss)} MiB`)
    for (const r of results) {
      const f = r.report
      const rejected = Object.entries(r.rejected).map(([k, v]) => `${k} ${v.toLocaleString('en')}`).join(', ') || 'none'
      console.log(`${r.mode}: handed ${f.written.toLocaleString('en')} envelopes to its sockets in ${(f.ms / 1000).toFixed(1)} s ` +
        `(${Math.round(f.written / (f.ms / 1000)).toLocaleString('en')}/s; at most ${f.mostOnOne.toLocaleString('en')} on one connection) over ${f.connections} connections ` +
        `(${r.mode === 'member' ? `${f.channels} through the membership gate` : `${f.channels} written on`}; ${f.closed} closed); ` +
        `the relay received ${r.received.toLocaleString('en')} (${((100 * r.received) / Math.max(1, f.written)).toFixed(0)}%), rejected: ${rejected}; ` +
        `relayed ${r.relayed.toLocaleString('en')} (of which the members' ${r.pings} pings and their pongs, and the prompts' requests, challenges and reveals; forward-limited ${r.forwardLimited.toLocaleString('en')}); connections dropped ${r.dropped} (${Object.entries(r.dropReasons).map(([k, v]) => `${k} ×${v}`).join(', ') || '–'}); ` +
        `relay CPU ${(r.relayCpuMs / 1000).toFixed(1)} s (${((100 * r.relayCpuMs) / (f.ms + 1000)).toFixed(0)}% of a core), ` +
        `${((1000 * r.relayCpuMs) / Math.max(1, r.received)).toFixed(1)} µs per envelope received; pool sealed in ${(f.sealMs / 1000).toFixed(1)} s`)
    }
    console.log(`Prompt: a signed-in device's requestAuthorisation() until the prompt appears on the origin (request, challenge, reveal through the relay); fresh devices one at a time, each signed in (not timed) then asking; ${PROMPTS} unloaded, as many as fit in each flood. ` +
      'Latency: round trip of an addressed secure-channel ping, device → relay → origin and back (performance.now(), one process). ' +
      'Ratios: under flood ÷ no flood, same run. Peak RSS / heap: the relay process, sampled every 50 ms during the unloaded pings and during each flood.')
    if (lostPings.length) {
      const there = lostPings.filter((id) => pingsReceived.has(id)).length
      console.log(`lost pings: ${lostPings.length}, of which ${there} reached the origin (so their pong was lost) and ${lostPings.length - there} did not`)
    }
    console.log('verified: both members stayed connected, answered after each flood, and no stranger envelope reached them')
  } finally {
    await phoneAccount?.close()
    await originClient.stop()
    await originAccount.close()
    await relay.close()
  }
}

if (process.argv.includes('--flooder')) {
  flooderMain()
} else {
  runBenchmark(main)
}
