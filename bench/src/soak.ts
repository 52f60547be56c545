// One file on purpose: the node processes are this same file run with `--node`, and a benchmark's
// set-up, fault loop and final check read best top to bottom.
// Soak (issue 12): several devices and two always-on nodes over mixed transports, each device
// writing, while this driver kills and restarts processes, cuts and heals links and shifts device
// clocks, for BENCH_SOAK_SECONDS (120). At the end every acknowledged write must be on every full
// node with its value, all full nodes must list identical entries, and both always-on nodes must
// hold every writer core in full.
//
// Processes (each a HyphaNode on fileStorage in its own temp dir, so a killed one restarts from disk):
//   origin    role 'origin' (creates the database; the only indexer), writes too
//   d1..dN    BENCH_SOAK_DEVICES (3) full nodes: role 'read-only' with the shared rootSecret and the
//             database key, made writers by origin.addWriter(device.writerKey) (no auth flow)
//   aoA, aoB  role 'always-on' with origin.memberCredential; each listens on TCP and WebSocket
// Links (the dialling side holds a tcpClient / webSocketClient that re-dials, 100 ms to 1 s):
//   origin→aoA tcp, origin→aoB ws, aoA→aoB tcp, d1→aoA ws, d1→aoB tcp, d2→aoA tcp, d2→origin tcp,
//   d3→aoB ws, d3→aoA ws (more devices: alternate); the origin listens on TCP too. WebRTC: aoA also
//   runs the signalling server (@hypha/transport-webrtc/signalling-server, its room the account's
//   topic with the member key); d1 and d2 each hold a webRtcTransport (node-datachannel, loopback
//   candidates only) and meet there, so d1↔d2 is a direct data channel.
// Writers (origin and devices) put `<name>/<seq>` = `<name>:<seq>:<random>` every BENCH_SOAK_WRITE_MS
// (200); a put that resolved is acknowledged: the child tells the driver, which keeps the list.
// Faults, one every 1–4 s from a PRNG seeded with BENCH_SEED (1), on a node or link not already
// under a fault:
//   kill   SIGKILL a writer or an always-on process, restart it on the same storage 0.5–3 s later
//   cut    stop one link's dialling transport (its connection ends), start a new one 1–5 s later
//   clock  close a writer and reopen it with `now: () => Date.now() + offset`, offset within ±5 min
// Then: every fault healed, writers stopped, node.synced() on every node (60 s), then the full
// nodes' views are compared until they agree (BENCH_SOAK_SETTLE_SECONDS, 60).
// Prints duration, writes acknowledged, faults by kind, writes lost, nodes whose view differs from
// the origin's, always-on nodes missing part of a writer core; exits non-zero unless all three are 0.
//
//   npx tsc -b bench && node bench/dist/soak.js
//   env: BENCH_SOAK_SECONDS (120), BENCH_SEED (1), BENCH_SOAK_DEVICES (3), BENCH_SOAK_WRITE_MS (200),
//        BENCH_SOAK_SETTLE_SECONDS (60), BENCH_SOAK_KEEP=1 (keep the temp dirs), BENCH_SOAK_VERBOSE=1 (each fault),
//        BENCH_SOAK_WEBRTC=0 (no WebRTC link)
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { HyphaNode, type Transport } from '@hypha/node-core'
import { fileStorage } from '@hypha/storage-file'
import { tcpClient, tcpServer } from '@hypha/transport-tcp'
import { webSocketClient } from '@hypha/transport-websocket'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { candidateAddress, webRtcTransport, type WrtcImplementation } from '@hypha/transport-webrtc'
import { nodeDatachannelWrtc } from '@hypha/transport-webrtc/node-datachannel'
import { signallingServer, type SignallingServer } from '@hypha/transport-webrtc/signalling-server'
import { Child, VerificationError, WebSocket, compiledPath, machineLine, noop, runBenchmark, serveParent, tellParent, withTimeout } from './common.js'

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 120)
const SEED = Number(process.env.BENCH_SEED ?? 1)
const DEVICES = Number(process.env.BENCH_SOAK_DEVICES ?? 3)
const WRITE_MS = Number(process.env.BENCH_SOAK_WRITE_MS ?? 200)
const SETTLE_SECONDS = Number(process.env.BENCH_SOAK_SETTLE_SECONDS ?? 60)
const KEEP = process.env.BENCH_SOAK_KEEP === '1'
const VERBOSE = process.env.BENCH_SOAK_VERBOSE === '1'
const WEBRTC = process.env.BENCH_SOAK_WEBRTC !== '0'
const RECONNECT = { initialDelayMs: 100, maxDelayMs: 1000 }
const CLOCK_RANGE_MS = 5 * 60_000

type LinkKind = 'tcp' | 'ws' | 'webrtc'
interface Link {
  id: string
  from: string
  to: string
  kind: LinkKind
  port: number
}
type NodeRole = 'origin' | 'device' | 'always-on'
/** What a node process is started with (JSON in SOAK_CONFIG). */
interface NodeConfig {
  name: string
  role: NodeRole
  dir: string
  rootSecret: string
  databaseKey: string | null
  memberCredential: string | null
  listen: { tcp?: number; ws?: number; signal?: number }
  links: Link[]
  cut: string[]
  clockOffsetMs: number
}

// ================================================================================================
// A node process (`--node`)
// ================================================================================================

async function nodeMain(): Promise<void> {
  const config = JSON.parse(process.env.SOAK_CONFIG!) as NodeConfig
  const offset = config.clockOffsetMs
  const storage = await fileStorage(config.dir)
  const listeners: Transport[] = []
  if (config.listen.tcp) listeners.push(tcpServer({ port: config.listen.tcp }))
  if (config.listen.ws) listeners.push(webSocketServer({ port: config.listen.ws }))
  const common = { storage, transports: listeners, now: offset === 0 ? undefined : () => Date.now() + offset }
  const node =
    config.role === 'always-on'
      ? new HyphaNode({ ...common, role: 'always-on', memberCredential: config.memberCredential! })
      : new HyphaNode({
          ...common,
          role: config.role === 'origin' ? 'origin' : 'read-only',
          rootSecret: b4a.from(config.rootSecret, 'hex'),
          ...(config.databaseKey ? { databaseKey: b4a.from(config.databaseKey, 'hex') } : {})
        })
  node.on('error', (err) => console.error(`${config.name}: node error`, err))
  node.on('transport-error', noop)
  node.on('writer-conflict', (key) => tellParent({ type: 'anomaly', what: `writer-conflict ${b4a.toString(key, 'hex').slice(0, 8)}` }))
  await node.ready()
  // aoA also runs the WebRTC signalling server (the room: the account's topic, proven with the member key).
  let signalling: SignallingServer | null = null
  if (config.listen.signal) {
    signalling = await signallingServer({ port: config.listen.signal, host: '127.0.0.1', rooms: [[b4a.toString(node.topic, 'hex'), node.memberKey]] })
  }
  let wrtc: WrtcImplementation | null = null

  // The links this node dials: one transport each, stopped to cut it, a new one to heal it.
  const diallers = new Map<string, Transport>()
  const dial = async (link: Link) => {
    if (link.kind === 'webrtc' && !wrtc) wrtc = nodeDatachannelWrtc(await import('node-datachannel/polyfill'), { bindAddress: '127.0.0.1' })
    const t =
      link.kind === 'tcp'
        ? tcpClient({ port: link.port, reconnect: RECONNECT })
        : link.kind === 'ws'
          ? webSocketClient({ url: `ws://127.0.0.1:${link.port}`, WebSocket, reconnect: RECONNECT })
          : webRtcTransport({
              signallingUrl: `ws://127.0.0.1:${link.port}/hypha-signal`,
              wrtc: wrtc!,
              WebSocket,
              candidateFilter: (candidate) => candidateAddress(candidate) === '127.0.0.1',
              reconnect: RECONNECT
            })
    ;(t as any).on('error', noop)
    ;(t as any).on('connection-error', noop)
    diallers.set(link.id, t)
    const started = t.start({ topic: node.topic, keyPair: node.noiseKeyPair, memberKey: node.memberKey, onConnection: node.addConnection })
    // WebRTC's start rejects when the signalling server cannot be reached (aoA down): try again
    // every 500 ms in the background until it starts or the link is cut.
    const retry = (): void => {
      setTimeout(() => {
        if (diallers.get(link.id) !== t) return
        diallers.delete(link.id)
        void t.stop().catch(noop)
        void dial(link)
      }, 500)
    }
    if (link.kind === 'webrtc') started.catch(retry)
    else await started
  }
  for (const link of config.links) if (!config.cut.includes(link.id)) await dial(link)

  // Writing: `<name>/<seq>` every WRITE_MS once writable; each resolved put is reported.
  let writing = false
  let loop: Promise<void> = Promise.resolve()
  let failures = 0
  /** The put in flight: its key and when it began (to name a put that never resolves). */
  let inFlight: { key: string; since: number } | null = null
  const writeLoop = async (startSeq: number) => {
    let seq = startSeq
    // Past anything of ours already stored (a put in flight when the process was killed may have landed).
    for await (const e of node.entries({ prefix: `${config.name}/` })) seq = Math.max(seq, Number(e.key.slice(config.name.length + 1)) + 1)
    while (writing) {
      if (!node.writable) {
        await new Promise((r) => setTimeout(r, 50))
        continue
      }
      const key = `${config.name}/${seq}`
      const value = `${config.name}:${seq}:${b4a.toString(randomBytes(6), 'hex')}`
      seq++
      try {
        inFlight = { key, since: Date.now() }
        await node.put(key, value)
        inFlight = null
        tellParent({ type: 'ack', key, value })
      } catch (err) {
        inFlight = null
        failures++
        tellParent({ type: 'anomaly', what: `put ${key} failed: ${(err as Error).message}` })
      }
      await new Promise((r) => setTimeout(r, WRITE_MS))
    }
  }

  serveParent(
    {
      write: (msg: { startSeq: number }) => {
        writing = true
        loop = writeLoop(msg.startSeq)
        return {}
      },
      stop: async (msg: { timeoutMs: number }) => {
        writing = false
        const stopped = await Promise.race([loop.then(() => true), new Promise((r) => setTimeout(r, msg.timeoutMs, false))])
        if (stopped) return { failures }
        const status = node.syncStatus()
        return {
          failures,
          stuck:
            `${inFlight ? `put ${inFlight.key} pending for ${Date.now() - inFlight.since} ms` : 'the write loop did not stop (no put in flight)'}; ` +
            `writable ${node.writable}, sync ${status.state}, peers ${status.peers.map((p) => p.transport).join(' ')}`
        }
      },
      addWriter: async (msg: { key: string }) => {
        await node.addWriter(b4a.from(msg.key, 'hex'))
        return {}
      },
      cut: async (msg: { link: string }) => {
        const t = diallers.get(msg.link)
        diallers.delete(msg.link)
        await t?.stop()
        return {}
      },
      heal: async (msg: { link: string }) => {
        const link = config.links.find((l) => l.id === msg.link)!
        if (!diallers.has(link.id)) await dial(link)
        return {}
      },
      synced: async (msg: { timeoutMs: number }) => {
        try {
          await node.synced({ timeoutMs: msg.timeoutMs })
          return { synced: true }
        } catch (err) {
          return { synced: false, error: (err as Error).message }
        }
      },
      dump: async () => {
        if (config.role === 'always-on') {
          return {
            seeded: node.seeded().map((c) => ({ key: b4a.toString(c.key, 'hex'), length: c.length, contiguousLength: c.contiguousLength })),
            peers: node.peerCount,
            transports: node.connections.map((c) => c.info.transport)
          }
        }
        // A node whose update() or read hangs is named (not waited on for ever).
        const read = async () => {
          await node.update()
          const entries: Array<[string, string]> = []
          for await (const e of node.entries()) entries.push([e.key, e.value as string])
          return entries
        }
        const entries = await Promise.race([read(), new Promise<null>((r) => setTimeout(r, 20_000, null))])
        const own = node.syncStatus().cores.find((c) => node.writerKey && b4a.equals(c.key, node.writerKey))
        return { entries, ownLength: own?.length ?? null, writerKey: node.writerKey ? b4a.toString(node.writerKey, 'hex') : null, peers: node.peerCount, transports: node.connections.map((c) => c.info.transport) }
      },
      close: async () => {
        writing = false
        await loop
        for (const t of diallers.values()) await t.stop()
        await node.close()
        await signalling?.close()
        return {}
      }
    },
    {
      databaseKey: b4a.toString(node.key, 'hex'),
      memberCredential: config.role === 'always-on' ? null : node.memberCredential,
      writerKey: node.writerKey ? b4a.toString(node.writerKey, 'hex') : null
    }
  )
}

function randomBytes(n: number): Uint8Array {
  const b = b4a.alloc(n)
  sodium.randombytes_buf(b)
  return b
}

// ================================================================================================
// The driver (this process)
// ================================================================================================

/** mulberry32: a small seeded PRNG, so a run's faults can be replayed with the same BENCH_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
}

interface Proc {
  config: NodeConfig
  child: Child | null
  writerKey: string | null
  /** Busy with a fault (down, restarting, or a link of it cut). */
  busy: boolean
}

async function driverMain(): Promise<void> {
  console.log(`soak: ${machineLine()}`)
  console.log(`  ${SECONDS} s, seed ${SEED}, ${DEVICES} devices + origin writing every ${WRITE_MS} ms, 2 always-on nodes`)
  const random = prng(SEED)
  const between = (lo: number, hi: number) => lo + random() * (hi - lo)
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hypha-soak-'))
  const rootSecret = b4a.toString(randomBytes(32), 'hex')
  const file = compiledPath(import.meta.url)

  const ports = { origin: { tcp: await freePort() }, aoA: { tcp: await freePort(), ws: await freePort(), signal: await freePort() }, aoB: { tcp: await freePort(), ws: await freePort() } }
  const deviceNames = Array.from({ length: DEVICES }, (_, i) => `d${i + 1}`)
  const links: Link[] = [
    { id: 'origin-aoA', from: 'origin', to: 'aoA', kind: 'tcp', port: ports.aoA.tcp },
    { id: 'origin-aoB', from: 'origin', to: 'aoB', kind: 'ws', port: ports.aoB.ws },
    { id: 'aoA-aoB', from: 'aoA', to: 'aoB', kind: 'tcp', port: ports.aoB.tcp }
  ]
  const deviceLinks: Array<Array<[string, LinkKind]>> = [
    [['aoA', 'ws'], ['aoB', 'tcp']],
    [['aoA', 'tcp'], ['origin', 'tcp']],
    [['aoB', 'ws'], ['aoA', 'ws']]
  ]
  // WebRTC: d1 and d2 join the signalling server's room on aoA and connect to each other directly.
  if (WEBRTC) for (const name of deviceNames.slice(0, 2)) links.push({ id: `${name}-webrtc`, from: name, to: 'aoA', kind: 'webrtc', port: ports.aoA.signal })
  deviceNames.forEach((name, i) => {
    for (const [to, kind] of deviceLinks[i % deviceLinks.length]!) {
      const port = to === 'origin' ? ports.origin.tcp : kind === 'tcp' ? ports[to as 'aoA'].tcp : ports[to as 'aoA'].ws
      links.push({ id: `${name}-${to}`, from: name, to, kind, port })
    }
  })

  const procs = new Map<string, Proc>()
  const acked = new Map<string, string>()
  const nextSeq = new Map<string, number>()
  const anomalies: string[] = []
  const faults = { kill: 0, cut: 0, clock: 0 }
  const cut = new Set<string>()

  const start = async (proc: Proc) => {
    const config = { ...proc.config, cut: [...cut].filter((id) => links.find((l) => l.id === id)!.from === proc.config.name) }
    fs.writeFileSync(`${proc.config.dir}.json`, JSON.stringify(config))
    const child = await Child.fork(file, ['--node'], { SOAK_CONFIG: JSON.stringify(config) }, proc.config.name)
    child.onEvent = (msg) => {
      if (msg.type === 'ack') {
        acked.set(msg.key, msg.value)
        const [name, seq] = msg.key.split('/')
        nextSeq.set(name, Math.max(nextSeq.get(name) ?? 0, Number(seq) + 1))
      } else if (msg.type === 'anomaly') {
        anomalies.push(`${proc.config.name}: ${msg.what}`)
        console.log(`  anomaly: ${proc.config.name}: ${msg.what}`)
      }
    }
    proc.child = child
    proc.writerKey = child.ready.writerKey
    return child
  }
  const make = (name: string, role: NodeRole, extra: Partial<NodeConfig>): Proc => {
    const dir = path.join(base, name)
    fs.mkdirSync(dir)
    const proc: Proc = {
      config: { name, role, dir, rootSecret, databaseKey: null, memberCredential: null, listen: {}, links: links.filter((l) => l.from === name), cut: [], clockOffsetMs: 0, ...extra },
      child: null,
      writerKey: null,
      busy: false
    }
    procs.set(name, proc)
    return proc
  }
  const writers = () => [...procs.values()].filter((p) => p.config.role !== 'always-on')
  const startWriting = (proc: Proc) => proc.child!.ask('write', { startSeq: nextSeq.get(proc.config.name) ?? 0 })

  // Set-up: the origin, the always-on nodes, the devices (made writers).
  const origin = make('origin', 'origin', { listen: ports.origin })
  const o = await start(origin)
  const databaseKey = o.ready.databaseKey as string
  const memberCredential = o.ready.memberCredential as string
  origin.config.databaseKey = databaseKey
  for (const name of ['aoA', 'aoB'] as const) make(name, 'always-on', { memberCredential, listen: ports[name] })
  for (const name of deviceNames) make(name, 'device', { databaseKey })
  await Promise.all([...procs.values()].filter((p) => p !== origin).map(start))
  for (const name of deviceNames) await o.ask('addWriter', { key: procs.get(name)!.writerKey })
  for (const p of writers()) await startWriting(p)
  console.log(`  set up: ${procs.size} processes, ${links.length} links (${links.map((l) => `${l.id} ${l.kind}`).join(', ')})`)

  // Faults.
  const began = Date.now()
  const pending = new Set<Promise<void>>()
  const run = (what: () => Promise<void>) => {
    const p = what().catch((err) => {
      anomalies.push(`fault failed: ${(err as Error).message}`)
    })
    pending.add(p)
    void p.finally(() => pending.delete(p))
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  const log = (what: string) => {
    if (VERBOSE) console.log(`    ${((Date.now() - began) / 1000).toFixed(1)} s: ${what}`)
  }
  const restart = async (proc: Proc) => {
    await start(proc)
    if (proc.config.role !== 'always-on') await startWriting(proc)
  }
  let lastReport = began
  while (Date.now() - began < SECONDS * 1000) {
    await sleep(between(1000, 4000))
    if (Date.now() - began >= SECONDS * 1000) break
    const kind = pick(['kill', 'kill', 'cut', 'cut', 'clock'] as const)
    if (kind === 'kill') {
      const free = [...procs.values()].filter((p) => !p.busy)
      if (free.length === 0) continue
      const proc = pick(free)
      proc.busy = true
      faults.kill++
      const pause = between(500, 3000)
      log(`kill ${proc.config.name}, restart after ${pause.toFixed(0)} ms`)
      run(async () => {
        const exited = new Promise((r) => proc.child!.process.once('exit', r))
        proc.child!.process.kill('SIGKILL')
        await exited
        proc.child = null
        await sleep(pause)
        await restart(proc)
        log(`${proc.config.name} restarted`)
        proc.busy = false
      })
    } else if (kind === 'cut') {
      const free = links.filter((l) => !cut.has(l.id) && !procs.get(l.from)!.busy)
      if (free.length === 0) continue
      const link = pick(free)
      const from = procs.get(link.from)!
      from.busy = true
      cut.add(link.id)
      faults.cut++
      const pause = between(1000, 5000)
      log(`cut ${link.id} (${link.kind}), heal after ${pause.toFixed(0)} ms`)
      run(async () => {
        await from.child!.ask('cut', { link: link.id })
        await sleep(pause)
        cut.delete(link.id)
        await from.child!.ask('heal', { link: link.id })
        from.busy = false
      })
    } else {
      const free = writers().filter((p) => !p.busy)
      if (free.length === 0) continue
      const proc = pick(free)
      proc.busy = true
      faults.clock++
      const offset = Math.round(between(-CLOCK_RANGE_MS, CLOCK_RANGE_MS))
      log(`clock of ${proc.config.name}: ${offset} ms`)
      run(async () => {
        await proc.child!.close()
        proc.child = null
        proc.config.clockOffsetMs = offset
        await restart(proc)
        proc.busy = false
      })
    }
    if (Date.now() - lastReport > 15_000) {
      lastReport = Date.now()
      const per = writers().map((p) => `${p.config.name} ${nextSeq.get(p.config.name) ?? 0}`).join(', ')
      console.log(`  ${Math.round((Date.now() - began) / 1000)} s: ${acked.size} writes acknowledged (next seq: ${per}), faults ${JSON.stringify(faults)}`)
    }
  }
  await withTimeout(Promise.all([...pending]), 'the last faults to heal', 120_000)
  const faultMs = Date.now() - began

  // Stop writing, let everything sync, compare.
  for (const p of writers()) {
    const answer = await p.child!.ask('stop', { timeoutMs: 30_000 })
    if (answer.stuck) anomalies.push(`${p.config.name}: ${answer.stuck}`)
    if (answer.stuck) console.log(`  anomaly: ${p.config.name}: ${answer.stuck}`)
  }
  console.log(`  faults healed, writers stopped (${((Date.now() - began) / 1000).toFixed(0)} s)`)
  const ackedCount = acked.size
  const settleStart = Date.now()
  console.log(`  waiting for synced() on every node`)
  const syncedResults = await Promise.all([...procs.values()].map((p) => p.child!.ask('synced', { timeoutMs: 60_000 }, 70_000)))
  const notSynced = [...procs.keys()].filter((_, i) => !syncedResults[i].synced)
  let lost: string[] = []
  let differ: string[] = []
  let incomplete: string[] = []
  let lastDumps = new Map<string, any>()
  let unreadable: string[] = []
  for (;;) {
    const dumps = new Map<string, any>()
    for (const p of procs.values()) dumps.set(p.config.name, await p.child!.ask('dump'))
    lastDumps = dumps
    lost = []
    const full = writers().map((p) => p.config.name)
    unreadable = full.filter((name) => dumps.get(name).entries === null)
    for (const name of unreadable) console.log(`  anomaly: ${name}: update() and list() did not finish in 20 s`)
    const readable = full.filter((name) => !unreadable.includes(name))
    const maps = new Map(readable.map((name) => [name, new Map<string, string>(dumps.get(name).entries)]))
    for (const [key, value] of acked) {
      const missing = readable.filter((name) => maps.get(name)!.get(key) !== value)
      if (missing.length > 0) lost.push(`${key} missing on ${missing.join(',')}`)
    }
    const reference = JSON.stringify(dumps.get('origin').entries)
    differ = readable.filter((name) => JSON.stringify(dumps.get(name).entries) !== reference)
    incomplete = []
    for (const name of ['aoA', 'aoB']) {
      const seeded = dumps.get(name).seeded as Array<{ key: string; length: number; contiguousLength: number }>
      for (const w of full) {
        const d = dumps.get(w)
        const core = seeded.find((c) => c.key === d.writerKey)
        if (!core || core.contiguousLength < d.ownLength) incomplete.push(`${name} holds ${core ? core.contiguousLength : 'none'} of ${w}'s ${d.ownLength}`)
      }
    }
    if ((lost.length === 0 && differ.length === 0 && incomplete.length === 0 && unreadable.length === 0) || Date.now() - settleStart > SETTLE_SECONDS * 1000) {
      if (differ.length > 0) {
        for (const name of differ) {
          const mine = new Map<string, string>(dumps.get(name).entries)
          const ref = new Map<string, string>(dumps.get('origin').entries)
          const only = [...mine.keys()].filter((k) => !ref.has(k)).length
          const without = [...ref.keys()].filter((k) => !mine.has(k)).length
          console.log(`  ${name}: ${mine.size} entries, origin ${ref.size}; ${only} only here, ${without} missing here`)
        }
      }
      break
    }
    await sleep(1000)
  }
  const settleMs = Date.now() - settleStart
  const connectionLine = [...procs.keys()]
    .map((name) => {
      const counts: Record<string, number> = {}
      for (const t of lastDumps.get(name).transports as string[]) counts[t] = (counts[t] ?? 0) + 1
      return `${name} ${Object.entries(counts).map(([t, n]) => `${t}×${n}`).join(' ')}`
    })
    .join(', ')

  for (const p of procs.values()) await p.child!.close()
  if (!KEEP) fs.rmSync(base, { recursive: true, force: true })
  else console.log(`  storage kept in ${base}`)

  console.log(`  duration: ${(faultMs / 1000).toFixed(0)} s under faults, ${(settleMs / 1000).toFixed(1)} s to converge after`)
  console.log(`  writes acknowledged: ${ackedCount} (${writers().map((p) => `${p.config.name} ${[...acked.keys()].filter((k) => k.startsWith(p.config.name + '/')).length}`).join(', ')})`)
  console.log(`  faults injected: ${faults.kill + faults.cut + faults.clock} (kill+restart ${faults.kill}, link cut+heal ${faults.cut}, clock shift ${faults.clock})`)
  console.log(`  connections at the end: ${connectionLine}`)
  console.log(`  not synced() within 60 s: ${notSynced.length === 0 ? 'none' : notSynced.join(', ')}`)
  console.log(`  anomalies: ${anomalies.length === 0 ? 'none' : ''}`)
  for (const a of anomalies.slice(0, 20)) console.log(`    ${a}`)
  console.log(`  writes lost: ${lost.length} (must be 0)`)
  for (const l of lost.slice(0, 20)) console.log(`    ${l}`)
  console.log(`  full nodes whose view differs from the origin's: ${differ.length} (must be 0)${differ.length ? ': ' + differ.join(', ') : ''}`)
  console.log(`  full nodes whose view could not be read (update() + list() over 20 s): ${unreadable.length} (must be 0)${unreadable.length ? ': ' + unreadable.join(', ') : ''}`)
  console.log(`  always-on writer cores not held in full: ${incomplete.length} (must be 0)`)
  for (const l of incomplete.slice(0, 20)) console.log(`    ${l}`)
  if (lost.length > 0 || differ.length > 0 || incomplete.length > 0 || unreadable.length > 0) throw new VerificationError('the soak found lost writes or diverging nodes')
}

/**
 * `--probe <dir>`: reopens a node kept by BENCH_SOAK_KEEP=1 (its config is `<dir>.json`) with no
 * transport, and reads its view (update() then list(), 20 s at most): does the stored state alone
 * hang or fail?
 */
async function probeMain(dir: string): Promise<void> {
  const config = JSON.parse(fs.readFileSync(`${dir}.json`, 'utf8')) as NodeConfig
  const storage = await fileStorage(dir)
  const node = new HyphaNode({ storage, role: config.role === 'origin' ? 'origin' : 'read-only', rootSecret: b4a.from(config.rootSecret, 'hex'), ...(config.databaseKey ? { databaseKey: b4a.from(config.databaseKey, 'hex') } : {}) })
  node.on('error', (err) => console.error('node error', err))
  const t0 = Date.now()
  await withTimeout(node.ready(), 'ready()', 20_000)
  console.log(`ready in ${Date.now() - t0} ms; writable ${node.writable}`)
  const t1 = Date.now()
  await withTimeout(node.update(), 'update()', 20_000)
  console.log(`update() in ${Date.now() - t1} ms`)
  const t2 = Date.now()
  const entries = await withTimeout(node.list(), 'list()', 20_000)
  console.log(`list(): ${entries.length} entries in ${Date.now() - t2} ms`)
  await withTimeout(node.put(`probe/${Date.now()}`, 'x'), 'put()', 20_000).then(() => console.log('put() resolved'))
  await node.close()
}

if (process.argv.includes('--probe')) {
  runBenchmark(() => probeMain(process.argv[process.argv.indexOf('--probe') + 1]!), 'probe')
} else if (process.argv.includes('--node')) {
  nodeMain().catch((err) => {
    console.error('soak node:', err)
    process.exit(1)
  })
} else {
  runBenchmark(driverMain, 'soak: FAILED')
}
