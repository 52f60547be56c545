// Time for a fresh read-only node in Chromium (Debian's, driven by playwright-core) to sync a
// database of N entries (default 3,000) from a Node origin over WebSocket on 127.0.0.1, on memory
// and on IndexedDB storage, against a fresh read-only node in Node over the same WebSocket server
// in the same run (the baseline). Both run the same code (browser-sync/reader.ts): from connecting
// until list() returns every entry, checked against what the origin wrote. Exits non-zero if an
// entry is wrong or missing, or if Chromium is missing. Prints; no thresholds.
//
//   npx tsc -b && node bench/dist/browser-sync.js
//   env: BENCH_ENTRIES (3000), BENCH_ROUNDS (3), BENCH_BATCH (500), BENCH_VALUE_BYTES (100),
//        BENCH_PROFILE=1 (one more round of each case under the CPU profiler — Chromium's through
//        CDP, Node's through node:inspector — and prints self time per function and per package)
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Session } from 'node:inspector/promises'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { HyphaNode, memoryStorage } from '@hypha/node-core'
import { webSocketClient } from '@hypha/transport-websocket'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { buildBrowserBundle } from '@hypha/browser'
import { CHROMIUM, pageInChromium, type ChromiumPage } from '@hypha/test-utils/chromium'
import { VerificationError, WebSocket, machineLine, median, packageOf, runBenchmark } from './common.js'
import { keyOf, syncReader, valueOf, type SyncResult } from './browser-sync/reader.js'
import type { PageCounts } from './browser-sync/page.js'

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 3_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const BATCH = Number(process.env.BENCH_BATCH ?? 500)
const VALUE_BYTES = Number(process.env.BENCH_VALUE_BYTES ?? 100)
const PROFILE = process.env.BENCH_PROFILE === '1'
const TIMEOUT_MS = 300_000
const PAGE_ENTRY = fileURLToPath(new URL('../src/browser-sync/page.ts', import.meta.url))

type Case = 'node' | 'chromium-memory' | 'chromium-idb'
const CASES: Array<[Case, string]> = [
  ['node', 'read-only node in Node, memory (baseline)'],
  ['chromium-memory', 'read-only node in Chromium, memory'],
  ['chromium-idb', 'read-only node in Chromium, IndexedDB']
]

interface Origin {
  node: HyphaNode
  url: string
  rootSecret: Uint8Array
  writeMs: number
}

async function makeOrigin(): Promise<Origin> {
  // The passphrase step (Argon2id) is not what is measured: a fixed 32-byte root secret.
  const rootSecret = b4a.alloc(32)
  sodium.crypto_generichash(rootSecret, b4a.from('bench browser sync'))
  const server = webSocketServer({ port: 0, host: '127.0.0.1' })
  const node = new HyphaNode({ role: 'origin', rootSecret, storage: memoryStorage(), transports: [server] })
  await node.ready()
  const start = performance.now()
  for (let i = 0; i < ENTRIES; i += BATCH) {
    const ops = []
    for (let j = i; j < Math.min(i + BATCH, ENTRIES); j++) ops.push({ type: 'put' as const, key: keyOf(j), value: valueOf(j, VALUE_BYTES) })
    await node.batch(ops)
  }
  await node.update()
  return { node, url: `ws://127.0.0.1:${server.address()!.port}`, rootSecret, writeMs: performance.now() - start }
}

let dbSeq = 0

async function run(kind: Case, origin: Origin, page: ChromiumPage): Promise<SyncResult & { counts?: PageCounts }> {
  const common = { entries: ENTRIES, valueBytes: VALUE_BYTES, timeoutMs: TIMEOUT_MS }
  let result: SyncResult & { counts?: PageCounts }
  if (kind === 'node') {
    result = await syncReader({
      ...common,
      rootSecret: origin.rootSecret,
      databaseKey: origin.node.key,
      storage: memoryStorage(),
      transport: webSocketClient({ url: origin.url, WebSocket, reconnect: false })
    })
  } else {
    const options = {
      ...common,
      url: origin.url,
      rootSecret: b4a.toString(origin.rootSecret, 'hex'),
      databaseKey: b4a.toString(origin.node.key, 'hex'),
      storage: kind === 'chromium-idb' ? ('idb' as const) : ('memory' as const),
      // A new IndexedDB database each round: a fresh device.
      dbName: `bench-sync-${++dbSeq}`
    }
    result = await page.browser.page.evaluate((o) => window.hyphaBenchSync.sync(o), options)
  }
  if (result.error) throw new VerificationError(`${kind}: ${result.error}`)
  return result
}

// ---- profiles ------------------------------------------------------------------------------------

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

/** The bundle's module of each line: esbuild writes `// path/to/module.js` before each module. */
function bundleModules(code: string): (line: number) => string {
  const starts: Array<[number, string]> = []
  code.split('\n').forEach((text, i) => {
    const m = /^\/\/ (\S+\.[cm]?[jt]s)$/.exec(text)
    if (m) starts.push([i, m[1]!])
  })
  return (line) => {
    let lo = 0
    let hi = starts.length - 1
    let found = '(bundle)'
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (starts[mid]![0] <= line) ((found = starts[mid]![1]), (lo = mid + 1))
      else hi = mid - 1
    }
    return found
  }
}

/** Self time per function and per package, the top `top` of each, as printed lines. */
function summarise(profile: CpuProfile, moduleOf: ((url: string, line: number) => string) | null, top = 18): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0))
  const total = (profile.endTime - profile.startTime) / 1000
  const fns = new Map<string, number>()
  const pkgs = new Map<string, number>()
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    const module = url ? (moduleOf ? moduleOf(url, lineNumber) : url.replace(/^file:\/\//, '')) : ''
    const name = `${functionName || '(anonymous)'} ${module ? module.split('/').slice(-2).join('/') : ''}`.trim()
    fns.set(name, (fns.get(name) ?? 0) + us / 1000)
    const pkg = module ? (packageOf(module) ?? (module.split('/').slice(-2).join('/') || '(native/idle)')) : functionName.startsWith('(') ? functionName : '(native)'
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us / 1000)
  }
  const lines = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, ms]) => `    ${ms.toFixed(0).padStart(6)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
  return [`  ${total.toFixed(0)} ms profiled; self time per package:`, ...lines(pkgs), '  per function:', ...lines(fns)]
}

async function profileRound(kind: Case, origin: Origin, page: ChromiumPage, bundle: string): Promise<string[]> {
  if (kind === 'node') {
    // The origin runs in this process too: its share is in this profile (not in Chromium's).
    const session = new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
    const result = await run(kind, origin, page)
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile }
    session.disconnect()
    return [`${kind}: ${result.ms.toFixed(0)} ms under the profiler (origin and reader, one process)`, ...summarise(profile, null)]
  }
  const cdp = await page.browser.page.context().newCDPSession(page.browser.page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
  await cdp.send('Profiler.start')
  const result = await run(kind, origin, page)
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: CpuProfile }
  await cdp.detach()
  const moduleOf = bundleModules(bundle)
  return [`${kind}: ${result.ms.toFixed(0)} ms under the profiler (the page only)`, ...summarise(profile, (url, line) => (url.endsWith('/page.js') ? moduleOf(line) : url))]
}

// ---- main ------------------------------------------------------------------------------------------

async function main() {
  if (!existsSync(CHROMIUM)) {
    console.error(`browser-sync: Chromium is missing (${CHROMIUM}): install it with \`node scripts/prerequisites.mjs\` (Debian's chromium package)`)
    process.exit(1)
  }
  console.log(`browser sync: a fresh read-only node syncs ${ENTRIES} entries (${VALUE_BYTES}-byte values, written in batches of ${BATCH}) from a Node origin over WebSocket on 127.0.0.1; median of ${ROUNDS} rounds`)
  console.log(machineLine())
  console.log('reproduce: npx tsc -b && node bench/dist/browser-sync.js (BENCH_PROFILE=1 for the profiles)')

  const bundle = (await buildBrowserBundle({ entry: PAGE_ENTRY, minify: false })).code!
  const page = await pageInChromium(bundle)
  const bundleText = new TextDecoder().decode(bundle)
  const version = page.browser.context.browser()?.version() ?? (await page.browser.page.evaluate(() => navigator.userAgent))
  console.log(`chromium: ${version}`)
  const origin = await makeOrigin()
  console.log(`origin: wrote ${ENTRIES} entries in ${origin.writeMs.toFixed(0)} ms`)
  try {
    // Warm-up (JIT, lazy loads), not counted.
    for (const [kind] of CASES) await run(kind, origin, page)

    const samples = new Map<Case, Array<SyncResult & { counts?: PageCounts }>>(CASES.map(([kind]) => [kind, []]))
    // Rounds interleave the cases, so a burst of load from elsewhere does not land on one case only.
    for (let r = 0; r < ROUNDS; r++) for (const [kind] of CASES) samples.get(kind)!.push(await run(kind, origin, page))

    const baseline = median(samples.get('node')!.map((s) => s.ms))
    console.table(
      CASES.map(([kind, name]) => {
        const s = samples.get(kind)!
        const ms = median(s.map((x) => x.ms))
        return {
          case: name,
          'time (ms)': Math.round(ms),
          'entries/s': Math.round(ENTRIES / (ms / 1000)),
          'vs Node': (ms / baseline).toFixed(2) + '×',
          'last key readable (ms)': Math.round(median(s.map((x) => x.lastKeyMs))),
          'blocks fetched': median(s.map((x) => x.blocks)),
          'fast-forward at (ms)': s.map((x) => (x.fastForwardMs === null ? 'no' : Math.round(x.fastForwardMs))).join(' '),
          'open (ms, not counted)': Math.round(median(s.map((x) => x.openMs))),
          rounds: s.map((x) => Math.round(x.ms)).join(' ')
        }
      })
    )
    console.log(`ratio = time / time of the read-only node in Node (${Math.round(baseline)} ms), same origin, same WebSocket server, same run`)
    const probe = await page.browser.page.evaluate(() => window.hyphaBenchSync.commitProbe('bench-commit-probe', 500))
    const commits = samples.get('chromium-idb')!.at(-1)!.counts!.idbTransactions
    console.log(
      `IndexedDB alone: a read-write commit of one 4 KiB put takes ${probe.medianMs.toFixed(2)} ms (median of 500 in a row); ` +
        `× ${commits} commits ≈ ${((probe.medianMs * commits) / 1000).toFixed(1)} s of the IndexedDB sync`
    )
    for (const [kind] of CASES.slice(1)) {
      const c = samples.get(kind)!.at(-1)!.counts!
      console.log(`${kind}, last round: ${c.wsSends} WebSocket sends (${(c.wsSendBytes / 1000).toFixed(0)} KB), ${c.wsMessages} received; ${c.idbTransactions} IndexedDB transactions, ${c.idbPuts} puts (${(c.idbPutBytes / 1e6).toFixed(1)} MB)`)
    }
    console.log(`verified: every round, each reader listed all ${ENTRIES} entries in order with the right values`)
    if (PROFILE) for (const [kind] of CASES) console.log((await profileRound(kind, origin, page, bundleText)).join('\n'))
    if (page.browser.errors.length) throw new VerificationError(`page errors: ${page.browser.errors.join('; ')}`)
  } finally {
    await page.close()
    await origin.node.close()
  }
}

runBenchmark(main)
