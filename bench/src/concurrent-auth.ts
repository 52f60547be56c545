// Concurrent authorisation: BENCH_DEVICES (20) new devices (`signIn`, each its own node
// name) ask one origin (`signUp`) to be authorised at the same moment; the origin's
// `authorisation-request` handler approves every prompt as it arrives. TCP on 127.0.0.1, two set-ups:
//   direct: every device dials the origin (origin: tcpServer; devices: tcpClient)
//   relay:  origin and devices are all tcpClients of an always-on HyphaNode (tcpServer, given the
//           origin's locator) and share no connection: lookups, requests, approvals and the database
//           all go through the relay
// The clock runs from the first `requestAuthorisation()` call (all are made in the same tick) until
// every device's `request.done` has resolved (each really is writable): request → the origin's
// challenge → the device's reveal → the prompt (approved at once) → add-writer op → replication and
// apply on the device. Baseline, same run and same
// way: one device alone. Median of BENCH_ROUNDS (3) rounds, a fresh database (origin, relay) for
// every round and case.
//
// Verified (non-zero exit on failure): the origin got exactly one prompt per request (counted by
// requestId, also after waiting past a re-send), for every device and no other; all were approved;
// every device is writable and in the origin's device registry under its name; each device then
// writes one entry and the origin reads all of them back.
// Before the clock starts every device is connected and has synced the database (it reads the
// origin's first entry). Prints; no thresholds.
//
//   npx tsc -b && node bench/dist/concurrent-auth.js
//   env: BENCH_DEVICES (20), BENCH_ROUNDS (3), BENCH_SETUPS ("direct,relay")
import os from 'node:os'
import b4a from 'b4a'
import { HyphaNode, type Transport } from '@hypha/node-core'
import { tcpServer, tcpClient } from '@hypha/transport-tcp'
import { signUp, signIn, generatePassphrase, type Account, type AuthorisationPrompt } from '@hypha/auth'
import { BENCH_KDF as KDF, VerificationError, median, runBenchmark, startTransportFor, until, withTimeout } from './common.js'

const DEVICES = Number(process.env.BENCH_DEVICES ?? 20)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SETUPS = (process.env.BENCH_SETUPS ?? 'direct,relay').split(',').map((s) => s.trim()) as SetUp[]
// Argon2id at a trivial cost: the KDF runs once per sign-up/sign-in and is not what is measured.
const VERBOSE = process.env.BENCH_VERBOSE === '1'
/** The re-send interval of a request (the default, 2 s): the prompt count is checked again after it. */
const RETRY_MS = 2_000

type SetUp = 'direct' | 'relay'

interface Sample {
  /** First request → last device writable. */
  totalMs: number
  /** Per device: first request → its request.done. */
  perDeviceMs: number[]
  /** First request → the last prompt shown on the origin. */
  promptsMs: number
  /** First request → the last approve() resolved on the origin (its add-writer op appended). */
  approvedMs: number
  /** Every device's put (all at once) → the origin reads every entry. */
  writesMs: number
}

// ---- helpers -----------------------------------------------------------------------------------

function race<T>(promise: Promise<T>, what: string, timeoutMs: number, reportedMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new VerificationError(`timed out after ${reportedMs} ms waiting for ${what}`)), timeoutMs)
    })
  ]).finally(() => clearTimeout(timer))
}

const hex = (bytes: Uint8Array) => b4a.toString(bytes, 'hex')

// ---- one measurement: `devices` devices ask at once ---------------------------------------------

let worldSeq = 0

async function measure(setUp: SetUp, devices: number): Promise<Sample> {
  const name = `concurrent-${setUp}-${++worldSeq}@example.com`
  const passphrase = generatePassphrase()
  let relay: HyphaNode | null = null
  let port: number
  // The origin is alone: no existing-account check. In the relay set-up it signs up without a
  // transport, the always-on node is then given its locator, and the origin dials it.
  const originServer = setUp === 'direct' ? tcpServer({ port: 0 }) : null
  const origin = await withTimeout(
    signUp({ name, passphrase, nodeName: 'Origin', kdf: KDF, transports: originServer ? [originServer] : [], existingAccountCheckMs: 0 }),
    'sign-up'
  )
  let originClient: Transport | null = null
  if (setUp === 'relay') {
    const server = tcpServer({ port: 0 })
    relay = new HyphaNode({ role: 'always-on', locator: origin.node.locator, transports: [server] })
    await withTimeout(relay.ready(), 'the relay to start')
    port = server.port!
    originClient = tcpClient({ port, reconnect: false })
    await startTransportFor(origin.node, originClient)
  } else {
    port = originServer!.port!
  }
  const accounts: Account[] = []
  try {
    if (!origin.writable) throw new VerificationError('the origin is not writable')
    await withTimeout(origin.node.put('hello', 'from the origin'), 'the origin\'s first put')

    // Prompts on the origin, counted by requestId; each approved as it arrives.
    const promptCount = new Map<string, number>()
    const prompts: AuthorisationPrompt[] = []
    const approvals: Promise<void>[] = []
    let lastPromptAt = 0
    let lastApprovedAt = 0
    origin.on('authorisation-request', (prompt) => {
      const id = hex(prompt.requestId)
      promptCount.set(id, (promptCount.get(id) ?? 0) + 1)
      prompts.push(prompt)
      lastPromptAt = performance.now()
      approvals.push(prompt.approve().then(() => void (lastApprovedAt = performance.now())))
    })

    // The devices sign in, connect and sync before the clock starts.
    for (let i = 0; i < devices; i++) {
      accounts.push(
        await withTimeout(
          signIn({ passphrase, name, nodeName: `Device ${i + 1}`, kdf: KDF, transports: [tcpClient({ port, reconnect: false })] }),
          `Device ${i + 1} to sign in`
        )
      )
    }
    const expectedOriginPeers = setUp === 'relay' ? 1 : devices
    await until(
      () => accounts.every((a) => a.node.ephemeral.peers.length === 1) && origin.node.ephemeral.peers.length === expectedOriginPeers,
      'every device to connect'
    )
    if (relay) await until(() => relay!.ephemeral.peers.length === devices + 1, 'every node to connect to the relay')
    for (const a of accounts) {
      if (a.writable) throw new VerificationError(`${a.nodeName} is writable before approval`)
      await until(async () => {
        await a.node.update()
        return (await a.node.get('hello')) === 'from the origin'
      }, `${a.nodeName} to sync`)
    }

    // ---- the clock: all requests in one tick → every device writable ----------------------------
    const doneAt = new Array<number>(devices).fill(0)
    const start = performance.now()
    const requests = accounts.map((a) => a.requestAuthorisation({ retryMs: RETRY_MS }))
    const done = requests.map((r, i) => r.done.then(() => void (doneAt[i] = performance.now())))
    await withTimeout(Promise.all(done), `all ${devices} devices to become writable`)
    const totalMs = Math.max(...doneAt) - start
    await withTimeout(Promise.all(approvals), 'the approvals to finish')

    // ---- verification ------------------------------------------------------------------------------
    for (const a of accounts) if (!a.writable || !a.node.writable) throw new VerificationError(`${a.nodeName}: done resolved but not writable`)
    const checkPrompts = () => {
      if (promptCount.size !== devices) throw new VerificationError(`${promptCount.size} distinct prompts on the origin, expected ${devices}`)
      for (const r of requests) {
        const n = promptCount.get(hex(r.requestId)) ?? 0
        if (n !== 1) throw new VerificationError(`request ${hex(r.requestId).slice(0, 8)} was prompted ${n} times, expected once`)
      }
      const names = new Set(prompts.map((p) => p.nodeName))
      if (names.size !== devices) throw new VerificationError(`prompts name ${names.size} distinct devices, expected ${devices}`)
      for (const p of prompts) if (p.status !== 'approved') throw new VerificationError(`the prompt of ${p.nodeName} is ${p.status}`)
    }
    checkPrompts()

    // Each device writes once (all at once); the origin reads every entry back.
    const writeStart = performance.now()
    await withTimeout(Promise.all(accounts.map((a) => a.node.put(`device/${a.nodeName}`, `written by ${a.nodeName}`))), 'the devices\' puts')
    await until(async () => {
      await origin.node.update()
      const entries = await origin.node.list({ gte: 'device/', lt: 'device0' })
      return entries.length === devices
    }, `the origin to read all ${devices} entries`)
    const writesMs = performance.now() - writeStart
    const entries = await origin.node.list({ gte: 'device/', lt: 'device0' })
    for (const a of accounts) {
      const e = entries.find((x) => x.key === `device/${a.nodeName}`)
      if (!e || e.value !== `written by ${a.nodeName}`) throw new VerificationError(`the origin did not read ${a.nodeName}'s entry`)
    }
    if (origin.node.invalidOps !== 0 || accounts.some((a) => a.node.invalidOps !== 0)) throw new VerificationError('ops were skipped')
    // The registry: the origin and every device, active (besides the recovery key signUp adds).
    const registered = (await origin.devices()).filter((d) => d.active && !d.recovery)
    if (registered.length !== devices + 1) throw new VerificationError(`${registered.length} active devices, expected ${devices + 1}`)
    for (const a of accounts) {
      const d = registered.find((x) => b4a.equals(x.writerKey, a.node.writerKey!))
      if (!d || d.name !== a.nodeName) throw new VerificationError(`${a.nodeName} is not in the registry under its name`)
    }
    if (relay && relay.channel.stats.delivered !== 0) throw new VerificationError('the relay opened a secure-channel message')

    // Re-sends must not make a second prompt: wait past the re-send interval, count again. (The
    // requests stop re-sending once done; this catches a stray re-send in flight at that moment.)
    await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS, 500)))
    checkPrompts()

    return {
      totalMs,
      perDeviceMs: doneAt.map((t) => t - start),
      promptsMs: lastPromptAt - start,
      approvedMs: lastApprovedAt - start,
      writesMs
    }
  } finally {
    for (const a of accounts) await withTimeout(a.close(), `${a.nodeName} to close`)
    await originClient?.stop()
    await withTimeout(origin.close(), 'the origin to close')
    if (relay) await withTimeout(relay.close(), 'the relay to close')
  }
}

// ---- main --------------------------------------------------------------------------------------

async function main() {
  console.log(`concurrent authorisation: ${DEVICES} devices request at once, the origin approves every prompt; TCP on 127.0.0.1; ` +
    `median of ${ROUNDS} rounds, a fresh database each`)
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`)
  console.log(`node ${process.version}, ${new Date().toISOString()}; Argon2id cost lowered to t=${KDF.iterations}, m=${KDF.memoryKiB} KiB (not measured)`)

  const startAll = performance.now()
  for (const setUp of SETUPS) await measure(setUp, 1) // warm-up, not counted
  const samples = new Map<string, Sample[]>()
  // Rounds alternate set-ups and sizes, so a burst of load from elsewhere does not land on one only.
  for (let r = 0; r < ROUNDS; r++) {
    for (const setUp of SETUPS) {
      for (const devices of [1, DEVICES]) {
        const key = `${setUp}/${devices}`
        samples.set(key, [...(samples.get(key) ?? []), await measure(setUp, devices)])
      }
    }
  }
  const totalS = (performance.now() - startAll) / 1000

  const labels: Record<SetUp, string> = { direct: 'direct: devices ⇄ origin', relay: 'relay: devices ⇄ always-on ⇄ origin' }
  const f = (ms: number) => ms.toFixed(0)
  const rows = []
  for (const setUp of SETUPS) {
    const one = samples.get(`${setUp}/1`)!
    const many = samples.get(`${setUp}/${DEVICES}`)!
    const oneTotal = median(one.map((s) => s.totalMs))
    for (const [devices, s] of [[1, one], [DEVICES, many]] as const) {
      const total = median(s.map((x) => x.totalMs))
      const perDevice = median(s.map((x) => median(x.perDeviceMs)))
      rows.push({
        'set-up': labels[setUp],
        devices: devices === 1 ? '1 (baseline)' : String(devices),
        'all writable (ms)': f(total),
        'total vs 1': (total / oneTotal).toFixed(2) + '×',
        'per device, median (ms)': f(perDevice),
        'per device vs 1': (perDevice / oneTotal).toFixed(2) + '×',
        'total ÷ devices (ms)': (total / devices).toFixed(1),
        'last prompt (ms)': f(median(s.map((x) => x.promptsMs))),
        'last approve() (ms)': f(median(s.map((x) => x.approvedMs))),
        'puts → origin reads all (ms)': f(median(s.map((x) => x.writesMs)))
      })
    }
  }
  console.table(rows)
  console.log('all writable: from the first requestAuthorisation() (all made in one tick) until the last request.done; per device: ' +
    'median over devices of request → its done; last prompt / last approve(): when the last prompt reached the origin / the ' +
    'last add-writer op was appended there; puts → origin reads all: every device puts one entry at once until the origin lists ' +
    'them all. Medians over rounds; ratios against the single-device "all writable" time of the same set-up.')
  for (const [key, s] of samples) console.log(`${key}: all writable per round ${s.map((x) => f(x.totalMs)).join(', ')} ms`)
  for (const setUp of SETUPS) {
    const one = median(samples.get(`${setUp}/1`)!.map((s) => s.totalMs))
    const many = median(samples.get(`${setUp}/${DEVICES}`)!.map((s) => s.totalMs))
    console.log(`${setUp}: ${DEVICES} devices all writable in ${(many / one).toFixed(2)}× one device's time (${f(many)} vs ${f(one)} ms; issue 14's target ≤ 3×)`)
  }
  console.log(`verified: one prompt per request (by requestId) for every device, all approved, every device writable and its ` +
    `entry read back on the origin, ${ROUNDS} rounds (${totalS.toFixed(1)} s)`)
}

runBenchmark(main)
