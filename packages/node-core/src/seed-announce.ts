/**
 * Seed announcements: full nodes tell their peers which writer cores the database has, so an
 * always-on node (which cannot read the encrypted membership) keeps every writer's core without
 * being told by hand. Only members can announce: the list is sealed with a key derived from the
 * account's member key, which members and always-on nodes hold and strangers do not, so a stranger
 * can neither make an always-on node keep cores of its choosing nor read the list of writer keys.
 *
 * Wire format (an ephemeral message of content type {@link SEED_CONTENT_TYPE}):
 *
 *   payload  = fixed24 nonce ‖ secretbox(list, nonce, seedKey)   (XSalsa20-Poly1305)
 *   list     = uint count ‖ count × 32-byte core key              (compact-encoding)
 *   seedKey  = BLAKE2b-256(key = memberKey, 'hypha/seed-key/1' ‖ 0x00)
 *
 * `hypha/seed/1` (the unauthenticated plaintext list of earlier versions) is refused.
 */
import c from 'compact-encoding'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { decodeCanonical, type CompactEncoding } from '@hypha/ephemeral-ext'

/** Ephemeral content type of the sealed seed announcements (the cores an always-on node should keep). */
export const SEED_CONTENT_TYPE = 'hypha/seed/2'
/** The unauthenticated announcements of earlier versions: an always-on node refuses them. */
export const SEED_CONTENT_TYPE_V1 = 'hypha/seed/1'
const SEED_KEY_CONTEXT = b4a.from('hypha/seed-key/1\0')
const NONCE_BYTES = 24
const MAC_BYTES = 16
/** Most keys one announcement may carry (8 KiB of keys, sealed: within the ephemeral 10 KiB default). */
export const MAX_ANNOUNCED_KEYS = 256
/** Default bound on the cores an always-on node seeds (the origin's included). */
export const DEFAULT_MAX_SEEDED_CORES = 256
/** Default bound on the bytes of one core an always-on node keeps (1 GiB). */
export const DEFAULT_MAX_CORE_BYTES = 2 ** 30
/** Default bound on the bytes of all the cores an always-on node keeps, the origin's included (8 GiB). */
export const DEFAULT_MAX_KEPT_BYTES = 2 ** 33
const KEY_BYTES = 32

/** The `code` of a `SeedError`. */
export type SeedErrorCode =
  /** Not exactly `count` 32-byte keys: truncated, trailing bytes, bad count. */
  | 'ERR_MALFORMED_ANNOUNCEMENT'
  /** More than {@link MAX_ANNOUNCED_KEYS} keys. */
  | 'ERR_TOO_MANY_KEYS'
  /** Not sealed with the account's member key: a stranger's, or an old unauthenticated `hypha/seed/1`. */
  | 'ERR_NOT_A_MEMBER'
  /** The always-on node already seeds its maximum number of cores. */
  | 'ERR_SEED_LIMIT'
  /** The core is, or grew, past `maxCoreBytes`, or keeping it would take the kept cores past `maxKeptBytes`. */
  | 'ERR_SEED_BUDGET'

/** A seed announcement refused or a core not kept (`bad-announcement`, `seed-refused`): a `code` (`SeedErrorCode`). */
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

/** The key announcements are sealed with, from the account's member key. */
export function seedKey(memberKey: Uint8Array): Uint8Array {
  const key = b4a.alloc(32)
  sodium.crypto_generichash(key, SEED_KEY_CONTEXT, memberKey)
  return key
}

/**
 * Seals a list of 32-byte core keys with the member key's seed key. Throws `SeedError` for a bad key
 * or too many keys.
 */
export function encodeSeedAnnouncement(keys: readonly Uint8Array[], memberKey: Uint8Array): Uint8Array {
  if (keys.length > MAX_ANNOUNCED_KEYS) {
    throw new SeedError('ERR_TOO_MANY_KEYS', `at most ${MAX_ANNOUNCED_KEYS} keys per announcement`)
  }
  for (const key of keys) {
    if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) {
      throw new SeedError('ERR_MALFORMED_ANNOUNCEMENT', 'every key must be a 32-byte Uint8Array')
    }
  }
  const list = c.encode(seedAnnouncementEncoding, [...keys])
  const payload = b4a.alloc(NONCE_BYTES + list.byteLength + MAC_BYTES)
  const nonce = payload.subarray(0, NONCE_BYTES)
  sodium.randombytes_buf(nonce)
  sodium.crypto_secretbox_easy(payload.subarray(NONCE_BYTES), list, nonce, seedKey(memberKey))
  return payload
}

/**
 * Opens and decodes an announcement from a peer. Throws `SeedError`: `ERR_NOT_A_MEMBER` if it was
 * not sealed with this member key, `ERR_MALFORMED_ANNOUNCEMENT`, `ERR_TOO_MANY_KEYS`.
 */
export function decodeSeedAnnouncement(payload: Uint8Array, memberKey: Uint8Array | { seedKey: Uint8Array }): Uint8Array[] {
  if (!(payload instanceof Uint8Array)) throw new SeedError('ERR_MALFORMED_ANNOUNCEMENT', 'not bytes')
  if (payload.byteLength < NONCE_BYTES + MAC_BYTES + 1) {
    throw new SeedError('ERR_NOT_A_MEMBER', 'too short to be a sealed announcement')
  }
  const key = memberKey instanceof Uint8Array ? seedKey(memberKey) : memberKey.seedKey
  const list = b4a.alloc(payload.byteLength - NONCE_BYTES - MAC_BYTES)
  if (!sodium.crypto_secretbox_open_easy(list, payload.subarray(NONCE_BYTES), payload.subarray(0, NONCE_BYTES), key)) {
    throw new SeedError('ERR_NOT_A_MEMBER', 'the announcement was not sealed with the account\'s member key')
  }
  try {
    return decodeCanonical(seedAnnouncementEncoding, list)
  } catch (err) {
    if (err instanceof SeedError) throw err
    throw new SeedError('ERR_MALFORMED_ANNOUNCEMENT', 'truncated key count', { cause: err })
  }
}
