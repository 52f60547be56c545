/**
 * The oplog format: what one Autobase node (one block of a writer's core) holds.
 *
 *   uint version (= 2) ‖ uint type ‖ fields
 *   put             1   key: uint8array, value: uint8array (tagged, see VALUE_*)
 *   del             2   key: uint8array
 *   add-writer      3   key: fixed32, flags: uint (bit 0: indexer, bit 1: recovery key),
 *                       name: string, channelKey: fixed32, channelProof: fixed64,
 *                       at: uint (ms, the adder's clock)
 *   remove-writer   4   key: fixed32, at: uint
 *   register-device 5   name: string, channelKey: fixed32, channelProof: fixed64, at: uint
 *                       (the sending writer itself)
 *
 * add-writer and register-device fill the device registry (engine/registry.ts); a channel key of
 * 32 zero bytes means "none" (a recovery key signs no channel messages). A channel key comes with
 * the proof that its holder binds it to that writer in this database (channel-proof.ts): nobody
 * can record another device's channel key as theirs.
 *
 * Anyone who is (or was) a writer can put any bytes in the log, so decoding is strict and throws
 * on anything unexpected; apply skips what does not decode.
 */
import c from 'compact-encoding'
import { compactStruct } from '../codec.js'

export const OP_VERSION = 2
/** Longest device name, in UTF-8 bytes. */
export const MAX_DEVICE_NAME_BYTES = 128
export const MAX_KEY_BYTES = 4096
export const MAX_VALUE_BYTES = 4 * 1024 * 1024

/** First byte of a stored value: how to give it back. */
export const VALUE_BYTES = 0
export const VALUE_STRING = 1

export type Op =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array }
  | {
      type: 'add-writer'
      key: Uint8Array
      indexer: boolean
      recovery: boolean
      name: string
      channelKey: Uint8Array
      channelProof: Uint8Array
      at: number
    }
  | { type: 'remove-writer'; key: Uint8Array; at: number }
  | { type: 'register-device'; name: string; channelKey: Uint8Array; channelProof: Uint8Array; at: number }

const TYPES = { put: 1, del: 2, 'add-writer': 3, 'remove-writer': 4, 'register-device': 5 } as const

export class MalformedOpError extends Error {
  override name = 'MalformedOpError'
}

/** Writes an op's fields; decoding is {@link decodeOp} (strict, with its own checks). */
const opFields = compactStruct<Op>(
  (field, op) => {
    field(c.uint, OP_VERSION)
    field(c.uint, TYPES[op.type])
    switch (op.type) {
      case 'put':
        field(c.uint8array, op.key)
        field(c.uint8array, op.value)
        break
      case 'del':
        field(c.uint8array, op.key)
        break
      case 'add-writer':
        field(c.fixed32, op.key)
        field(c.uint, (op.indexer ? 1 : 0) | (op.recovery ? 2 : 0))
        field(c.string, op.name)
        field(c.fixed32, op.channelKey)
        field(c.fixed64, op.channelProof)
        field(c.uint, op.at)
        break
      case 'remove-writer':
        field(c.fixed32, op.key)
        field(c.uint, op.at)
        break
      case 'register-device':
        field(c.string, op.name)
        field(c.fixed32, op.channelKey)
        field(c.fixed64, op.channelProof)
        field(c.uint, op.at)
        break
    }
  },
  (state) => decodeOpFrom(state)
)

export function encodeOp(op: Op): Uint8Array {
  return c.encode(opFields, op)
}

export function decodeOp(bytes: unknown): Op {
  if (!(bytes instanceof Uint8Array)) throw new MalformedOpError('not bytes')
  const state = c.state(0, bytes.byteLength, bytes)
  let op: Op
  try {
    op = decodeOpFrom(state)
  } catch (err) {
    if (err instanceof MalformedOpError) throw err
    throw new MalformedOpError('truncated or malformed op', { cause: err })
  }
  if (state.start !== state.end) throw new MalformedOpError('trailing bytes after op')
  return op
}

/** Reads one op at `state`; throws MalformedOpError (or a compact-encoding error when truncated). */
function decodeOpFrom(state: c.State): Op {
  let op: Op
  const version = c.uint.decode(state)
  if (version !== OP_VERSION) throw new MalformedOpError(`unknown op version ${version}`)
  const type = c.uint.decode(state)
  switch (type) {
    case TYPES.put: {
      const key = c.uint8array.decode(state)
      const value = c.uint8array.decode(state)
      checkKey(key)
      checkValue(value)
      op = { type: 'put', key, value }
      break
    }
    case TYPES.del: {
      const key = c.uint8array.decode(state)
      checkKey(key)
      op = { type: 'del', key }
      break
    }
    case TYPES['add-writer']: {
      const key = c.fixed32.decode(state)
      const flags = c.uint.decode(state)
      if (flags > 3) throw new MalformedOpError('unknown add-writer flags')
      const name = c.string.decode(state)
      checkDeviceName(name)
      const channelKey = c.fixed32.decode(state)
      const channelProof = c.fixed64.decode(state)
      const at = c.uint.decode(state)
      op = { type: 'add-writer', key, indexer: (flags & 1) === 1, recovery: (flags & 2) === 2, name, channelKey, channelProof, at }
      break
    }
    case TYPES['remove-writer']:
      op = { type: 'remove-writer', key: c.fixed32.decode(state), at: c.uint.decode(state) }
      break
    case TYPES['register-device']: {
      const name = c.string.decode(state)
      checkDeviceName(name)
      op = {
        type: 'register-device',
        name,
        channelKey: c.fixed32.decode(state),
        channelProof: c.fixed64.decode(state),
        at: c.uint.decode(state)
      }
      break
    }
    default:
      throw new MalformedOpError(`unknown op type ${type}`)
  }
  return op
}

/** Device names: at most MAX_DEVICE_NAME_BYTES bytes of well-formed text (empty: not given). */
export function checkDeviceName(name: string): void {
  if (new TextEncoder().encode(name).byteLength > MAX_DEVICE_NAME_BYTES || !isWellFormed(name)) {
    throw new MalformedOpError(`device name must be well-formed text of at most ${MAX_DEVICE_NAME_BYTES} bytes`)
  }
}

/** String.prototype.isWellFormed (Node 20+, every current browser), with a fallback. */
export function isWellFormed(s: string): boolean {
  const f = (s as unknown as { isWellFormed?: () => boolean }).isWellFormed
  return f ? f.call(s) : !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
}

export function checkKey(key: Uint8Array): void {
  if (key.byteLength === 0 || key.byteLength > MAX_KEY_BYTES) {
    throw new MalformedOpError(`key must be 1 to ${MAX_KEY_BYTES} bytes`)
  }
}

export function checkValue(value: Uint8Array): void {
  if (value.byteLength < 1 || value.byteLength > MAX_VALUE_BYTES + 1) {
    throw new MalformedOpError('value out of bounds')
  }
  if (value[0] !== VALUE_BYTES && value[0] !== VALUE_STRING) throw new MalformedOpError('unknown value tag')
  if (value[0] === VALUE_STRING) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(value.subarray(1))
    } catch {
      throw new MalformedOpError('string value is not valid UTF-8')
    }
  }
}
