/**
 * The blind engine of an always-on node: it has the database key but no encryption key, so it
 * runs no Autobase (which could only fail to decode ciphertext). It keeps whole cores downloaded
 * and serves them: the origin's oplog from the start, and any other writer core it is told
 * about, by a peer's seed announcement or `seed(key)` (writer keys are in the encrypted system
 * view, which it cannot read). Only members can announce keys (seed-announce.ts), and what they
 * announce is bounded: in count (maxSeededCores) and in bytes, per core (maxCoreBytes) and for all
 * kept cores together (maxKeptBytes). A core past a byte budget is refused: no longer downloaded,
 * its blocks cleared, forgotten (not listed, announced or saved) and not taken again until restart.
 * The node announces what it keeps in turn (seeding.ts), so several always-on nodes keep the same cores.
 * The keys it keeps are saved in its storage (file `hypha-kept-cores`): restarted, it keeps (and
 * announces) them again without waiting for a member to announce them.
 */
import { TypedEmitter } from '@hypha/ephemeral-ext'
import b4a from 'b4a'
import c from 'compact-encoding'
import { decodeCanonical } from '@hypha/ephemeral-ext'
import { HyphaNodeError } from './errors.js'
import { DEFAULT_MAX_CORE_BYTES, DEFAULT_MAX_KEPT_BYTES, DEFAULT_MAX_SEEDED_CORES, SeedError } from '../seed-announce.js'
import { readWholeFile, writeWholeFile } from '../device.js'
import { coalesced } from '../coalesce.js'
import { noop } from '../node-values.js'
import type { CoreSeeder, DeviceInfo, Engine, EngineEntry, EngineEvents, EngineWatch, SeededCore, SyncCore, WriterInfo } from './types.js'

export class BlindEngine extends TypedEmitter<EngineEvents> implements Engine, CoreSeeder {
  readonly store: any
  readonly readable = false
  readonly writable = false
  readonly localWriterKey = null
  readonly invalidOps = 0
  readonly failure = null
  readonly seeder: CoreSeeder = this
  readonly key: Uint8Array
  /** Most cores kept, the origin's included. */
  readonly maxSeededCores: number
  /** Most bytes of one kept core; the origin's is exempt. */
  readonly maxCoreBytes: number
  /** Most bytes of all kept cores, the origin's included (it counts but is never refused). */
  readonly maxKeptBytes: number
  private readonly cores = new Map<string, any>()
  /** The download of each kept core, destroyed when the core is refused for its size. */
  private readonly downloads = new Map<string, any>()
  /** Cores refused for their size: announcements of them are ignored, so each is refused once. */
  private readonly refused = new Set<string>()
  private opened: Promise<void> | null = null
  private closing = false
  private saving: Promise<void> = Promise.resolve()
  /** Whether the saved list was read back: cores kept before that are saved by the first save after. */
  private restored = false
  /** Writes the kept keys to storage; runs coalesce. A failed write is retried at the next growth. */
  private readonly save = coalesced(
    async () => {
      const keys = [...this.cores.values()].map((core) => core.key as Uint8Array)
      await writeWholeFile(this.store.storage, KEPT_CORES_FILE, c.encode(keptCoresEncoding, keys))
    },
    { stopped: () => this.closing }
  )

  /** `store`: a Corestore this engine now owns (it closes it). */
  constructor(options: {
    store: any
    databaseKey: Uint8Array
    maxSeededCores?: number
    maxCoreBytes?: number
    maxKeptBytes?: number
  }) {
    super()
    this.key = options.databaseKey
    this.maxSeededCores = options.maxSeededCores ?? DEFAULT_MAX_SEEDED_CORES
    this.maxCoreBytes = options.maxCoreBytes ?? DEFAULT_MAX_CORE_BYTES
    this.maxKeptBytes = options.maxKeptBytes ?? DEFAULT_MAX_KEPT_BYTES
    this.store = options.store
  }

  get discoveryKey(): Uint8Array {
    return this.cores.get(b4a.toString(this.key, 'hex'))!.discoveryKey
  }

  ready(): Promise<void> {
    if (this.opened === null) {
      this.opened = this.seed(this.key)
        .then(() => this.restore())
        .then((read) => {
          // Saved only from here on: a save before the read would overwrite the list it reads.
          this.restored = true
          // …and now only if the list read is not already what is kept (a clean restart writes nothing).
          const kept = [...this.cores.keys()]
          if (read === null || read.length !== kept.length || !kept.every((id) => read.includes(id))) this.saving = this.save()
        })
    }
    return this.opened
  }

  /**
   * Keeps again the cores kept before a restart; those now past a bound (lowered since) are
   * reported. Gives the keys read (hex), or null when there was no readable list.
   */
  private async restore(): Promise<string[] | null> {
    let keys: Uint8Array[]
    try {
      const bytes = await readWholeFile(this.store.storage, KEPT_CORES_FILE)
      if (bytes === null) return null
      keys = decodeCanonical(keptCoresEncoding, bytes)
    } catch {
      // Unreadable or torn: members and the other always-on nodes announce the cores again.
      return null
    }
    for (const key of keys) await this.seed(key).catch((err) => this.emit('seed-refused', key, err))
    return keys.map((key) => b4a.toString(key, 'hex'))
  }

  /** Whether this core is kept (or being opened), or was refused for its size. */
  has(key: Uint8Array): boolean {
    const id = b4a.toString(key, 'hex')
    return this.cores.has(id) || this.refused.has(id)
  }

  /**
   * Keeps the core with this key downloaded (all of it, and whatever is appended later, within
   * the byte budgets). Resolves false if it was kept already; throws `SeedError` `ERR_SEED_LIMIT`
   * past `maxSeededCores`, `ERR_SEED_BUDGET` for a core already known to be past a byte budget
   * (or refused for it before). Growth past a budget later is reported as 'seed-refused'.
   */
  async seed(key: Uint8Array): Promise<boolean> {
    const id = b4a.toString(key, 'hex')
    if (this.refused.has(id)) throw new SeedError('ERR_SEED_BUDGET', 'this core was refused for its size')
    if (this.cores.has(id)) return false
    if (this.cores.size >= this.maxSeededCores) {
      throw new SeedError('ERR_SEED_LIMIT', `already seeding the maximum of ${this.maxSeededCores} cores`)
    }
    const core = this.store.get({ key })
    // Counted before the await, so concurrent announcements cannot overshoot the bound.
    this.cores.set(id, core)
    try {
      await core.ready()
    } catch (err) {
      this.cores.delete(id)
      throw err
    }
    // A core stored before (a restart, or a budget lowered) may be past a budget already.
    const over = this.overBudget(core)
    if (over !== null) {
      this.forget(id, core)
      throw over
    }
    core.on('download', () => this.emit('update'))
    core.on('append', () => this.grew(id))
    this.fetch(id, core)
    if (this.restored) this.saving = this.save()
    return true
  }

  seeded(): SeededCore[] {
    return [...this.cores.values()].map((core) => ({
      key: core.key,
      length: core.length,
      contiguousLength: core.contiguousLength,
      byteLength: core.byteLength
    }))
  }

  /** Why this core may not be kept (SeedError `ERR_SEED_BUDGET`), or null. Byte lengths are the verified ones. */
  private overBudget(core: any): SeedError | null {
    if (b4a.equals(core.key, this.key)) return null
    if (core.byteLength > this.maxCoreBytes) {
      return new SeedError('ERR_SEED_BUDGET', `the core is ${core.byteLength} bytes long, more than maxCoreBytes (${this.maxCoreBytes})`)
    }
    let total = 0
    for (const kept of this.cores.values()) total += kept.byteLength
    if (total > this.maxKeptBytes) {
      return new SeedError('ERR_SEED_BUDGET', `the kept cores would be ${total} bytes long, more than maxKeptBytes (${this.maxKeptBytes})`)
    }
    return null
  }

  /** A kept core's verified length grew (the upgrade comes before its blocks): fetch them, or refuse it. */
  private grew(id: string): void {
    const core = this.cores.get(id)
    if (core === undefined || this.closing) return
    const over = this.overBudget(core)
    if (over === null) return this.fetch(id, core)
    this.forget(id, core)
    this.emit('seed-refused', core.key, over)
  }

  /**
   * Fetches the core up to its length now, checked within the budgets. Not to the end (-1): that
   * range requests the blocks of a new length as soon as it is verified, before a refusal could
   * cancel it (destroying a range takes a tick), and a block requested is stored when it comes.
   */
  private fetch(id: string, core: any): void {
    this.downloads.get(id)?.destroy()
    this.downloads.set(id, core.download({ start: 0, end: core.length }))
  }

  /**
   * Drops a core refused for its size: it is no longer fetched, listed, announced or saved, and
   * what it holds is cleared (the budgets bound what is stored, not only what is fetched).
   */
  private forget(id: string, core: any): void {
    this.downloads.get(id)?.destroy()
    this.downloads.delete(id)
    this.cores.delete(id)
    this.refused.add(id)
    if (this.restored) this.saving = this.save()
    void core
      .clear(0, core.length)
      .finally(() => core.close())
      .catch(noop)
  }

  async close(): Promise<void> {
    await this.saving
    this.closing = true
    await this.store.close()
  }

  async update(): Promise<void> {
    await Promise.all([...this.cores.values()].map((core) => core.update({ wait: true }).catch(() => false)))
  }

  async append(): Promise<void> {
    throw new HyphaNodeError('ERR_NOT_WRITABLE', 'an always-on node never writes to the database')
  }

  get(): Promise<Uint8Array | null> {
    return Promise.reject(notReadable())
  }

  // eslint-disable-next-line require-yield
  async *range(): AsyncIterable<EngineEntry> {
    throw notReadable()
  }

  /** The blocks held (from the start) of the kept cores: grows with every download. */
  get version(): number {
    let held = 0
    for (const core of this.cores.values()) held += core.contiguousLength
    return held
  }

  async syncCores(): Promise<SyncCore[]> {
    return this.seeded().map((core) => ({ key: core.key, applied: null }))
  }

  watch(): EngineWatch {
    throw notReadable()
  }

  async writers(): Promise<WriterInfo[]> {
    throw notReadable()
  }

  async isWriter(): Promise<boolean> {
    throw notReadable()
  }

  async devices(): Promise<DeviceInfo[]> {
    throw notReadable()
  }

  async deviceByChannelKey(): Promise<DeviceInfo | null> {
    throw notReadable()
  }
}

const KEPT_CORES_FILE = 'hypha-kept-cores'
const keptCoresEncoding = c.array(c.fixed32)

function notReadable(): HyphaNodeError {
  return new HyphaNodeError('ERR_NOT_READABLE', 'an always-on node holds no encryption key: it cannot read the data')
}
