// Approve-to-writable latency of @hypha/auth (issue 4): the time from `prompt.approve()` being called
// on an authorised node until the requesting device's `request.done` resolves — which happens when
// the add-writer op has replicated to the device and it really is writable. Two set-ups, TCP on
// 127.0.0.1:
//   direct: the new device dials the origin (origin: tcpServer; device: tcpClient)
//   relay:  origin and device are both tcpClients of an always-on HyphaNode (tcpServer) and share
//           no connection: requests, approvals and the database all go through the relay
// Beside each, in the same run and over the same connections: the round-trip time of a ping/pong on
// the secure channel (`node.channel.send` + a reply; relayed in the relay set-up) and of a
// ping/pong of plain ephemeral messages (`node.ephemeral`; these are not relayed, so in the relay
// set-up it is the sum of the two hops origin↔relay and device↔relay, echoed by the relay).
// Prints medians and p95s and the ratio latency / ping RTT. Verifies every run (the device is
// writable and a `put` it makes is read back on the origin) and exits non-zero on failure.
//
//   npx tsc -b bench && node bench/dist/auth-latency.js
//   env: BENCH_RUNS (30, per set-up), BENCH_RUNS_PER_ORIGIN (10), BENCH_PINGS (5, per run and kind),
//        BENCH_WARMUP (3 uncounted runs per set-up, on a throw-away database)
//
// Each run signs in a fresh device (`Device <n>`: a name once authorised is a writer for good, so it
// cannot be asked for again). Every authorised device joins the origin's writer set and each later
// device syncs its ops, so a fresh origin (a new database: a new person name) is made every
// BENCH_RUNS_PER_ORIGIN runs, which keeps the writer set between 1 and that many + 1 writers.
// Before the clock starts the device has synced the database (it reads the previous run's
// verification entry) and the request's prompt has arrived on the origin: what is timed is the
// approval path alone (add-writer op on the origin, replication, apply on the device).
import os from 'node:os'
import b4a from 'b4a'
import { HyphaNode, deriveDatabaseKey, deriveRootSecret, generatePassphrase } from '@hypha/node-core'
import { tcpServer, tcpClient } from '@hypha/node-core/native'
import { signUp, signIn, type Account, type AuthorisationPrompt } from '@hypha/auth'
import { VerificationError, median, quantile, until, withTimeout } from './common.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 30)
const RUNS_PER_ORIGIN = Number(process.env.BENCH_RUNS_PER_ORIGIN ?? 10)
const PINGS = Number(process.env.BENCH_PINGS ?? 5)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3)
// Argon2id at a trivial cost (1 iteration, 64 KiB) instead of the default t=3, m=64 MiB: the KDF
// runs once per sign-up/sign-in and is not what is measured. Keys have the same shape either way.
const KDF = { iterations: 1, memoryKiB: 64 }
const PING = 'bench/ping'
const PONG = 'bench/pong'

type SetUp = 'direct' | 'relay'

interface Sample {
  /** approve() called → request.done resolved on the device */
  latencyMs: number
  /** approve() called → approve() resolved on the origin (the add-writer op appended there) */
  approveMs: number
  /** device put → value readable on the origin */
  putMs: number
  channelRttMs: number
  ephemeralRttMs: number
}

// ---- helpers -----------------------------------------------------------------------------------

const encoder = new TextEncoder()

/** Answers secure-channel pings (addressed to this node) with a pong to the sender. */
function answerChannelPings(node: HyphaNode): void {
  node.channel.on('message', ({ sender, contentType, payload }) => {
    if (contentType === PING) node.channel.send(payload, { contentType: PONG, to: sender })
  })
}

/** Answers ephemeral pings on the connection they came on. Works on an always-on node too. */
function answerEphemeralPings(node: HyphaNode): void {
  node.ephemeral.on('message', ({ peer, contentType, payload }) => {
    if (contentType === PING) node.ephemeral.send(peer, payload, { contentType: PONG })
  })
}

let pingSeq = 0

type PongSource = {
  on(event: 'message', listener: (m: { contentType: string; payload: Uint8Array }) => void): unknown
  off(event: 'message', listener: (m: { contentType: string; payload: Uint8Array }) => void): unknown
}

/** Median RTT of `count` sequential pings: `send(id)` sends one, the pong arrives on `source`. */
async function pingRtt(source: PongSource, send: (id: Uint8Array) => void, count: number, what: string): Promise<number> {
  const rtts: number[] = []
  for (let i = 0; i < count; i++) {
    const id = `${++pingSeq}`
    const pong = new Promise<void>((resolve) => {
      const on = ({ contentType, payload }: { contentType: string; payload: Uint8Array }) => {
        if (contentType === PONG && b4a.toString(payload) === id) {
          source.off('message', on)
          resolve()
        }
      }
      source.on('message', on)
    })
    const start = performance.now()
    send(encoder.encode(id))
    await withTimeout(pong, what)
    rtts.push(performance.now() - start)
  }
  return median(rtts)
}

/** Median RTT of `count` sequential secure-channel pings from `from` to the node with key `to`. */
function channelRtt(from: HyphaNode, to: Uint8Array, count: number): Promise<number> {
  return pingRtt(from.channel, (id) => from.channel.send(id, { contentType: PING, to }), count, 'a secure-channel pong')
}

/** Median RTT of `count` sequential ephemeral pings from `from` on its one connection. */
function ephemeralRtt(from: HyphaNode, count: number): Promise<number> {
  const peers = from.ephemeral.peers
  if (peers.length !== 1) throw new VerificationError(`expected one ephemeral peer, found ${peers.length}`)
  const peer = peers[0]!
  return pingRtt(from.ephemeral, (id) => from.ephemeral.send(peer, id, { contentType: PING }), count, 'an ephemeral pong')
}

// ---- a database (origin, and the relay in that set-up) ----------------------------------------

interface World {
  setUp: SetUp
  name: string
  passphrase: string
  origin: Account
  relay: HyphaNode | null
  /** Where devices dial: the origin's server (direct) or the relay's (relay). */
  port: number
  /** Prompts by node name, as they arrive on the origin. */
  prompts: Map<string, AuthorisationPrompt>
  /** The previous run's verification entry: a new device has synced once it reads it. */
  lastEntry: { key: string; value: string } | null
  runs: number
}

let worldSeq = 0

async function makeWorld(setUp: SetUp): Promise<World> {
  const name = `bench-${setUp}-${++worldSeq}@example.com`
  const passphrase = generatePassphrase()
  let relay: HyphaNode | null = null
  let port: number
  let originTransports
  if (setUp === 'relay') {
    // The relay needs only the database key, computable from the passphrase.
    const databaseKey = deriveDatabaseKey(await deriveRootSecret(passphrase, name, KDF))
    const server = tcpServer({ port: 0 })
    relay = new HyphaNode({ role: 'always-on', databaseKey, transports: [server] })
    await relay.ready()
    answerEphemeralPings(relay)
    port = server.port!
    originTransports = [tcpClient({ port, reconnect: false })]
  } else {
    const server = tcpServer({ port: 0 })
    originTransports = [server]
    port = -1
  }
  const origin = await signUp({ name, passphrase, nodeName: 'Origin', kdf: KDF, transports: originTransports })
  if (setUp === 'direct') port = (originTransports[0] as ReturnType<typeof tcpServer>).port!
  if (!origin.writable) throw new VerificationError('the origin is not writable')
  answerChannelPings(origin.node)
  answerEphemeralPings(origin.node)
  const prompts = new Map<string, AuthorisationPrompt>()
  origin.on('authorisation-request', (prompt) => prompts.set(prompt.nodeName, prompt))
  if (relay) await until(() => relay!.peerCount === 1 && origin.node.peerCount === 1, 'the origin to connect to the relay')
  return { setUp, name, passphrase, origin, relay, port, prompts, lastEntry: null, runs: 0 }
}

async function closeWorld(world: World): Promise<void> {
  await world.origin.close()
  await world.relay?.close()
}

// ---- one run -----------------------------------------------------------------------------------

let deviceSeq = 0

async function run(world: World): Promise<Sample> {
  const nodeName = `Device ${++deviceSeq}`
  const device = await signIn({
    passphrase: world.passphrase,
    name: world.name,
    nodeName,
    kdf: KDF,
    transports: [tcpClient({ port: world.port, reconnect: false })]
  })
  try {
    if (device.writable) throw new VerificationError(`${nodeName} is writable before approval`)
    answerChannelPings(device.node)
    await until(() => device.node.ephemeral.peers.length === 1, `${nodeName} to connect`)
    // One connection each: in the relay set-up origin and device reach each other only through it.
    if (device.node.peerCount !== 1 || (world.relay && world.origin.node.peerCount !== 1)) {
      throw new VerificationError(`unexpected connections: device ${device.node.peerCount}, origin ${world.origin.node.peerCount}`)
    }
    // The device has the database before it asks (as after the minute a person takes to approve).
    const last = world.lastEntry
    if (last) {
      await until(async () => {
        await device.node.update()
        return (await device.node.get(last.key)) === last.value
      }, `${nodeName} to sync ${last.key}`)
    }

    // Ping RTTs over the same connections, in this run, before the request.
    const originKey = world.origin.node.channel.publicKey!
    const channelRttMs = await channelRtt(device.node, originKey, PINGS)
    let ephemeralRttMs = await ephemeralRtt(device.node, PINGS)
    if (world.relay) ephemeralRttMs += await ephemeralRtt(world.origin.node, PINGS) // the other hop

    const request = device.requestAuthorisation()
    await until(() => world.prompts.has(nodeName), `the prompt for ${nodeName} on the origin`)
    const prompt = world.prompts.get(nodeName)!
    if (prompt.code !== request.code) throw new VerificationError(`codes differ: ${prompt.code} vs ${request.code}`)
    if (device.writable) throw new VerificationError(`${nodeName} became writable before approval`)

    // ---- the clock: approve() called → request.done resolved -----------------------------------
    let doneAt = 0
    let approvedAt = 0
    const done = request.done.then(() => (doneAt = performance.now()))
    const start = performance.now()
    const approved = prompt.approve().then(() => (approvedAt = performance.now()))
    await withTimeout(Promise.all([done, approved]), `${nodeName} to become writable`)
    const latencyMs = doneAt - start
    const approveMs = approvedAt - start

    // ---- verification ----------------------------------------------------------------------------
    if (!device.writable || !device.node.writable) throw new VerificationError(`${nodeName}: done resolved but not writable`)
    if (prompt.status !== 'approved') throw new VerificationError(`prompt status is ${prompt.status}`)
    const entry = { key: `verify/${nodeName}`, value: `written by ${nodeName} at ${Date.now()}` }
    const putStart = performance.now()
    await device.node.put(entry.key, entry.value)
    await until(async () => {
      await world.origin.node.update()
      return (await world.origin.node.get(entry.key)) === entry.value
    }, `the origin to read ${entry.key}`)
    const putMs = performance.now() - putStart
    if (world.relay && world.relay.channel.stats.delivered !== 0) throw new VerificationError('the relay opened a secure-channel message')
    if (device.node.invalidOps !== 0 || world.origin.node.invalidOps !== 0) throw new VerificationError('ops were skipped')
    world.lastEntry = entry
    world.runs++
    return { latencyMs, approveMs, putMs, channelRttMs, ephemeralRttMs }
  } finally {
    await device.close()
  }
}

// ---- main --------------------------------------------------------------------------------------

async function main() {
  console.log(`auth latency: prompt.approve() → request.done on the new device, TCP on loopback; ${RUNS} runs per set-up, a fresh device each, a fresh origin every ${RUNS_PER_ORIGIN} runs`)
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`)
  console.log(`node ${process.version}, ${new Date().toISOString()}; Argon2id cost lowered to t=${KDF.iterations}, m=${KDF.memoryKiB} KiB (not measured)`)

  const setUps: SetUp[] = ['direct', 'relay']
  // Warm-up (JIT, lazy loads): WARMUP runs of each on a throw-away database, not counted.
  for (const setUp of setUps) {
    const world = await makeWorld(setUp)
    for (let i = 0; i < WARMUP; i++) await run(world)
    await closeWorld(world)
  }

  const worlds = new Map<SetUp, World | null>(setUps.map((s) => [s, null]))
  const samples = new Map<SetUp, Sample[]>(setUps.map((s) => [s, []]))
  const startAll = performance.now()
  // Runs alternate between the set-ups, so a burst of load from elsewhere does not land on one only.
  for (let r = 0; r < RUNS; r++) {
    for (const setUp of setUps) {
      let world: World | null = worlds.get(setUp) ?? null
      if (world && world.runs >= RUNS_PER_ORIGIN) {
        await closeWorld(world)
        world = null
      }
      if (!world) {
        world = await makeWorld(setUp)
        worlds.set(setUp, world)
      }
      samples.get(setUp)!.push(await run(world))
    }
  }
  for (const world of worlds.values()) if (world) await closeWorld(world)
  const totalS = (performance.now() - startAll) / 1000

  const labels: Record<SetUp, string> = {
    direct: 'direct: device ⇄ origin',
    relay: 'relay: device ⇄ always-on ⇄ origin'
  }
  const f = (ms: number) => ms.toFixed(1)
  const rows = setUps.map((setUp) => {
    const s = samples.get(setUp)!
    const latency = s.map((x) => x.latencyMs)
    const channel = median(s.map((x) => x.channelRttMs))
    const ephemeral = median(s.map((x) => x.ephemeralRttMs))
    return {
      'set-up': labels[setUp],
      'median (ms)': f(median(latency)),
      'p95 (ms)': f(quantile(latency, 0.95)),
      'channel ping RTT (ms)': channel.toFixed(2),
      'ephemeral ping RTT (ms)': ephemeral.toFixed(2) + (setUp === 'relay' ? ' (2 hops)' : ''),
      '÷ channel RTT': (median(latency) / channel).toFixed(1) + '×',
      '÷ ephemeral RTT': (median(latency) / ephemeral).toFixed(1) + '×',
      'approve() (ms)': f(median(s.map((x) => x.approveMs))),
      'put → origin (ms)': f(median(s.map((x) => x.putMs)))
    }
  })
  console.table(rows)
  console.log('median, p95 (nearest rank): approve() called → request.done resolved; ping RTTs: medians of the per-run medians of ' +
    `${PINGS} pings; ÷ = median latency / median ping RTT; approve(): until the add-writer op is appended on the origin; ` +
    'put → origin: the new writer\'s first put until the origin reads it')
  for (const setUp of setUps) {
    const lat = samples.get(setUp)!.map((x) => x.latencyMs)
    console.log(`${setUp}: min ${f(Math.min(...lat))}, max ${f(Math.max(...lat))} ms; all: ${lat.map((x) => Math.round(x)).join(' ')}`)
  }
  console.log(`verified: all ${RUNS * setUps.length} devices were writable when done resolved, and each one's put was read back on the origin (${totalS.toFixed(1)} s)`)
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof VerificationError ? `VERIFICATION FAILED: ${err.message}` : err)
    process.exit(1)
  }
)
