/**
 * The requests an approving device settled (approved, denied, cancelled, expired after being
 * shown, refused for a bad reveal), by digest, kept in the device's storage (node-core's device
 * file `auth-settled`) so that a request re-sent or replayed after a restart is never shown twice.
 *
 * Bounded by age: an entry is kept until its request is older than {@link REQUEST_MAX_AGE_MS} (by
 * its `createdAt`), after which the request is refused as `stale` anyway. Bounded by count: past
 * {@link MAX_SETTLED_REQUESTS} the entries closest to their end go first — only a holder of the
 * passphrase flooding that many settled requests within a day can push one out, and such a holder
 * can make a new request of its own anyway.
 *
 * File, compact-encoding: uint version (= 1) ‖ uint count ‖ count × (fixed32 digest ‖ uint keepUntil)
 */
import c from 'compact-encoding'
import b4a from 'b4a'
import { coalesced, decodeCanonical, type CompactEncoding } from '@hypha/node-core'

/** A request is shown only within this long after its `createdAt` (the approver's clock): one day. */
export const REQUEST_MAX_AGE_MS = 24 * 60 * 60_000
/** …and only if its `createdAt` is at most this far ahead of the approver's clock. */
export const MAX_REQUEST_CLOCK_SKEW_MS = 10 * 60_000
/** Most settled requests remembered. */
export const MAX_SETTLED_REQUESTS = 1024
export const SETTLED_FILE = 'auth-settled'
const VERSION = 1

interface Entry {
  digest: Uint8Array
  keepUntil: number
}

const entryEncoding: CompactEncoding<Entry> = {
  preencode(state, e) {
    c.fixed32.preencode(state, e.digest)
    c.uint.preencode(state, e.keepUntil)
  },
  encode(state, e) {
    c.fixed32.encode(state, e.digest)
    c.uint.encode(state, e.keepUntil)
  },
  decode(state) {
    return { digest: c.fixed32.decode(state), keepUntil: c.uint.decode(state) }
  }
}
const entries = c.array(entryEncoding) as CompactEncoding<Entry[]>
const fileEncoding: CompactEncoding<Entry[]> = {
  preencode(state, list) {
    c.uint.preencode(state, VERSION)
    entries.preencode(state, list)
  },
  encode(state, list) {
    c.uint.encode(state, VERSION)
    entries.encode(state, list)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== VERSION) throw new Error(`unknown settled-requests version ${version}`)
    const list = entries.decode(state)
    if (state.start !== state.end) throw new Error('trailing bytes in the settled requests')
    return list
  }
}

export interface DeviceFile {
  read(): Promise<Uint8Array | null>
  write(bytes: Uint8Array): Promise<void>
}

/** Whether `createdAt` is within the window in which a request may be shown, at `now`. */
export function fresh(createdAt: number, now: number): boolean {
  return createdAt >= now - REQUEST_MAX_AGE_MS && createdAt <= now + MAX_REQUEST_CLOCK_SKEW_MS
}

export class SettledRequests {
  /** Digest (hex) → until when it is kept (ms). */
  private readonly entries = new Map<string, number>()
  private writing: Promise<void> = Promise.resolve()
  /** Set when the stored file could not be read or decoded (it is then started afresh). */
  loadError: unknown = null

  constructor(
    private readonly file: DeviceFile,
    private readonly now: () => number = Date.now
  ) {}

  get size(): number {
    return this.entries.size
  }

  /** Reads what the storage holds; a missing file is an empty record, an unreadable one too (`loadError`). */
  async load(): Promise<void> {
    try {
      const bytes = await this.file.read()
      if (bytes === null) return
      for (const e of decodeCanonical(fileEncoding, bytes)) this.entries.set(b4a.toString(e.digest, 'hex'), e.keepUntil)
      this.prune()
    } catch (err) {
      this.loadError = err
    }
  }

  has(digest: Uint8Array): boolean {
    const until = this.entries.get(b4a.toString(digest, 'hex'))
    return until !== undefined && until >= this.now()
  }

  /** Records a settled request (made at `createdAt`) and writes the record out (coalesced). */
  add(digest: Uint8Array, createdAt: number): void {
    const key = b4a.toString(digest, 'hex')
    const keepUntil = Math.min(createdAt, this.now() + MAX_REQUEST_CLOCK_SKEW_MS) + REQUEST_MAX_AGE_MS
    this.entries.set(key, Math.max(keepUntil, this.entries.get(key) ?? 0))
    this.prune()
    this.save()
  }

  /** Resolves once everything added so far is written (or failed to be). */
  flushed(): Promise<void> {
    return this.writing
  }

  private prune(): void {
    const now = this.now()
    for (const [key, until] of this.entries) if (until < now) this.entries.delete(key)
    while (this.entries.size > MAX_SETTLED_REQUESTS) {
      let first: [string, number] | null = null
      for (const entry of this.entries) if (first === null || entry[1] < first[1]) first = entry
      this.entries.delete(first![0])
    }
  }

  /** Writes the record out; runs coalesce. A failed write (closing node, failed storage) leaves the entries in memory for this run. */
  private readonly write = coalesced(async () => {
    const list = [...this.entries].map(([key, keepUntil]) => ({ digest: b4a.from(key, 'hex'), keepUntil }))
    await this.file.write(c.encode(fileEncoding, list))
  })

  private save(): void {
    this.writing = this.write()
  }
}
