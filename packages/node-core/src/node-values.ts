/**
 * The value codec, and checking what enters a HyphaNode's API: options, keys, values, batches,
 * ranges, device names, channel bindings. Failed checks throw `HyphaNodeError` `ERR_INVALID_ARGUMENT`.
 */
import b4a from 'b4a'
import { HyphaNodeError } from './engine/errors.js'
import { MAX_DEVICE_NAME_BYTES, MAX_KEY_BYTES, MAX_VALUE_BYTES, VALUE_BYTES, VALUE_STRING, isWellFormed } from './engine/ops.js'
import { NO_KEY } from './engine/registry.js'
import { CHANNEL_PROOF_BYTES } from './channel-proof.js'
import type { Op } from './engine/ops.js'
import type { EngineEntry, EngineRange } from './engine/types.js'
import { decodeLocator, type Locator } from './lookup.js'
import { DEFAULT_MAX_SEEDED_CORES } from './seed-announce.js'
import type { AlwaysOnNodeOptions, BatchOp, Entry, FullNodeOptions, Key, Range, Value } from './node-types.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function noop(): void {}

export function invalid(message: string): HyphaNodeError {
  return new HyphaNodeError('ERR_INVALID_ARGUMENT', message)
}

export function checkKey32(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) throw invalid(`${what} must be a 32-byte Uint8Array`)
}

/** Checks an always-on node's options; its locator, decoded, or null if it was given none. */
export function checkAlwaysOnOptions(options: AlwaysOnNodeOptions): Locator | null {
  const locator = options.locator === undefined ? null : decodeLocator(options.locator)
  if (options.databaseKey !== undefined) checkKey32(options.databaseKey, 'databaseKey')
  if (!locator && !options.databaseKey) throw invalid('an always-on node needs databaseKey or locator')
  if (locator && options.databaseKey && !b4a.equals(locator.databaseKey, options.databaseKey)) {
    throw invalid('locator is for another database than databaseKey')
  }
  const maxSeededCores = options.maxSeededCores ?? DEFAULT_MAX_SEEDED_CORES
  if (!Number.isInteger(maxSeededCores) || maxSeededCores < 1) throw invalid('maxSeededCores must be a positive integer')
  return locator
}

/** Checks a full node's options but the root secret (deriveAccountKeys checks that). */
export function checkFullNodeOptions(options: FullNodeOptions): void {
  if (options.databaseKey !== undefined) checkKey32(options.databaseKey, 'databaseKey')
  for (const [name, v] of [
    ['lookupTimeoutMs', options.lookupTimeoutMs],
    ['lookupSettleMs', options.lookupSettleMs],
    ['existingAccountCheckMs', options.existingAccountCheckMs]
  ] as const) {
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw invalid(`${name} must be a number ≥ 0`)
  }
}

/** A channel key goes with its holder's proof; neither means "none" (32 and 64 zero bytes). */
export function checkChannelBinding(
  channelKey: Uint8Array | null | undefined,
  channelProof: Uint8Array | null | undefined
): { channelKey: Uint8Array; channelProof: Uint8Array } {
  if (channelKey == null) {
    if (channelProof != null) throw invalid('channelProof goes with channelKey')
    return { channelKey: NO_KEY, channelProof: NO_PROOF }
  }
  checkKey32(channelKey, 'channelKey')
  if (!(channelProof instanceof Uint8Array) || channelProof.byteLength !== CHANNEL_PROOF_BYTES) {
    throw invalid(`channelKey needs channelProof: the ${CHANNEL_PROOF_BYTES}-byte node.channelProof() of the device that holds it`)
  }
  return { channelKey, channelProof }
}

export const NO_PROOF = new Uint8Array(CHANNEL_PROOF_BYTES)

export function deviceName(name: unknown): string {
  if (typeof name !== 'string' || !isWellFormed(name)) throw invalid('name must be well-formed text')
  if (encoder.encode(name).byteLength > MAX_DEVICE_NAME_BYTES) {
    throw invalid(`name must be at most ${MAX_DEVICE_NAME_BYTES} UTF-8 bytes`)
  }
  return name
}

export function keyBytes(key: Key): Uint8Array {
  const bytes = typeof key === 'string' ? encoder.encode(key) : key
  if (!(bytes instanceof Uint8Array)) throw invalid('key must be a string or a Uint8Array')
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_KEY_BYTES) {
    throw invalid(`key must be 1 to ${MAX_KEY_BYTES} bytes`)
  }
  return bytes
}

/** Stored as one tag byte (0 bytes, 1 UTF-8 string) and the value's bytes. */
export function encodeValue(value: Value | undefined): Uint8Array {
  let tag: number
  let bytes: Uint8Array
  if (typeof value === 'string') {
    tag = VALUE_STRING
    bytes = encoder.encode(value)
  } else if (value instanceof Uint8Array) {
    tag = VALUE_BYTES
    bytes = value
  } else {
    throw invalid('value must be a string or a Uint8Array')
  }
  if (bytes.byteLength > MAX_VALUE_BYTES) throw invalid(`value must be at most ${MAX_VALUE_BYTES} bytes`)
  const out = new Uint8Array(bytes.byteLength + 1)
  out[0] = tag
  out.set(bytes, 1)
  return out
}

export function decodeValue(stored: Uint8Array): Value {
  const body = stored.subarray(1)
  return stored[0] === VALUE_STRING ? decoder.decode(body) : new Uint8Array(body)
}

/** `node.batch`'s ops as engine ops; throws `ERR_INVALID_ARGUMENT` for anything but an array of put/del. */
export function encodeBatch(ops: BatchOp[]): Op[] {
  if (!Array.isArray(ops)) throw invalid('batch takes an array of ops')
  return ops.map((op) => {
    if (op?.type === 'put') return { type: 'put', key: keyBytes(op.key), value: encodeValue(op.value) }
    if (op?.type === 'del') return { type: 'del', key: keyBytes(op.key) }
    throw invalid(`op type must be 'put' or 'del'`)
  })
}

/** A public range as the engine's (keys as bytes); throws `ERR_INVALID_ARGUMENT` for a bad key or limit. */
export function engineRange(range: Range): EngineRange {
  if (range.limit !== undefined && (!Number.isInteger(range.limit) || range.limit < 0)) {
    throw invalid('limit must be a non-negative integer')
  }
  return {
    gt: range.gt === undefined ? undefined : keyBytes(range.gt),
    gte: range.gte === undefined ? undefined : keyBytes(range.gte),
    lt: range.lt === undefined ? undefined : keyBytes(range.lt),
    lte: range.lte === undefined ? undefined : keyBytes(range.lte),
    limit: range.limit,
    reverse: range.reverse
  }
}

export function decodeEntry({ key, value }: EngineEntry): Entry {
  return { key: decoder.decode(key), keyBytes: key, value: decodeValue(value) }
}
