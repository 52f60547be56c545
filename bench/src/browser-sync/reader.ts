// The measured step of the browser-sync benchmark, shared by the page (Chromium) and the Node
// baseline so both run the same code: a fresh read-only HyphaNode given the database key connects
// and waits until list() returns every entry, which is then checked. Browser-safe (no Node built-ins).
import { HyphaNode, type StorageAdapter, type Transport } from '@hypha/node-core'
import { autobaseOf, corestoreOf } from '@hypha/node-core/debug'

export const keyOf = (i: number) => `entry/${String(i).padStart(8, '0')}`
/** A deterministic value of `bytes` ASCII bytes for entry i. */
export const valueOf = (i: number, bytes: number) => `v${i}:`.padEnd(bytes, 'abcdefghijklmnopqrstuvwxyz'[i % 26])

/**
 * Resolves once `key` is readable on `reader`, checking after each view update or every 10 ms at
 * most; rejects with `timedOut()` past `deadline` (ms since the epoch). Shared with node-sync.ts.
 */
export async function untilReadable(reader: HyphaNode, key: string, deadline: number, timedOut: () => Error): Promise<void> {
  for (;;) {
    await reader.update()
    if ((await reader.get(key)) !== null) return
    if (Date.now() > deadline) throw timedOut()
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        reader.off('update', done)
        resolve()
      }
      const timer = setTimeout(done, 10)
      reader.on('update', done)
    })
  }
}

export interface SyncResult {
  /** From connecting until list() returned all entries, ms. */
  ms: number
  /** new HyphaNode() + ready() (storage opened), ms, not in `ms`. */
  openMs: number
  /** When the last key was first readable, ms from connecting. */
  lastKeyMs: number
  /** When Autobase fast-forwarded (took the origin's indexed view instead of applying), ms from connecting; null if it did not. */
  fastForwardMs: number | null
  /** Blocks the reader downloaded, all cores. */
  blocks: number
  /** The first wrong entry, or null when all `entries` arrived in order with the right values. */
  error: string | null
}

/**
 * Opens a read-only node on `storage`, then starts `transport` (not given to the node, so the
 * clock leaves out the storage's opening) and waits (polling each view update, or
 * every 10 ms) until the last key is readable, then lists every entry and checks them.
 */
export async function syncReader(options: {
  rootSecret: Uint8Array
  databaseKey: Uint8Array
  storage: StorageAdapter
  transport: Transport
  entries: number
  valueBytes: number
  timeoutMs: number
}): Promise<SyncResult> {
  const { entries: count, valueBytes } = options
  const opened = performance.now()
  const reader = new HyphaNode({ role: 'read-only', rootSecret: options.rootSecret, databaseKey: options.databaseKey, storage: options.storage })
  await reader.ready()
  const openMs = performance.now() - opened
  if (reader.writable) throw new Error('the read-only node is writable')
  let fastForwardMs: number | null = null
  autobaseOf(reader).once('fast-forward', () => (fastForwardMs = performance.now() - start))
  let blocks = 0
  const store = corestoreOf(reader)
  const watched = new Set<unknown>()
  const watch = (core: { on(event: 'download', listener: () => void): void }) => {
    if (watched.has(core)) return
    watched.add(core)
    core.on('download', () => blocks++)
  }
  for (const core of store.cores.values()) watch(core)
  store.on('core-open', watch)
  // The clock runs from connecting (the storage is open) until every entry is listed.
  const start = performance.now()
  await options.transport.start({ topic: reader.topic, keyPair: reader.noiseKeyPair, onConnection: reader.addConnection })
  const lastKey = keyOf(count - 1)
  const deadline = Date.now() + options.timeoutMs
  let error: string | null = null
  let lastKeyMs = 0
  let ms = 0
  try {
    await untilReadable(reader, lastKey, deadline, () => new Error(`the reader did not get ${lastKey} in ${options.timeoutMs} ms`))
    lastKeyMs = performance.now() - start
    const list = await reader.list()
    ms = performance.now() - start
    if (list.length !== count) error = `listed ${list.length} entries, expected ${count}`
    else {
      for (let i = 0; i < count; i++) {
        const e = list[i]!
        if (e.key !== keyOf(i) || e.value !== valueOf(i, valueBytes)) {
          error = `entry ${i} is ${e.key}=${String(e.value).slice(0, 20)}…, expected ${keyOf(i)}`
          break
        }
      }
    }
    if (!error && reader.invalidOps !== 0) error = `the reader skipped ${reader.invalidOps} ops`
  } finally {
    await options.transport.stop()
    await reader.close()
  }
  return { ms, openMs, lastKeyMs, fastForwardMs, blocks, error }
}
