/**
 * The value codec, and checking what enters a HyphaNode's API: options, keys, values, batches,
 * ranges, device names, channel bindings. Failed checks throw `HyphaNodeError` `ERR_INVALID_ARGUMENT`.
 */
import b4a from 'b4a'
import { HyphaNodeError } from './engine/errors.js'
import { MAX_DEVICE_NAME_BYTES, MAX_KEY_BYTES, MAX_VALUE_BYTES, VALUE_BYTES, VALUE_STRING } from './engine/ops.js'
import { decodeUtf8, isWellFormed } from '@hypha/ephemeral-ext'

/**
 * Keys are bytes, not text: `entry.key` is only a view of `entry.keyBytes` (U+FFFD for what is not
 * UTF-8, a leading U+FEFF kept), so a key that is not text is still listed, never refused.
 */
const keyView = new TextDecoder('utf-8', { ignoreBOM: true })
import { NO_KEY } from './engine/registry.js'
import { CHANNEL_PROOF_BYTES } from './channel-proof.js'
import type { Op } from './engine/ops.js'
import type { StorageFunction } from './storage/types.js'
import type { EngineEntry, EngineRange } from './engine/types.js'
import { decodeMemberCredential, type MemberCredential } from './lookup.js'
import { DEFAULT_MEMBER_PROOF_TIMEOUT_MS } from './member-gate.js'
import type { ConnectionLimits } from './connections.js'
import type { AlwaysOnNodeOptions, BatchOp, Entry, FullNodeOptions, HyphaNodeOptions, Key, Range, Value } from './node-types.js'

const encoder = new TextEncoder()

export function noop(): void {}

export function invalid(message: string): HyphaNodeError {
  return new HyphaNodeError('ERR_INVALID_ARGUMENT', message)
}

export function checkKey32(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) throw invalid(`${what} must be a 32-byte Uint8Array`)
}

/** Longest delay a timer takes (setTimeout fires at once, with a warning, past 2^31 - 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** A delay option: undefined (the default), or an integer from `min` to {@link MAX_TIMER_MS} ms. */
export function checkMs(value: unknown, name: string, min: 0 | 1): void {
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
    throw invalid(`${name} must be an integer from ${min} to ${MAX_TIMER_MS} (ms)`)
  }
}

/** A bound: undefined (the default), or an integer from 1 to 2^53 − 1. */
function checkPositive(value: unknown, name: string, unit = ''): void {
  if (value === undefined) return
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw invalid(`${name} must be a positive integer${unit}`)
}

/** An option that is a flag: undefined (the default) or a boolean. */
export function checkFlag(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'boolean') throw invalid(`${name} must be a boolean`)
}

/** An options argument: undefined (all defaults) or an object. */
export function optionBag<T extends object>(value: T | undefined, name: string): Partial<T> {
  if (value === undefined) return {}
  if (value === null || typeof value !== 'object') throw invalid(`${name} must be an object`)
  return value
}

/** An Ed25519 key pair as sodium makes it: a 64-byte secret key that ends with its 32-byte public key. */
function checkSigningKeyPair(value: unknown, name: string): void {
  if (value === undefined) return
  const pair = value as { publicKey?: unknown; secretKey?: unknown } | null
  const { publicKey, secretKey } = pair !== null && typeof pair === 'object' ? pair : {}
  if (
    !(publicKey instanceof Uint8Array) ||
    publicKey.byteLength !== 32 ||
    !(secretKey instanceof Uint8Array) ||
    secretKey.byteLength !== 64 ||
    !b4a.equals(secretKey.subarray(32), publicKey)
  ) {
    throw invalid(`${name} must be an Ed25519 key pair: { publicKey: 32 bytes, secretKey: the 64 bytes that go with it }`)
  }
}

function checkStorage(storage: unknown): void {
  if (typeof storage === 'string' && storage.length > 0 && !runsOnNode()) {
    throw invalid('a directory path as storage needs Node (random-access-file): in a browser use idbStorage() from @hypha/storage-indexeddb, or memoryStorage()')
  }
  if (storage === undefined || typeof storage === 'function' || (typeof storage === 'string' && storage.length > 0)) return
  throw invalid('storage must be a storage function (e.g. memoryStorage()) or a non-empty directory path')
}

/** Node (or a runtime with Node's file system, such as Bun): `process.versions.node` is set; a bundler's `process` polyfill has no versions. */
function runsOnNode(): boolean {
  const versions = (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions
  return typeof versions?.node === 'string'
}

const FILE_METHODS = ['read', 'write', 'del', 'truncate', 'stat', 'close'] as const

/**
 * A storage function that refuses (`ERR_INVALID_ARGUMENT`, so `ready()` rejects with it) to hand
 * Corestore anything but a random-access-storage file: Corestore calls methods of what it gets
 * where a failure is thrown outside any promise, which would crash the process.
 */
export function checkedStorage(storage: StorageFunction): StorageFunction {
  return (name) => {
    const file = storage(name) as Record<string, unknown> | null
    if (file === null || typeof file !== 'object' || !FILE_METHODS.every((m) => typeof file[m] === 'function')) {
      throw invalid(`storage('${name}') must return a random-access-storage file (with ${FILE_METHODS.join(', ')})`)
    }
    return file
  }
}

function checkTransports(transports: unknown): void {
  if (transports === undefined) return
  const isTransport = (t: unknown) =>
    t !== null &&
    typeof t === 'object' &&
    ['start', 'stop', 'on'].every((m) => typeof (t as Record<string, unknown>)[m] === 'function')
  if (!Array.isArray(transports) || !transports.every(isTransport)) {
    throw invalid('transports must be an array of transports (objects with start, stop and on)')
  }
  if (new Set(transports).size !== transports.length) throw invalid('transports must not hold one transport twice')
}

/**
 * Checks every option of a node's role (HyphaNodeOptions) before anything is made, and gives an
 * always-on node's member credential, decoded (null otherwise). `undefined` is "not given" for
 * every option.
 */
export function checkOptions(options: HyphaNodeOptions): { credential: MemberCredential | null } {
  if (options === null || typeof options !== 'object') throw invalid('options are required: an object with a role')
  const role: unknown = options.role
  if (role !== 'origin' && role !== 'read-only' && role !== 'always-on') {
    throw invalid(`role must be 'origin', 'read-only' or 'always-on', not ${String(role)}`)
  }
  checkStorage(options.storage)
  checkTransports(options.transports)
  connectionLimits(options)
  if (options.now !== undefined && typeof options.now !== 'function') throw invalid('now must be a function giving ms since the epoch')
  if (options.role === 'always-on') return { credential: checkAlwaysOnOptions(options) }
  checkFullNodeOptions(options)
  return { credential: null }
}

/** Default `maxConnections`: the most connections a node keeps at once. */
export const DEFAULT_MAX_CONNECTIONS = 1024
/** Default `maxUnprovenConnections`: the most connections still at the membership gate. */
export const DEFAULT_MAX_UNPROVEN_CONNECTIONS = 64

/** The connection limits a node's options give (checked: `ERR_INVALID_ARGUMENT` naming the bad one). */
export function connectionLimits(options: HyphaNodeOptions): ConnectionLimits {
  checkMs(options.memberProofTimeoutMs, 'memberProofTimeoutMs', 1)
  const count = (value: unknown, name: string, fallback: number): number => {
    if (value === undefined) return fallback
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw invalid(`${name} must be a positive integer`)
    return value as number
  }
  return {
    memberProofTimeoutMs: options.memberProofTimeoutMs ?? DEFAULT_MEMBER_PROOF_TIMEOUT_MS,
    maxConnections: count(options.maxConnections, 'maxConnections', DEFAULT_MAX_CONNECTIONS),
    maxUnprovenConnections: count(options.maxUnprovenConnections, 'maxUnprovenConnections', DEFAULT_MAX_UNPROVEN_CONNECTIONS)
  }
}

/** Checks an always-on node's own options; its member credential, decoded. */
function checkAlwaysOnOptions(options: AlwaysOnNodeOptions): MemberCredential {
  if (options.memberCredential !== undefined && options.locator !== undefined) {
    throw invalid('give memberCredential or locator (its former name), not both')
  }
  const name = options.memberCredential !== undefined ? 'memberCredential' : 'locator'
  const given = options.memberCredential ?? options.locator
  if (given === undefined) {
    throw invalid("an always-on node needs memberCredential: a member device's node.memberCredential (one string)")
  }
  let credential: MemberCredential
  try {
    credential = decodeMemberCredential(given)
  } catch (err) {
    throw invalid(`${name}: ${(err as Error).message}`)
  }
  if (options.databaseKey !== undefined) checkKey32(options.databaseKey, 'databaseKey')
  if (options.databaseKey !== undefined && !b4a.equals(credential.databaseKey, options.databaseKey)) {
    throw invalid(`${name} is for another database than databaseKey`)
  }
  checkSigningKeyPair(options.noiseKeyPair, 'noiseKeyPair')
  checkPositive(options.maxSeededCores, 'maxSeededCores')
  checkPositive(options.maxCoreBytes, 'maxCoreBytes', ' (bytes)')
  checkPositive(options.maxKeptBytes, 'maxKeptBytes', ' (bytes)')
  return credential
}

/** Checks a full node's own options. */
function checkFullNodeOptions(options: FullNodeOptions): void {
  checkKey32(options.rootSecret, 'rootSecret')
  if (options.databaseKey !== undefined) checkKey32(options.databaseKey, 'databaseKey')
  checkMs(options.lookupTimeoutMs, 'lookupTimeoutMs', 1)
  checkMs(options.lookupSettleMs, 'lookupSettleMs', 0)
  checkMs(options.existingAccountCheckMs, 'existingAccountCheckMs', 0)
  checkMs(options.ackInterval, 'ackInterval', 1)
  checkSigningKeyPair(options.writerKeyPair, 'writerKeyPair')
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

/** A string as UTF-8; one UTF-8 cannot hold as it is (a lone surrogate) is refused, never changed. */
function utf8(s: string, what: string): Uint8Array {
  if (!isWellFormed(s)) throw invalid(`${what} must be well-formed text (no lone surrogates)`)
  return encoder.encode(s)
}

export function keyBytes(key: Key): Uint8Array {
  const bytes = typeof key === 'string' ? utf8(key, 'key') : key
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
    bytes = utf8(value, 'value')
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
  if (stored[0] !== VALUE_STRING) return new Uint8Array(body)
  // Checked as UTF-8 when its op was decoded: anything else is a corrupt view.
  const text = decodeUtf8(body)
  if (text === null) throw new HyphaNodeError('ERR_STORAGE', 'a stored string value is not UTF-8')
  return text
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
  if (range === null || typeof range !== 'object') throw invalid('range must be an object')
  checkFlag(range.reverse, 'reverse')
  if (range.limit !== undefined && (!Number.isInteger(range.limit) || range.limit < 0)) {
    throw invalid('limit must be a non-negative integer')
  }
  const bound = (key: Key | undefined, name: string) => (key === undefined ? undefined : boundBytes(key, name))
  const { limit, reverse } = range
  if (range.prefix !== undefined) {
    if (range.gt !== undefined || range.gte !== undefined || range.lt !== undefined || range.lte !== undefined) {
      throw invalid('prefix cannot be combined with gt, gte, lt or lte')
    }
    const prefix = boundBytes(range.prefix, 'prefix')
    return { gte: prefix, lt: prefixEnd(prefix) ?? undefined, limit, reverse }
  }
  return { gt: bound(range.gt, 'gt'), gte: bound(range.gte, 'gte'), lt: bound(range.lt, 'lt'), lte: bound(range.lte, 'lte'), limit, reverse }
}

/** A range bound: like a key, but it may be empty ('' is below every key). */
function boundBytes(key: Key, name: string): Uint8Array {
  const bytes = typeof key === 'string' ? utf8(key, name) : key
  if (!(bytes instanceof Uint8Array)) throw invalid(`${name} must be a string or a Uint8Array`)
  if (bytes.byteLength > MAX_KEY_BYTES) throw invalid(`${name} must be at most ${MAX_KEY_BYTES} bytes`)
  return bytes
}

/** The first key after every key that starts with `prefix` (null: none, the prefix is all 0xff or empty). */
function prefixEnd(prefix: Uint8Array): Uint8Array | null {
  let end = prefix.byteLength
  while (end > 0 && prefix[end - 1] === 0xff) end--
  if (end === 0) return null
  const out = new Uint8Array(prefix.subarray(0, end)) // a copy: Buffer's slice would share bytes
  out[end - 1]!++
  return out
}

export function decodeEntry({ key, value }: EngineEntry): Entry {
  return { key: decodeKey(key), keyBytes: key, value: decodeValue(value) }
}

/** A key's bytes as the string `Entry.key` gives. */
export function decodeKey(key: Uint8Array): string {
  return keyView.decode(key)
}
