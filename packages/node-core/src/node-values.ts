/** Checking and encoding what enters a HyphaNode's API: keys, values, device names, channel bindings. */
import { HyphaNodeError } from './engine/errors.js'
import { MAX_DEVICE_NAME_BYTES, MAX_KEY_BYTES, MAX_VALUE_BYTES, VALUE_BYTES, VALUE_STRING, isWellFormed } from './engine/ops.js'
import { NO_KEY } from './engine/registry.js'
import { CHANNEL_PROOF_BYTES } from './channel-proof.js'
import type { Key, Value } from './node-types.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function noop(): void {}

export function invalid(message: string): HyphaNodeError {
  return new HyphaNodeError('ERR_INVALID_ARGUMENT', message)
}

export function checkKey32(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) throw invalid(`${what} must be a 32-byte Uint8Array`)
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
