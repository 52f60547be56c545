// The storage contract as plain async checks: no vitest, no Node built-ins, so the same checks run
// in Node (runStorageTests) and bundled into a Chromium page (the IndexedDB adapter). Each takes a
// setup and throws on the first broken promise.
import b4a from 'b4a'
import { HyphaNode, memoryStorage, type StorageFunction } from '@hypha/node-core'

export interface StorageSetup {
  /** The adapter's name, for test titles. */
  name: string
  /**
   * A fresh, empty place to store (a directory, a database name) and a way to open an adapter on
   * it: each call gives a new adapter, which sees what the earlier ones wrote and closed. Anything
   * to remove afterwards goes onto `cleanups` (run in reverse after the check).
   */
  fresh(cleanups: Array<() => unknown>): Promise<() => StorageFunction | Promise<StorageFunction>>
}

/** A random-access-storage instance, as Corestore gets it from a storage function. */
export interface RasFile {
  read(offset: number, size: number, cb: (err: Error | null, data?: Uint8Array) => void): void
  write(offset: number, data: Uint8Array, cb: (err: Error | null) => void): void
  del(offset: number, size: number, cb: (err: Error | null) => void): void
  truncate(offset: number, cb: (err: Error | null) => void): void
  stat(cb: (err: Error | null, st?: { size: number }) => void): void
  unlink(cb: (err: Error | null) => void): void
  close(cb: (err: Error | null) => void): void
}

function call<T = void>(fn: (cb: (err: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))))
}

// Promise forms of the random-access-storage calls, shared with the adapters' own tests.
export const ras = {
  read: (f: RasFile, offset: number, size: number) => call<Uint8Array>((cb) => f.read(offset, size, cb)),
  write: (f: RasFile, offset: number, data: Uint8Array) => call((cb) => f.write(offset, data, cb)),
  del: (f: RasFile, offset: number, size: number) => call((cb) => f.del(offset, size, cb)),
  truncate: (f: RasFile, size: number) => call((cb) => f.truncate(size, cb)),
  size: async (f: RasFile) => (await call<{ size: number }>((cb) => f.stat(cb))).size,
  /**
   * The size of a file that may not exist yet: 0 then. (random-access-file opens read-only for
   * stat, so a missing file is ENOENT, which hypercore's oplog reads as empty too.)
   */
  async sizeOrMissing(f: RasFile): Promise<number> {
    try {
      return (await call<{ size: number }>((cb) => f.stat(cb))).size
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return 0
      throw err
    }
  },
  close: (f: RasFile) => call((cb) => f.close(cb)),
  unlink: (f: RasFile) => call((cb) => f.unlink(cb)),
  /** The error message of a read that must fail, or null if it succeeded. */
  async readError(f: RasFile, offset: number, size: number): Promise<string | null> {
    try {
      await call<Uint8Array>((cb) => f.read(offset, size, cb))
      return null
    } catch (err) {
      return (err as Error).message ?? String(err)
    }
  }
}

/** Deterministic bytes, different per seed: a misplaced byte shows. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (seed * 31 + i * 7 + 1) & 0xff
  return out
}

const hex = (bytes: Uint8Array | null | undefined) => (bytes ? b4a.toString(bytes, 'hex') : String(bytes))

function fail(what: string, actual: unknown, expected: unknown): never {
  throw new Error(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`)
}

/**
 * The same storage, with `stat` of the named file answered `ms` later: a slow disk, on which a
 * read that starts with a stat (as every whole-file read does) loses any race against a write.
 */
function slowToStat(storage: StorageFunction, name: string, ms: number): StorageFunction {
  return ((file: string, ...rest: unknown[]) => {
    const opened = (storage as (...args: unknown[]) => RasFile)(file, ...rest)
    if (file === name || file.endsWith('/' + name)) {
      const stat = opened.stat.bind(opened)
      opened.stat = (cb) => void setTimeout(() => stat(cb), ms)
    }
    return opened
  }) as StorageFunction
}

/**
 * The same storage with a budget: a write larger than what is `left` fails (nothing of it written)
 * with an error like a full disk's, `code` 'ENOSPC' (simulated: a real full disk or quota needs
 * root or a browser's devtools; the IndexedDB adapter's own test lowers Chromium's quota). Every
 * write within the budget goes through and spends it.
 */
export function fillsUp(storage: StorageFunction, budget: { left: number }): StorageFunction {
  return ((file: string, ...rest: unknown[]) => {
    const opened = (storage as (...args: unknown[]) => RasFile)(file, ...rest)
    const write = opened.write.bind(opened)
    opened.write = (offset, data, cb) => {
      if (data.byteLength > budget.left) {
        const err = Object.assign(new Error('ENOSPC: no space left on device (simulated)'), { code: 'ENOSPC' })
        return void queueMicrotask(() => cb(err))
      }
      budget.left -= data.byteLength
      write(offset, data, cb)
    }
    return opened
  }) as StorageFunction
}

/** A storage error as the node must report it: ERR_STORAGE, the storage's own error as `cause`. */
function isStorageError(err: unknown, causeCode: string, what: string): void {
  const e = err as { name?: string; code?: string; cause?: { code?: string } } | null
  same({ name: e?.name, code: e?.code, causeCode: e?.cause?.code }, { name: 'HyphaNodeError', code: 'ERR_STORAGE', causeCode }, what)
}

function same(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) fail(what, actual, expected)
}

function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (actual.byteLength !== expected.byteLength) fail(`${what} (length)`, actual.byteLength, expected.byteLength)
  if (!b4a.equals(actual, expected)) {
    const at = actual.findIndex((b, i) => b !== expected[i])
    throw new Error(`${what}: bytes differ from offset ${at}`)
  }
}

function zeros(actual: Uint8Array, what: string): void {
  const at = actual.findIndex((b) => b !== 0)
  if (at !== -1) throw new Error(`${what}: byte ${at} is ${actual[at]}, not 0`)
}

async function readFails(f: RasFile, offset: number, size: number, what: string): Promise<void> {
  if ((await ras.readError(f, offset, size)) === null) throw new Error(`${what}: read ${offset}+${size} succeeded`)
}

/** One file on a fresh place, closed (and the place removed) afterwards. */
async function withFile(setup: StorageSetup, cleanups: Array<() => unknown>, body: (f: RasFile, open: () => Promise<RasFile>) => Promise<void>) {
  const opener = await setup.fresh(cleanups)
  const open = async () => (await opener())('suite-file') as RasFile
  const f = await open()
  try {
    await body(f, open)
  } finally {
    await ras.close(f).catch(() => {})
  }
}

// Offsets straddle 4 KiB and 64 KiB so block- and page-based adapters cross their boundaries.
export const storageChecks = {
  async 'writes and reads back across offsets, overlapping and partial'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    await withFile(setup, cleanups, async (f) => {
      const expected = new Uint8Array(70_000)
      const put = async (offset: number, data: Uint8Array) => {
        await ras.write(f, offset, data)
        expected.set(data, offset)
      }
      await put(0, pattern(5000, 1))
      await put(4090, pattern(20, 2)) // across a 4 KiB boundary, over earlier bytes
      await put(60_000, pattern(10_000, 3)) // across 64 KiB, leaving a gap
      await put(65_530, pattern(3, 4)) // inside the last write
      same(await ras.size(f), 70_000, 'size after the writes')
      sameBytes(await ras.read(f, 4080, 40), expected.subarray(4080, 4120), 'read across the overwrite')
      sameBytes(await ras.read(f, 65_000, 1000), expected.subarray(65_000, 66_000), 'read across 64 KiB')
      sameBytes(await ras.read(f, 0, 70_000), expected, 'the whole file')
      sameBytes(await ras.read(f, 69_999, 1), expected.subarray(69_999), 'the last byte')
    })
  },

  async 'reads zeros from unwritten ranges within the size'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    await withFile(setup, cleanups, async (f) => {
      await ras.write(f, 10_000, pattern(10, 5))
      same(await ras.size(f), 10_010, 'size after a write past the start')
      zeros(await ras.read(f, 0, 10_000), 'the never-written start')
      zeros(await ras.read(f, 4000, 200), 'a never-written range across a block boundary')
      sameBytes(await ras.read(f, 9995, 15), b4a.concat([new Uint8Array(5), pattern(10, 5)]), 'zeros then the data')
    })
  },

  async 'a read past the end fails; a read up to the end succeeds'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    await withFile(setup, cleanups, async (f) => {
      await readFails(f, 0, 1, 'an empty file')
      await ras.write(f, 0, pattern(1300, 6))
      await readFails(f, 1200, 101, 'one byte past the end')
      await readFails(f, 1300, 1, 'at the end')
      await readFails(f, 5000, 10, 'far past the end')
      same((await ras.read(f, 1200, 100)).byteLength, 100, 'bytes read up to the end')
    })
  },

  async 'del keeps the size and the bytes around it; del to Infinity truncates'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    await withFile(setup, cleanups, async (f) => {
      const data = pattern(20_000, 7)
      await ras.write(f, 0, data)
      await ras.del(f, 100, 9000)
      same(await ras.size(f), 20_000, 'size after a del in the middle')
      const after = await ras.read(f, 0, 20_000)
      sameBytes(after.subarray(0, 100), data.subarray(0, 100), 'bytes before the deleted range')
      sameBytes(after.subarray(9100), data.subarray(9100), 'bytes after the deleted range')
      // The range itself is freed space: zeros, or the old bytes where the adapter only hints
      // (random-access-file punches holes where the file system can).
      const range = after.subarray(100, 9100)
      const at = range.findIndex((b, i) => b !== 0 && b !== data[100 + i])
      if (at !== -1) throw new Error(`deleted range: byte ${100 + at} is neither 0 nor the old byte`)

      await ras.del(f, 15_000, Infinity)
      same(await ras.size(f), 15_000, 'size after a del to Infinity')
      await readFails(f, 14_990, 20, 'past the new end')
    })
  },

  async 'truncate shrinks and grows; a grown tail reads zeros'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    await withFile(setup, cleanups, async (f) => {
      const data = pattern(9000, 8)
      await ras.write(f, 0, data)
      await ras.truncate(f, 4500)
      same(await ras.size(f), 4500, 'size after shrinking')
      await readFails(f, 4490, 20, 'past the shrunk end')
      sameBytes(await ras.read(f, 0, 4500), data.subarray(0, 4500), 'the kept bytes')
      await ras.truncate(f, 12_000)
      same(await ras.size(f), 12_000, 'size after growing')
      const grown = await ras.read(f, 0, 12_000)
      sameBytes(grown.subarray(0, 4500), data.subarray(0, 4500), 'kept bytes after growing')
      zeros(grown.subarray(4500), 'the grown tail (the cut bytes must not come back)')
      await ras.truncate(f, 0)
      same(await ras.size(f), 0, 'size after truncating to 0')
      await ras.write(f, 5000, pattern(10, 16))
      zeros(await ras.read(f, 0, 5000), 'below a write after truncating to 0 (the cut bytes must not come back)')
    })
  },

  async 'stat reports the size: 0 when new, the furthest write, not shrunk by writes'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    await withFile(setup, cleanups, async (f) => {
      same(await ras.sizeOrMissing(f), 0, 'a new file')
      await ras.write(f, 100, pattern(50, 9))
      same(await ras.size(f), 150, 'after a write at 100')
      await ras.write(f, 0, pattern(10, 10))
      same(await ras.size(f), 150, 'after a write inside it')
      await ras.write(f, 140, pattern(100, 11))
      same(await ras.size(f), 240, 'after a write over the end')
    })
  },

  async 'unlink removes the file: one opened by that name again is empty'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    await withFile(setup, cleanups, async (f, open) => {
      await ras.write(f, 0, pattern(5000, 12))
      await ras.unlink(f)
      const again = await open()
      try {
        same(await ras.sizeOrMissing(again), 0, 'size of the file opened again')
        await readFails(again, 0, 1, 'the file opened again')
        await ras.write(again, 4000, pattern(10, 13))
        zeros(await ras.read(again, 0, 4000), 'old bytes must not come back')
      } finally {
        await ras.close(again)
      }
    })
  },

  async 'close and reopen (a new adapter on the same place) keeps the data'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    const opener = await setup.fresh(cleanups)
    const storage = await opener()
    const one = storage('dir/one') as RasFile
    const two = storage('dir/two') as RasFile
    await Promise.all([ras.write(one, 0, pattern(9000, 14)), ras.write(two, 3000, pattern(100, 15))])
    await ras.truncate(one, 8000)
    await Promise.all([ras.close(one), ras.close(two)])

    const reopened = await opener()
    const oneAgain = reopened('dir/one') as RasFile
    const twoAgain = reopened('dir/two') as RasFile
    try {
      same(await ras.size(oneAgain), 8000, 'size of one after reopening')
      sameBytes(await ras.read(oneAgain, 0, 8000), pattern(9000, 14).subarray(0, 8000), 'one after reopening')
      same(await ras.size(twoAgain), 3100, 'size of two after reopening')
      sameBytes(await ras.read(twoAgain, 2990, 110), b4a.concat([new Uint8Array(10), pattern(100, 15)]), 'two after reopening')
    } finally {
      await Promise.all([ras.close(oneAgain), ras.close(twoAgain)])
    }
  },

  async 'a HyphaNode on it keeps its entries and identity across close and reopen'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    const opener = await setup.fresh(cleanups)
    const rootSecret = crypto.getRandomValues(new Uint8Array(32))
    const entries = Array.from({ length: 15 }, (_, i) => [`entry/${String(i).padStart(2, '0')}`, `value ${i}`])
    let before: { key: string; writerKey: string; noiseKey: string }
    const first = new HyphaNode({ role: 'origin', rootSecret, storage: await opener() })
    try {
      await first.ready()
      await first.batch(entries.slice(0, 10).map(([key, value]) => ({ type: 'put' as const, key: key!, value: value! })))
      for (const [key, value] of entries.slice(10)) await first.put(key!, value!)
      before = { key: hex(first.key), writerKey: hex(first.writerKey), noiseKey: hex(first.noiseKeyPair.publicKey) }
    } finally {
      await first.close()
    }

    // Reopened with no peers, no database key and another role: the device comes back as it was.
    const again = new HyphaNode({ role: 'read-only', rootSecret, storage: await opener(), lookupTimeoutMs: 1 })
    try {
      await again.ready()
      same(again.role, 'origin', 'role after reopening')
      same({ key: hex(again.key), writerKey: hex(again.writerKey), noiseKey: hex(again.noiseKeyPair.publicKey) }, before, 'identity after reopening')
      same(again.writable, true, 'writable after reopening')
      same((await again.list()).map((e) => [e.key, String(e.value)]), entries, 'entries after reopening')
      await again.put('after/reopen', 'yes')
      same(await again.get('after/reopen'), 'yes', 'a write after reopening')
    } finally {
      await again.close()
    }
  },

  async 'a HyphaNode on it rejects the write that fills the storage (ERR_STORAGE, its error as cause) and keeps every acknowledged one'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    const opener = await setup.fresh(cleanups)
    const rootSecret = crypto.getRandomValues(new Uint8Array(32))
    const budget = { left: Infinity }
    const node = new HyphaNode({ role: 'origin', rootSecret, storage: fillsUp(await opener(), budget) })
    const errors: unknown[] = []
    node.on('error', (err) => errors.push(err))
    const key = (i: number) => `big/${String(i).padStart(2, '0')}`
    const acknowledged: string[] = []
    try {
      await node.ready()
      // Room for a few 256 KiB values and what Hypercore and Autobase write beside them.
      budget.left = 1_200_000
      let rejected: unknown = null
      for (let i = 0; i < 20 && rejected === null; i++) {
        try {
          await node.put(key(i), pattern(256 * 1024, i))
          acknowledged.push(key(i))
        } catch (err) {
          rejected = err
        }
      }
      if (rejected === null) throw new Error('no put failed though the storage was full')
      if (acknowledged.length === 0) throw new Error('the first put failed: the budget is too small for this check')
      isStorageError(rejected, 'ENOSPC', 'the put that failed')
      isStorageError(await node.put('after/failure', 'x').then(() => null, (err: unknown) => err), 'ENOSPC', 'a put after the failure')
      // Reads too: the view may hold the rejected put, which reopening may not bring back.
      isStorageError(await node.list().then(() => null, (err: unknown) => err), 'ENOSPC', 'a list after the failure')
      if (errors.length === 0) throw new Error("no 'error' event")
      for (const err of errors) isStorageError(err, 'ENOSPC', "the 'error' event")
    } finally {
      await node.close().catch(() => {})
    }

    // Room again: every acknowledged put is there; the failed one may be (if its op reached the
    // writer core before a later write failed, reopening applies it); nothing after it.
    const again = new HyphaNode({ role: 'read-only', rootSecret, storage: await opener(), lookupTimeoutMs: 1 })
    try {
      await again.ready()
      const big = (await again.list({ gte: 'big/', lt: 'big0' })).map((e) => e.key)
      same(big.slice(0, acknowledged.length), acknowledged, 'acknowledged entries after reopening')
      if (big.length > acknowledged.length + 1) fail('entries after reopening', big, acknowledged)
      await again.update()
      same((await again.list({ gte: 'big/', lt: 'big0' })).map((e) => e.key), big, 'entries after an update')
      sameBytes((await again.get(key(0))) as Uint8Array, pattern(256 * 1024, 0), 'the first value')
      await again.put('after/reopen', 'yes')
      same(await again.get('after/reopen'), 'yes', 'a write after reopening')
    } finally {
      await again.close()
    }
  },

  async 'an always-on node on it keeps the cores it kept across restarts'(setup: StorageSetup, cleanups: Array<() => unknown>) {
    const opener = await setup.fresh(cleanups)
    const origin = new HyphaNode({ role: 'origin', rootSecret: crypto.getRandomValues(new Uint8Array(32)), storage: memoryStorage() })
    cleanups.push(() => origin.close())
    await origin.ready()
    const others = [1, 2, 3].map((fill) => new Uint8Array(32).fill(fill))
    const kept = [origin.key, ...others].map(hex).sort()
    const start = async () => {
      const storage = slowToStat(await opener(), 'hypha-kept-cores', 50)
      const node = new HyphaNode({ role: 'always-on', memberCredential: origin.memberCredential, storage })
      await node.ready()
      return node
    }
    const first = await start()
    try {
      for (const key of others) await first.seed(key)
    } finally {
      await first.close()
    }
    // Several restarts with nobody to announce anything: the list comes from the storage alone,
    // and starting (which keeps the database's own core first) must not overwrite it.
    for (let restart = 1; restart <= 3; restart++) {
      const again = await start()
      try {
        same(again.seeded().map((core) => hex(core.key)).sort(), kept, `kept cores after restart ${restart}`)
      } finally {
        await again.close()
      }
    }
  }
} satisfies Record<string, (setup: StorageSetup, cleanups: Array<() => unknown>) => Promise<void>>

export type StorageCheckName = keyof typeof storageChecks
export const storageCheckNames = Object.keys(storageChecks) as StorageCheckName[]
