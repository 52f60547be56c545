/**
 * The blind engine of an always-on node: it has the database key but no encryption key, so it
 * runs no Autobase (which could only fail to decode ciphertext). It keeps whole cores downloaded
 * and serves them: the origin's oplog from the start, and any other writer core it is told
 * about, by a peer's seed announcement or `seed(key)` (writer keys are in the encrypted system
 * view, which it cannot read). Anyone who connects can announce keys, so the count is bounded.
 * The node announces what it keeps in turn (seeding.ts), so several always-on nodes keep the same cores.
 * The keys it keeps are saved in its storage (file `hypha-kept-cores`): restarted, it keeps (and
 * announces) them again without waiting for a member to announce them.
 */
import { EventEmitter } from 'events'
import b4a from 'b4a'
import c from 'compact-encoding'
import { HyphaNodeError } from './errors.js'
import { DEFAULT_MAX_SEEDED_CORES, SeedError } from '../seed-announce.js'
import { readWholeFile, writeWholeFile } from '../device.js'
import { coalesced } from '../coalesce.js'
import type { CoreSeeder, DeviceInfo, Engine, EngineEntry, EngineEvents, SeededCore, WriterInfo } from './types.js'

export class BlindEngine extends EventEmitter<EngineEvents> implements Engine, CoreSeeder {
  readonly store: any
  readonly readable = false
  readonly writable = false
  readonly localWriterKey = null
  readonly invalidOps = 0
  readonly seeder: CoreSeeder = this
  readonly key: Uint8Array
  /** Most cores kept, the origin's included. */
  readonly maxSeededCores: number
  private readonly cores = new Map<string, any>()
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
  constructor(options: { store: any; databaseKey: Uint8Array; maxSeededCores?: number }) {
    super()
    this.key = options.databaseKey
    this.maxSeededCores = options.maxSeededCores ?? DEFAULT_MAX_SEEDED_CORES
    this.store = options.store
  }

  get discoveryKey(): Uint8Array {
    return this.cores.get(b4a.toString(this.key, 'hex'))!.discoveryKey
  }

  ready(): Promise<void> {
    if (this.opened === null) {
      this.opened = this.seed(this.key)
        .then(() => this.restore())
        .then(() => {
          // Saved only from here on: a save before the read would overwrite the list it reads.
          this.restored = true
          this.saving = this.save()
        })
    }
    return this.opened
  }

  /** Keeps again the cores kept before a restart (those still within the bound). */
  private async restore(): Promise<void> {
    let keys: Uint8Array[] = []
    try {
      const bytes = await readWholeFile(this.store.storage, KEPT_CORES_FILE)
      if (bytes !== null) keys = c.decode(keptCoresEncoding, bytes)
    } catch {
      // Unreadable or torn: members and the other always-on nodes announce the cores again.
    }
    for (const key of keys) await this.seed(key).catch(() => false)
  }

  /** Whether this core is kept (or being opened). */
  has(key: Uint8Array): boolean {
    return this.cores.has(b4a.toString(key, 'hex'))
  }

  /**
   * Keeps the core with this key downloaded (all of it, and whatever is appended later).
   * Resolves false if it was kept already; throws `SeedError` `ERR_SEED_LIMIT` past `maxSeededCores`.
   */
  async seed(key: Uint8Array): Promise<boolean> {
    const id = b4a.toString(key, 'hex')
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
    core.on('download', () => this.emit('update'))
    core.download({ start: 0, end: -1 })
    if (this.restored) this.saving = this.save()
    return true
  }

  seeded(): SeededCore[] {
    return [...this.cores.values()].map((core) => ({
      key: core.key,
      length: core.length,
      contiguousLength: core.contiguousLength
    }))
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
