// Outside reference for bench/src/auth-latency.ts: holepunch's autopass, invite-based pairing.
// On a hyperdht testnet bound to 127.0.0.1 (3 nodes), an existing Autopass A makes an invite; a
// fresh device B calls Autopass.pair(store, invite). Timed per run:
//   invite → paired:     Autopass.pair() called → pair.finished() resolved (B is writable).
//                        Includes DHT lookup and connecting: there is no "approve" step, the invite
//                        is the approval.
//   connected → paired:  B's first swarm connection → finished(): the nearest analogue of Hypha's
//                        approve() → request.done (blind-pairing request/answer, add-writer op on A,
//                        replication to B, apply on B).
// Baselines in the same run, on the same testnet: a plain Hyperswarm pair joining a fresh topic
// (join → connection) and the RTT of a ping/echo on that connection (Noise secret-stream).
// Verifies each run (B.writable, and an entry B adds is read back on A) and exits non-zero on failure.
//
//   npm install && node pair-latency.js
//   env: BENCH_RUNS (30), BENCH_RUNS_PER_ORIGIN (10: a fresh A every that many pairings), BENCH_PINGS (5)
import os from 'node:os'
import fs from 'node:fs/promises'
import path from 'node:path'
import crypto from 'node:crypto'
import { createRequire } from 'node:module'

const RUNS = Number(process.env.BENCH_RUNS ?? 30)
const RUNS_PER_ORIGIN = Number(process.env.BENCH_RUNS_PER_ORIGIN ?? 10)
const PINGS = Number(process.env.BENCH_PINGS ?? 5)
const STEP_TIMEOUT_MS = 30_000

class VerificationError extends Error {}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}
function p95(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)]
}
function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new VerificationError(`timed out after ${ms} ms waiting for ${what}`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}
async function until(check, what, ms = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new VerificationError(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

// ---- loading: report exactly what fails ---------------------------------------------------------
async function load() {
  const step = async (name, fn) => {
    try {
      return await fn()
    } catch (err) {
      console.error(`autopass reference could not run: ${name} failed:`)
      console.error(err)
      console.error('(install with `npm install` in bench/autopass; it needs autopass 3 → hypercore 11, corestore 7, rocksdb-native)')
      process.exit(2)
    }
  }
  // Loopback only (see DESIGN.md, Hyperswarm on a hyperdht testnet): a swarm built from just
  // `bootstrap` binds its DHT to 0.0.0.0 and its connections time out here (this machine's eth0
  // address is not reachable), so every Hyperswarm, autopass's own included, gets a DHT bound to
  // 127.0.0.1. Autopass builds its swarms itself from `{ keyPair, bootstrap, relayThrough }`, so the
  // class it requires is swapped in the CommonJS cache for a subclass that only adds `dht`.
  const require = createRequire(import.meta.url)
  const DHT = await step("require('hyperdht')", () => require('hyperdht'))
  const Hyperswarm = await step("require('hyperswarm')", () => {
    const hyperswarmPath = require.resolve('hyperswarm', { paths: [path.dirname(require.resolve('autopass'))] })
    if (hyperswarmPath !== require.resolve('hyperswarm')) throw new Error(`two copies of hyperswarm: ${hyperswarmPath}`)
    const Original = require(hyperswarmPath)
    class LoopbackHyperswarm extends Original {
      constructor(opts = {}) {
        super({ ...opts, dht: opts.dht ?? new DHT({ bootstrap: opts.bootstrap, host: '127.0.0.1' }) })
      }
    }
    require.cache[hyperswarmPath].exports = LoopbackHyperswarm
    return LoopbackHyperswarm
  })
  const Autopass = (await step("import('autopass')", () => import('autopass'))).default
  const Corestore = (await step("import('corestore')", () => import('corestore'))).default
  const createTestnet = (await step("import('hyperdht/testnet.js')", () => import('hyperdht/testnet.js'))).default
  return { Autopass, Corestore, Hyperswarm, createTestnet }
}

const { Autopass, Corestore, Hyperswarm, createTestnet } = await load()

const tmpRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'autopass-bench-'))
let dirSeq = 0
const freshDir = () => path.join(tmpRoot, `store-${++dirSeq}`)

// ---- baseline: plain Hyperswarm connect + ping RTT -------------------------------------------------
async function swarmBaseline(bootstrap) {
  const a = new Hyperswarm({ bootstrap })
  const b = new Hyperswarm({ bootstrap })
  try {
    a.on('connection', (conn) => {
      conn.on('data', (data) => conn.write(data)) // echo
      conn.on('error', () => {})
    })
    const topic = crypto.randomBytes(32)
    await withTimeout(a.join(topic, { server: true, client: false }).flushed(), 'the server swarm to announce')
    const start = performance.now()
    const connected = new Promise((resolve) => b.once('connection', resolve))
    b.join(topic, { server: false, client: true })
    const conn = await withTimeout(connected, 'a plain hyperswarm connection')
    const connectMs = performance.now() - start
    conn.on('error', () => {})
    const rtts = []
    for (let i = 0; i < PINGS; i++) {
      const id = Buffer.from(`ping ${i}`)
      const echoed = new Promise((resolve) => {
        const on = (data) => {
          if (data.equals(id)) {
            conn.off('data', on)
            resolve()
          }
        }
        conn.on('data', on)
      })
      const t = performance.now()
      conn.write(id)
      await withTimeout(echoed, 'a ping echo')
      rtts.push(performance.now() - t)
    }
    return { connectMs, rttMs: median(rtts) }
  } finally {
    await b.destroy()
    await a.destroy()
  }
}

// ---- autopass -------------------------------------------------------------------------------------
async function makeOrigin(bootstrap) {
  const pass = new Autopass(new Corestore(freshDir()), { bootstrap })
  await withTimeout(pass.ready(), 'autopass A to be ready')
  if (!pass.writable) throw new VerificationError('A is not writable')
  return { pass, runs: 0 }
}

async function pairOnce(origin, bootstrap, n) {
  const invite = await withTimeout(origin.pass.createInvite(), 'createInvite')
  const store = new Corestore(freshDir())
  let connectedAt = 0
  const start = performance.now()
  const pairer = Autopass.pair(store, invite, { bootstrap })
  const finished = pairer.finished()
  await pairer.ready()
  // The pairer's own swarm: its first connection (to A) marks "connected".
  pairer.swarm?.once('connection', () => {
    if (!connectedAt) connectedAt = performance.now()
  })
  const b = await withTimeout(finished, `device ${n} to pair`)
  const pairedAt = performance.now()
  try {
    await b.ready()
    if (!b.writable) throw new VerificationError(`device ${n} is not writable after pairing`)
    const key = `verify/device-${n}`
    const value = `written by device ${n} at ${Date.now()}`
    const putStart = performance.now()
    await b.add(key, value)
    await until(async () => (await origin.pass.get(key))?.value === value, `A to read ${key}`)
    const putMs = performance.now() - putStart
    return {
      inviteMs: pairedAt - start,
      connectedMs: connectedAt ? pairedAt - connectedAt : NaN,
      putMs
    }
  } finally {
    await b.close()
  }
}

async function main() {
  console.log(`autopass pairing: Autopass.pair(invite) → finished() (writable), hyperdht testnet on 127.0.0.1; ${RUNS} runs, a fresh device each, a fresh A every ${RUNS_PER_ORIGIN}`)
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`)
  const versions = {}
  for (const name of ['autopass', 'autobase', 'corestore', 'hypercore', 'hyperswarm', 'hyperdht', 'blind-pairing', 'rocksdb-native']) {
    try {
      versions[name] = JSON.parse(await fs.readFile(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version
    } catch {
      versions[name] = '?'
    }
  }
  console.log(`node ${process.version}, ${new Date().toISOString()}; ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}`)

  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  const bootstrap = testnet.bootstrap
  const samples = []
  const baselines = []
  let origin = null
  let failure = null
  const startAll = performance.now()
  try {
    // Warm-up, not counted.
    baselines.push(await swarmBaseline(bootstrap))
    origin = await makeOrigin(bootstrap)
    await pairOnce(origin, bootstrap, 0)
    origin.runs++
    baselines.length = 0

    for (let r = 1; r <= RUNS; r++) {
      if (origin.runs >= RUNS_PER_ORIGIN) {
        await origin.pass.close()
        origin = await makeOrigin(bootstrap)
      }
      baselines.push(await swarmBaseline(bootstrap))
      samples.push(await pairOnce(origin, bootstrap, r))
      origin.runs++
    }
  } catch (err) {
    failure = err
  } finally {
    await origin?.pass.close().catch(() => {})
    await testnet.destroy()
    await fs.rm(tmpRoot, { recursive: true, force: true })
  }
  if (failure) throw failure

  const f = (ms) => ms.toFixed(1)
  const invite = samples.map((s) => s.inviteMs)
  const connected = samples.map((s) => s.connectedMs).filter((x) => !Number.isNaN(x))
  const connectMs = median(baselines.map((b) => b.connectMs))
  const rttMs = median(baselines.map((b) => b.rttMs))
  console.table([
    {
      case: 'autopass: invite → paired (writable)',
      'median (ms)': f(median(invite)),
      'p95 (ms)': f(p95(invite)),
      '÷ ping RTT': (median(invite) / rttMs).toFixed(0) + '×',
      '÷ swarm connect': (median(invite) / connectMs).toFixed(1) + '×'
    },
    {
      case: 'autopass: connected → paired (writable)',
      'median (ms)': connected.length ? f(median(connected)) : 'n/a',
      'p95 (ms)': connected.length ? f(p95(connected)) : 'n/a',
      '÷ ping RTT': connected.length ? (median(connected) / rttMs).toFixed(0) + '×' : 'n/a',
      '÷ swarm connect': ''
    },
    { case: 'baseline: hyperswarm join → connection', 'median (ms)': f(connectMs), 'p95 (ms)': f(p95(baselines.map((b) => b.connectMs))), '÷ ping RTT': '', '÷ swarm connect': '' },
    { case: 'baseline: ping RTT on that connection', 'median (ms)': rttMs.toFixed(2), 'p95 (ms)': p95(baselines.map((b) => b.rttMs)).toFixed(2), '÷ ping RTT': '', '÷ swarm connect': '' }
  ])
  console.log(`connected → paired measured in ${connected.length}/${samples.length} runs; put → A: median ${f(median(samples.map((s) => s.putMs)))} ms`)
  console.log(`invite → paired, all: ${invite.map((x) => Math.round(x)).join(' ')}`)
  console.log(`verified: all ${samples.length} devices were writable when paired, and each one's entry was read back on A (${((performance.now() - startAll) / 1000).toFixed(1)} s)`)
  // For bench/src/auth-latency.ts, which runs this script as a child in its own run and prints these beside its figures.
  console.log(`AUTOPASS_RESULT ${JSON.stringify({ runs: samples.length, inviteMedianMs: median(invite), inviteP95Ms: p95(invite), connectedMedianMs: connected.length ? median(connected) : null, swarmConnectMs: connectMs, pingRttMs: rttMs, versions })}`)
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof VerificationError ? `VERIFICATION FAILED: ${err.message}` : err)
    process.exit(1)
  }
)
