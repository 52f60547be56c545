// Time for a fresh read-only HyphaNode to sync a database of N entries (default 10,000) from its
// origin, against raw hypercore replication to a fresh corestore of as many blocks, of the same mean
// byte size, as the origin's view holds (what the reader downloads: it fast-forwards to the view),
// measured in the same run. Both over an in-process Noise stream pair and over TCP
// on 127.0.0.1. Verifies that every entry (and every raw block) arrived with the right value and
// exits non-zero if not. Prints wall time and this process's CPU time (both ends run in it), each
// as a ratio against the baseline; no thresholds.
//
//   npx tsc -b bench && node bench/dist/node-sync.js
//   env: BENCH_ENTRIES (10000), BENCH_ROUNDS (3), BENCH_BATCH (500), BENCH_VALUE_BYTES (100),
//        BENCH_RAW_BLOCK_BYTES (default: the mean view block size of this run)
//   (node --expose-gc bench/dist/node-sync.js makes the heap figures less noisy)
import os from 'node:os'
import v8 from 'node:v8'
import vm from 'node:vm'
import b4a from 'b4a'
import { createStore, connectInProcess, connectNodes, connectTcp, until, type Connection } from '@hypha/test-utils'
import sodium from 'sodium-universal'
import { HyphaNode, memoryStorage } from '@hypha/node-core'
import { autobaseOf, corestoreOf } from '@hypha/node-core/debug'
import { tcpServer, tcpClient } from '@hypha/transport-tcp'
import { VerificationError, cpuMs, median, runBenchmark } from './common.js'
import { keyOf, untilReadable, valueOf as entryValue } from './browser-sync/reader.js'

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 10_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const BATCH = Number(process.env.BENCH_BATCH ?? 500)
const VALUE_BYTES = Number(process.env.BENCH_VALUE_BYTES ?? 100)
/** Raw hypercore block size; default: the mean size of the origin's view blocks in this run. */
const RAW_BLOCK_BYTES = process.env.BENCH_RAW_BLOCK_BYTES ? Number(process.env.BENCH_RAW_BLOCK_BYTES) : null
const TIMEOUT_MS = 120_000

type Over = 'memory' | 'tcp'

interface Sample {
  ms: number
  /** CPU time of this process (user + system) over the same span: both ends run in it. */
  cpuMs: number
  heapMB: number
  rssMB: number
  /** Blocks downloaded by the receiving side, all cores. */
  blocks: number
  kB: number
  detail?: string
}

/** A deterministic value of VALUE_BYTES ASCII bytes for entry i (the browser-sync benchmark's entries). */
const valueOf = (i: number) => entryValue(i, VALUE_BYTES)
/** A deterministic raw block of `size` bytes for block i. */
function blockOf(i: number, size: number): Uint8Array {
  const block = b4a.alloc(size, i % 251)
  new DataView(block.buffer, block.byteOffset, 4).setUint32(0, i)
  return block
}

function memory() {
  const m = process.memoryUsage()
  return { heap: m.heapUsed, rss: m.rss }
}
// A full GC before each measurement makes the heap deltas mean something (same as node --expose-gc).
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const mb = (bytes: number) => bytes / 1e6

// ---- HyphaNode ---------------------------------------------------------------------------------

interface Origin {
  node: HyphaNode
  server: ReturnType<typeof tcpServer>
  writeMs: number
  /** The origin's view core (the Hyperbee, encrypted): its length and mean block size. */
  viewBlocks: number
  blockBytes: number
  oplogBlockBytes: number
}

async function makeOrigin(rootSecret: Uint8Array): Promise<Origin> {
  const server = tcpServer({ port: 0 })
  const node = new HyphaNode({ role: 'origin', rootSecret, storage: memoryStorage(), transports: [server] })
  await node.ready()
  const start = performance.now()
  for (let i = 0; i < ENTRIES; i += BATCH) {
    const ops = []
    for (let j = i; j < Math.min(i + BATCH, ENTRIES); j++) ops.push({ type: 'put' as const, key: keyOf(j), value: valueOf(j) })
    await node.batch(ops)
  }
  await node.update()
  const writeMs = performance.now() - start
  const local = autobaseOf(node).local
  if (local.length !== ENTRIES) throw new Error(`origin oplog has ${local.length} blocks, expected ${ENTRIES}`)
  // The reader fast-forwards to the origin's indexed view and downloads the view's blocks, not the
  // oplog's: the raw baseline moves as many blocks as the view holds, of its mean size.
  const view = autobaseOf(node).view.core
  if (view.length < ENTRIES) throw new Error(`origin view has ${view.length} blocks, expected at least ${ENTRIES}`)
  const blockBytes = Math.round(view.byteLength / view.length)
  return { node, server, writeMs, viewBlocks: view.length, blockBytes, oplogBlockBytes: Math.round(local.byteLength / local.length) }
}

/** Cores on the reader's store after sync: "key contiguous/length, downloaded blocks (KB)" each. */
function coreSummary(node: HyphaNode, fetched: Map<string, { blocks: number; bytes: number }>): string {
  const store = corestoreOf(node)
  const parts: string[] = []
  for (const core of store.cores.values()) {
    if (core.length === 0) continue
    const id = b4a.toString(core.key, 'hex').slice(0, 6)
    const f = fetched.get(id) ?? { blocks: 0, bytes: 0 }
    parts.push(`${id} ${core.contiguousLength}/${core.length} got ${f.blocks} (${Math.round(f.bytes / 1000)} KB)`)
  }
  return parts.join(', ')
}

async function syncNode(origin: Origin, rootSecret: Uint8Array, over: Over): Promise<Sample> {
  gc()
  const before = memory()
  const client = over === 'tcp' ? tcpClient({ port: origin.server.port!, reconnect: false }) : null
  // A new device (its own random keys, in a fresh storage) given the database key: it opens at once,
  // with no lookup among peers, and the clock below measures the sync alone.
  const reader = new HyphaNode({ role: 'read-only', rootSecret, databaseKey: origin.node.key, storage: memoryStorage() })
  await reader.ready()
  if (reader.writable) throw new Error('the read-only node is writable')
  const lastKey = keyOf(ENTRIES - 1)

  // Where the time goes: when the origin's oplog core is fully downloaded (replication), and
  // whether Autobase fast-forwarded (took the indexed view from the origin instead of applying).
  const base = autobaseOf(reader)
  let start = 0
  let fastForwardMs: number | null = null
  let oplogMs: number | null = null
  base.once('fast-forward', () => (fastForwardMs = performance.now() - start))
  const store = corestoreOf(reader)
  // Blocks (and bytes) downloaded into each core of the reader, by core key.
  const fetched = new Map<string, { blocks: number; bytes: number }>()
  const watched = new Set<any>()
  const watch = (core: any) => {
    if (watched.has(core)) return
    watched.add(core)
    core.on('download', (_index: number, byteLength: number) => {
      const id = b4a.toString(core.key, 'hex').slice(0, 6)
      const f = fetched.get(id) ?? { blocks: 0, bytes: 0 }
      f.blocks++
      f.bytes += byteLength
      fetched.set(id, f)
      if (oplogMs === null && b4a.equals(core.key, reader.key) && core.contiguousLength >= ENTRIES) oplogMs = performance.now() - start
    })
  }
  for (const core of store.cores.values()) watch(core)
  store.on('core-open', watch)

  // The clock runs from connecting until every entry can be listed from the reader's view.
  start = performance.now()
  const cpu = cpuMs()
  let disconnect: () => Promise<void> | void
  if (client) {
    await client.start({ topic: reader.topic, keyPair: reader.noiseKeyPair, onConnection: reader.addConnection })
    disconnect = () => client.stop()
  } else {
    disconnect = connectNodes(origin.node, reader)
  }
  const deadline = Date.now() + TIMEOUT_MS
  await untilReadable(reader, lastKey, deadline, () => new VerificationError(`${over}: the reader did not get ${lastKey} in ${TIMEOUT_MS} ms`))
  const lastKeyMs = performance.now() - start
  const entries = await reader.list()
  const ms = performance.now() - start
  const cpuUsedMs = cpuMs() - cpu
  store.off('core-open', watch)
  const after = memory()

  // Verification (outside the clock): every entry, in order, with its value.
  if (entries.length !== ENTRIES) throw new VerificationError(`${over}: the reader lists ${entries.length} entries, expected ${ENTRIES}`)
  for (let i = 0; i < ENTRIES; i++) {
    const e = entries[i]!
    if (e.key !== keyOf(i) || e.value !== valueOf(i)) {
      throw new VerificationError(`${over}: entry ${i} is ${e.key}=${String(e.value).slice(0, 20)}…, expected ${keyOf(i)}`)
    }
  }
  if (reader.invalidOps !== 0) throw new VerificationError(`${over}: the reader skipped ${reader.invalidOps} ops`)
  const ff = fastForwardMs === null ? 'no fast-forward' : `fast-forward at ${(fastForwardMs as number).toFixed(0)} ms`
  const oplog = oplogMs === null ? 'oplog not fully downloaded' : `oplog downloaded at ${(oplogMs as number).toFixed(0)} ms`
  const detail = `${oplog}, last key readable at ${lastKeyMs.toFixed(0)} ms, ${ff}; cores: ${coreSummary(reader, fetched)}`

  await disconnect()
  await reader.close()
  let blocks = 0
  let bytes = 0
  for (const f of fetched.values()) {
    blocks += f.blocks
    bytes += f.bytes
  }
  return { ms, cpuMs: cpuUsedMs, heapMB: mb(after.heap - before.heap), rssMB: mb(after.rss - before.rss), blocks, kB: bytes / 1000, detail }
}

// ---- raw hypercore -------------------------------------------------------------------------------

async function makeSource(count: number, blockBytes: number) {
  const { store, core } = await createStore()
  for (let i = 0; i < count; i += BATCH) {
    const blocks: Uint8Array[] = []
    for (let j = i; j < Math.min(i + BATCH, count); j++) blocks.push(blockOf(j, blockBytes))
    await core.append(blocks)
  }
  return { store, core, count }
}

async function syncRaw(source: { store: any; core: any; count: number }, blockBytes: number, over: Over): Promise<Sample> {
  const count = source.count
  gc()
  const before = memory()
  const { store } = await createStore()
  const core = store.get({ key: source.core.key })
  await core.ready()

  const start = performance.now()
  const cpu = cpuMs()
  const conn: Connection = over === 'tcp' ? await connectTcp(source.store, store) : connectInProcess(source.store, store)
  await core.update({ wait: true })
  const range = core.download({ start: 0, end: -1 })
  await until(() => core.contiguousLength === count, TIMEOUT_MS, `raw hypercore over ${over} to download ${count} blocks`)
  const ms = performance.now() - start
  const cpuUsedMs = cpuMs() - cpu
  const after = memory()
  range.destroy()

  // Verification (outside the clock): every block is local and has the right bytes.
  for (let i = 0; i < count; i++) {
    const block = await core.get(i, { wait: false })
    if (!block || !b4a.equals(block, blockOf(i, blockBytes))) throw new VerificationError(`raw ${over}: block ${i} is wrong or missing`)
  }

  conn.destroy()
  await store.close()
  return { ms, cpuMs: cpuUsedMs, heapMB: mb(after.heap - before.heap), rssMB: mb(after.rss - before.rss), blocks: count, kB: core.byteLength / 1000 }
}

// ---- main ------------------------------------------------------------------------------------------

async function main() {
  console.log(`node sync: a fresh read-only HyphaNode syncs ${ENTRIES} entries (${VALUE_BYTES}-byte values, written in batches of ${BATCH}), vs raw hypercore; median of ${ROUNDS} rounds`)
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`)
  console.log(`node ${process.version}, ${new Date().toISOString()}`)

  // The passphrase step (@hypha/auth's Argon2id) is not what is measured here: node-core takes any
  // 32-byte root secret, so a fixed one (BLAKE2b of a label) gives the same shape of keys and sync.
  const rootSecret = b4a.alloc(32)
  sodium.crypto_generichash(rootSecret, b4a.from('bench node sync'))

  const origin = await makeOrigin(rootSecret)
  console.log(`origin: wrote ${ENTRIES} entries in ${origin.writeMs.toFixed(0)} ms (${Math.round(ENTRIES / (origin.writeMs / 1000))} entries/s); view ${origin.viewBlocks} blocks of ${origin.blockBytes} bytes, oplog blocks ${origin.oplogBlockBytes} bytes (mean, encrypted)`)
  const rawBlockBytes = RAW_BLOCK_BYTES ?? origin.blockBytes
  const source = await makeSource(origin.viewBlocks, rawBlockBytes)

  // Warm-up (JIT, lazy loads), not counted.
  await syncRaw(source, rawBlockBytes, 'memory')
  await syncNode(origin, rootSecret, 'memory')

  const runs: Array<[string, (round: number) => Promise<Sample>]> = [
    ['raw hypercore, in-process pair (baseline)', () => syncRaw(source, rawBlockBytes, 'memory')],
    ['raw hypercore, TCP on loopback (baseline)', () => syncRaw(source, rawBlockBytes, 'tcp')],
    ['read-only HyphaNode, in-process pair', () => syncNode(origin, rootSecret, 'memory')],
    ['read-only HyphaNode, TCP on loopback', () => syncNode(origin, rootSecret, 'tcp')]
  ]
  const samples = new Map<string, Sample[]>(runs.map(([name]) => [name, []]))
  // Rounds interleave the cases, so a burst of load from elsewhere does not land on one case only.
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of runs) samples.get(name)!.push(await run(r))
  }

  const baselineMs = { memory: median(samples.get(runs[0]![0])!.map((s) => s.ms)), tcp: median(samples.get(runs[1]![0])!.map((s) => s.ms)) }
  const baselineCpu = { memory: median(samples.get(runs[0]![0])!.map((s) => s.cpuMs)), tcp: median(samples.get(runs[1]![0])!.map((s) => s.cpuMs)) }
  const rows = runs.map(([name]) => {
    const s = samples.get(name)!
    const ms = median(s.map((x) => x.ms))
    const base = name.includes('TCP') ? baselineMs.tcp : baselineMs.memory
    const cpuMs = median(s.map((x) => x.cpuMs))
    const cpuBase = name.includes('TCP') ? baselineCpu.tcp : baselineCpu.memory
    return {
      case: name,
      'time (ms)': Math.round(ms),
      'entries/s': Math.round(ENTRIES / (ms / 1000)),
      'vs raw hypercore': (ms / base).toFixed(2) + '×',
      'CPU (ms)': Math.round(cpuMs),
      'CPU vs raw': (cpuMs / cpuBase).toFixed(2) + '×',
      'blocks fetched': median(s.map((x) => x.blocks)),
      'KB fetched': Math.round(median(s.map((x) => x.kB))),
      'heap Δ (MB)': median(s.map((x) => x.heapMB)).toFixed(1),
      'RSS Δ (MB)': median(s.map((x) => x.rssMB)).toFixed(1)
    }
  })
  console.table(rows)
  console.log(`ratio = time / time of raw hypercore over the same transport (${Math.round(baselineMs.memory)} ms in-process, ${Math.round(baselineMs.tcp)} ms TCP); raw: ${origin.viewBlocks} blocks of ${rawBlockBytes} bytes, as the view holds`)
  // Both ends run in this one process, so its CPU time is the work of the sync, and other load on
  // the machine moves it far less than the wall clock (which waits for the scheduler too).
  console.log(`CPU = user + system time of this process over the same span (both ends); CPU vs raw = the same ratio on CPU time (${Math.round(baselineCpu.memory)} ms in-process, ${Math.round(baselineCpu.tcp)} ms TCP)`)
  console.log(`reproduce: npx tsc -b && BENCH_ENTRIES=${ENTRIES} BENCH_ROUNDS=${ROUNDS} node bench/dist/node-sync.js`)
  for (const [name] of runs.slice(2)) {
    console.log(`${name}: ${samples.get(name)!.map((s) => `${Math.round(s.ms)} ms (${s.detail})`).join(' | ')}`)
  }
  console.log(`verified: every round, the reader listed all ${ENTRIES} entries with the right values; raw cores had every block`)

  await origin.node.close()
  await source.store.close()
}

runBenchmark(main)
