/**
 * Seed announcements: full nodes tell their peers which writer cores the database has, so an
 * always-on node (which cannot read the encrypted membership) keeps every writer's core without
 * being told by hand. Writer keys are not secret: every replication connection shows them anyway.
 *
 * Wire format (an ephemeral message of content type {@link SEED_CONTENT_TYPE}):
 * `uint count | count × 32-byte core key` (compact-encoding), nothing after.
 */
import c from 'compact-encoding'
import b4a from 'b4a'
import type { CompactEncoding } from '@hypha/ephemeral-ext'

export const SEED_CONTENT_TYPE = 'hypha/seed/1'
/** Most keys one announcement may carry (8 KiB of keys: within the ephemeral 10 KiB default). */
export const MAX_ANNOUNCED_KEYS = 256
/** Default bound on the cores an always-on node seeds (the origin's included). */
export const DEFAULT_MAX_SEEDED_CORES = 256
const KEY_BYTES = 32

export type SeedErrorCode =
  /** Not exactly `count` 32-byte keys: truncated, trailing bytes, bad count. */
  | 'ERR_MALFORMED_ANNOUNCEMENT'
  /** More than {@link MAX_ANNOUNCED_KEYS} keys. */
  | 'ERR_TOO_MANY_KEYS'
  /** The always-on node already seeds its maximum number of cores. */
  | 'ERR_SEED_LIMIT'

export class SeedError extends Error {
  override name = 'SeedError'
  constructor(
    readonly code: SeedErrorCode,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options)
  }
}

/**
 * `uint count ‖ count × fixed32 key`, a whole payload. Decoding checks the count against the limit
 * and the exact length before reading any key, so a hostile frame costs nothing; the keys it gives
 * are copies, not views into the frame.
 */
export const seedAnnouncementEncoding: CompactEncoding<Uint8Array[]> = {
  preencode(state, keys) {
    c.uint.preencode(state, keys.length)
    for (const key of keys) c.fixed32.preencode(state, key)
  },
  encode(state, keys) {
    c.uint.encode(state, keys.length)
    for (const key of keys) c.fixed32.encode(state, key)
  },
  decode(state) {
    const count = c.uint.decode(state)
    if (count > MAX_ANNOUNCED_KEYS) {
      throw new SeedError('ERR_TOO_MANY_KEYS', `announcement lists ${count} keys, more than ${MAX_ANNOUNCED_KEYS}`)
    }
    if (state.end - state.start !== count * KEY_BYTES) {
      throw new SeedError('ERR_MALFORMED_ANNOUNCEMENT', `expected ${count} keys of ${KEY_BYTES} bytes`)
    }
    const keys: Uint8Array[] = []
    for (let i = 0; i < count; i++) keys.push(b4a.from(c.fixed32.decode(state)))
    return keys
  }
}

/** Encodes a list of 32-byte core keys. Throws `SeedError` for a bad key or too many keys. */
export function encodeSeedAnnouncement(keys: readonly Uint8Array[]): Uint8Array {
  if (keys.length > MAX_ANNOUNCED_KEYS) {
    throw new SeedError('ERR_TOO_MANY_KEYS', `at most ${MAX_ANNOUNCED_KEYS} keys per announcement`)
  }
  for (const key of keys) {
    if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) {
      throw new SeedError('ERR_MALFORMED_ANNOUNCEMENT', 'every key must be a 32-byte Uint8Array')
    }
  }
  return c.encode(seedAnnouncementEncoding, [...keys])
}

/** Decodes an announcement from a peer. Throws `SeedError`. */
export function decodeSeedAnnouncement(payload: Uint8Array): Uint8Array[] {
  if (!(payload instanceof Uint8Array)) throw new SeedError('ERR_MALFORMED_ANNOUNCEMENT', 'not bytes')
  try {
    return c.decode(seedAnnouncementEncoding, payload)
  } catch (err) {
    if (err instanceof SeedError) throw err
    throw new SeedError('ERR_MALFORMED_ANNOUNCEMENT', 'truncated key count', { cause: err })
  }
}
