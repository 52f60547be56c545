// Runs in Chromium (bundled by buildBrowserBundle): idbStorage's own checks (cache, group commit,
// reloads) and a HyphaNode on it; the storage contract every adapter keeps is suite-page.ts.
// Every function returns plain data for the Node test to assert on.
import { HyphaNode } from '@hypha/node-core'
import { pattern, ras, type RasFile } from '@hypha/adapter-tests/storage-checks'
import { idbStorage } from '../../src/index.js'

const BLOCK = 512

function file(dbName: string, name: string, cacheBytes?: number): RasFile {
  return idbStorage(dbName, { blockSize: BLOCK, cacheBytes })(name) as RasFile
}

// IndexedDB transactions opened by this page (the storage's cost: about 1.5 ms each).
let transactions = 0
const transaction = IDBDatabase.prototype.transaction
IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof transaction>) {
  transactions++
  return transaction.apply(this, args)
}

const { read, write, del, truncate, size, close, unlink } = ras

/** A model of a random-access file: what every read must return. */
class Model {
  bytes = new Uint8Array(0)
  private grow(length: number) {
    if (length <= this.bytes.length) return
    const next = new Uint8Array(length)
    next.set(this.bytes)
    this.bytes = next
  }
  write(offset: number, data: Uint8Array) {
    this.grow(offset + data.length)
    this.bytes.set(data, offset)
  }
  truncate(length: number) {
    if (length > this.bytes.length) this.grow(length)
    else this.bytes = this.bytes.slice(0, length)
  }
  del(offset: number, length: number) {
    if (offset + length >= this.bytes.length) this.truncate(Math.min(offset, this.bytes.length))
    else this.bytes.fill(0, offset, offset + length)
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function prng(seed: number): (max: number) => number {
  let x = seed >>> 0 || 1
  return (max) => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x % max
  }
}

async function sameAsModel(f: RasFile, model: Model): Promise<string | null> {
  const actualSize = await size(f)
  if (actualSize !== model.bytes.length) return `size ${actualSize}, expected ${model.bytes.length}`
  const all = await read(f, 0, actualSize)
  if (hex(all) !== hex(model.bytes)) {
    const at = all.findIndex((b, i) => b !== model.bytes[i])
    return `bytes differ from offset ${at}`
  }
  return null
}

/** Random operations checked against the model, with reopens and concurrent writes. */
async function randomOps(dbName: string, seed: number, steps: number, cacheBytes?: number) {
  const random = prng(seed)
  const model = new Model()
  let f = file(dbName, `random-${seed}`, cacheBytes)
  const mismatches: string[] = []
  const counts: Record<string, number> = {}
  for (let step = 0; step < steps; step++) {
    const op = random(100)
    const length = model.bytes.length
    let name: string
    if (op < 40) {
      name = 'write'
      const offset = random(length + BLOCK * 2)
      const data = pattern(1 + random(BLOCK * 3), step)
      await write(f, offset, data)
      model.write(offset, data)
    } else if (op < 55) {
      name = 'concurrent-writes' // not awaited one by one: IndexedDB orders them
      const writes: Promise<void>[] = []
      for (let i = 0; i < 8; i++) {
        const offset = random(length + BLOCK)
        const data = pattern(1 + random(BLOCK), step * 8 + i)
        writes.push(write(f, offset, data))
        model.write(offset, data)
      }
      await Promise.all(writes)
    } else if (op < 70) {
      name = 'read'
      const offset = random(length + 10)
      const want = random(BLOCK * 3)
      const inRange = offset + want <= length
      try {
        const got = await read(f, offset, want)
        if (!inRange) mismatches.push(`step ${step}: read past the end succeeded`)
        else if (hex(got) !== hex(model.bytes.subarray(offset, offset + want))) mismatches.push(`step ${step}: read ${offset}+${want} differs`)
      } catch {
        if (inRange) mismatches.push(`step ${step}: read ${offset}+${want} failed`)
      }
    } else if (op < 80) {
      name = 'del'
      const offset = random(length + 1)
      const count = random(BLOCK * 4)
      await del(f, offset, count)
      model.del(offset, count)
    } else if (op < 90) {
      name = 'truncate'
      const to = random(length + BLOCK * 2)
      await truncate(f, to)
      model.truncate(to)
    } else {
      name = 'reopen'
      await close(f)
      f = file(dbName, `random-${seed}`, cacheBytes)
    }
    counts[name] = (counts[name] ?? 0) + 1
    if (step % 10 === 9) {
      const problem = await sameAsModel(f, model)
      if (problem) mismatches.push(`step ${step} (after ${name}): ${problem}`)
    }
  }
  const problem = await sameAsModel(f, model)
  if (problem) mismatches.push(`end: ${problem}`)
  await close(f)
  return { mismatches, counts, size: model.bytes.length, contents: hex(model.bytes) }
}

/** After a reload: the file still holds exactly `contents`. */
async function readBack(dbName: string, name: string) {
  const f = file(dbName, name)
  const length = await size(f)
  const contents = hex(await read(f, 0, length))
  await close(f)
  return { size: length, contents }
}

/** Two databases with files of the same name do not see each other's data. */
async function twoDatabases(a: string, b: string) {
  const fa = file(a, 'shared-name')
  const fb = file(b, 'shared-name')
  await Promise.all([write(fa, 0, pattern(700, 10)), write(fb, 100, pattern(50, 20))])
  const result = {
    sizeA: await size(fa),
    sizeB: await size(fb),
    aIsA: hex(await read(fa, 0, 700)) === hex(pattern(700, 10)),
    bIsB: hex(await read(fb, 100, 50)) === hex(pattern(50, 20)) && (await read(fb, 0, 100)).every((x) => x === 0)
  }
  await unlink(fa)
  const afterUnlinkA = { sizeA: await size(file(a, 'shared-name')), sizeB: await size(fb) }
  await close(fb)
  return { ...result, afterUnlinkA }
}

/**
 * Many small requests, as a syncing Hypercore makes them: concurrent 40-byte writes (partial
 * blocks, several to one block) share transactions, and reads of blocks in memory need none.
 */
async function batching(dbName: string) {
  const f = file(dbName, 'batching')
  const model = new Model()
  await write(f, 0, pattern(1, 0)) // opened
  model.write(0, pattern(1, 0))
  let before = transactions
  await Promise.all(
    Array.from({ length: 300 }, (_, i) => {
      model.write(i * 40, pattern(40, i))
      return write(f, i * 40, pattern(40, i))
    })
  )
  const writeTransactions = transactions - before
  before = transactions
  let readsMatch = true
  for (let i = 0; i < 300; i++) {
    if (hex(await read(f, i * 40, 40)) !== hex(pattern(40, i))) readsMatch = false
  }
  const readTransactions = transactions - before
  // A fresh adapter (nothing in memory) reads the same bytes from IndexedDB.
  await close(f)
  const again = file(dbName, 'batching')
  const fromDisk = await sameAsModel(again, model)
  await close(again)
  return { writeTransactions, readTransactions, readsMatch, fromDisk }
}

function fromHex(value: string): Uint8Array {
  return new Uint8Array(value.match(/../g)!.map((h) => parseInt(h, 16)))
}

let node: HyphaNode | null = null

/** Opens the origin node on IndexedDB `dbName`, writes `entries` (some batched), reports state. */
async function nodeWrite(dbName: string, rootSecretHex: string, from: number, count: number) {
  node ??= new HyphaNode({ role: 'origin', rootSecret: fromHex(rootSecretHex), storage: idbStorage(dbName) })
  await node.ready()
  const half = Math.floor(count / 2)
  await node.batch(
    Array.from({ length: half }, (_, i) => ({ type: 'put' as const, key: `entry/${String(from + i).padStart(4, '0')}`, value: `value ${from + i}` }))
  )
  for (let i = half; i < count; i++) await node.put(`entry/${String(from + i).padStart(4, '0')}`, `value ${from + i}`)
  return { key: hex(node.key), writerKey: hex(node.writerKey!), writable: node.writable, count: (await node.list()).length }
}

async function nodeClose() {
  await node?.close()
  node = null
}

/** Opens the node again (after a reload; as 'read-only': the device comes back as it was) and reads everything back. */
async function nodeRead(dbName: string, rootSecretHex: string) {
  node ??= new HyphaNode({ role: 'read-only', rootSecret: fromHex(rootSecretHex), storage: idbStorage(dbName), lookupTimeoutMs: 1 })
  await node.ready()
  const entries = await node.list()
  return {
    key: hex(node.key),
    writerKey: hex(node.writerKey!),
    role: node.role,
    writable: node.writable,
    entries: entries.map((e) => `${e.key}=${String(e.value)}`)
  }
}

/**
 * Two nodes opening one IndexedDB database at once (two tabs of one site): how each ready() ended,
 * and, after both closed, what a node reopened there holds.
 */
async function twoNodesAtOnce(dbName: string, rootSecretHex: string) {
  const nodes = [0, 1].map(() => new HyphaNode({ role: 'origin', rootSecret: fromHex(rootSecretHex), storage: idbStorage(dbName) }))
  for (const n of nodes) n.on('error', () => {})
  const results = await Promise.allSettled(nodes.map((n) => n.ready()))
  const outcome = results.map((r) =>
    r.status === 'fulfilled' ? 'opened' : `${(r.reason as { code?: string }).code} cause=${((r.reason as { cause?: { code?: string; name?: string } }).cause?.code ?? (r.reason as { cause?: { name?: string } }).cause?.name)}`
  )
  const keys: string[] = []
  for (const [i, n] of nodes.entries()) {
    if (results[i]!.status !== 'fulfilled') continue
    await n.put(`from/${i}`, 'yes')
    keys.push(hex(n.key))
  }
  for (const n of nodes) await n.close().catch(() => {})
  const again = new HyphaNode({ role: 'read-only', rootSecret: fromHex(rootSecretHex), storage: idbStorage(dbName), lookupTimeoutMs: 1 })
  await again.ready()
  const after = { key: hex(again.key), entries: (await again.list()).map((e) => e.key) }
  await again.close()
  return { outcome, keys, after }
}

const api = { batching, randomOps, readBack, twoDatabases, nodeWrite, nodeClose, nodeRead, twoNodesAtOnce }

declare global {
  interface Window {
    hyphaIdb: typeof api
  }
}

window.hyphaIdb = api
document.title = 'ready'
