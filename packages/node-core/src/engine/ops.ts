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
import { decodeCanonical, decodeUtf8, isWellFormed, strictUtf8, utf8ByteLength, type CompactEncoding } from '@hypha/ephemeral-ext'

export { isWellFormed }

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

export class MalformedOpError extends Error {
  override name = 'MalformedOpError'
  readonly code = 'ERR_MALFORMED_OP'
}

/** Names: text fields decode strictly (strictUtf8 of @hypha/ephemeral-ext), at most MAX_DEVICE_NAME_BYTES. */
const nameText = strictUtf8((message, cause) => new MalformedOpError(`device name: ${message}`, { cause }), MAX_DEVICE_NAME_BYTES)

type OpOf<K extends Op['type']> = Extract<Op, { type: K }>

const putFields: CompactEncoding<OpOf<'put'>> = {
  preencode(state, op) {
    c.uint8array.preencode(state, op.key)
    c.uint8array.preencode(state, op.value)
  },
  encode(state, op) {
    c.uint8array.encode(state, op.key)
    c.uint8array.encode(state, op.value)
  },
  decode(state) {
    const key = c.uint8array.decode(state)
    const value = c.uint8array.decode(state)
    checkKey(key)
    checkValue(value)
    return { type: 'put', key, value }
  }
}

const delFields: CompactEncoding<OpOf<'del'>> = {
  preencode(state, op) {
    c.uint8array.preencode(state, op.key)
  },
  encode(state, op) {
    c.uint8array.encode(state, op.key)
  },
  decode(state) {
    const key = c.uint8array.decode(state)
    checkKey(key)
    return { type: 'del', key }
  }
}

const addWriterFields: CompactEncoding<OpOf<'add-writer'>> = {
  preencode(state, op) {
    c.fixed32.preencode(state, op.key)
    c.uint.preencode(state, addWriterFlags(op))
    nameText.preencode(state, op.name)
    c.fixed32.preencode(state, op.channelKey)
    c.fixed64.preencode(state, op.channelProof)
    c.uint.preencode(state, op.at)
  },
  encode(state, op) {
    c.fixed32.encode(state, op.key)
    c.uint.encode(state, addWriterFlags(op))
    nameText.encode(state, op.name)
    c.fixed32.encode(state, op.channelKey)
    c.fixed64.encode(state, op.channelProof)
    c.uint.encode(state, op.at)
  },
  decode(state) {
    const key = c.fixed32.decode(state)
    const flags = c.uint.decode(state)
    if (flags > 3) throw new MalformedOpError('unknown add-writer flags')
    const deviceName = nameText.decode(state)
    checkDeviceName(deviceName)
    const channelKey = c.fixed32.decode(state)
    const channelProof = c.fixed64.decode(state)
    const at = c.uint.decode(state)
    return { type: 'add-writer', key, indexer: (flags & 1) === 1, recovery: (flags & 2) === 2, name: deviceName, channelKey, channelProof, at }
  }
}

const addWriterFlags = (op: OpOf<'add-writer'>) => (op.indexer ? 1 : 0) | (op.recovery ? 2 : 0)

const removeWriterFields: CompactEncoding<OpOf<'remove-writer'>> = {
  preencode(state, op) {
    c.fixed32.preencode(state, op.key)
    c.uint.preencode(state, op.at)
  },
  encode(state, op) {
    c.fixed32.encode(state, op.key)
    c.uint.encode(state, op.at)
  },
  decode(state) {
    return { type: 'remove-writer', key: c.fixed32.decode(state), at: c.uint.decode(state) }
  }
}

const registerDeviceFields: CompactEncoding<OpOf<'register-device'>> = {
  preencode(state, op) {
    nameText.preencode(state, op.name)
    c.fixed32.preencode(state, op.channelKey)
    c.fixed64.preencode(state, op.channelProof)
    c.uint.preencode(state, op.at)
  },
  encode(state, op) {
    nameText.encode(state, op.name)
    c.fixed32.encode(state, op.channelKey)
    c.fixed64.encode(state, op.channelProof)
    c.uint.encode(state, op.at)
  },
  decode(state) {
    const deviceName = nameText.decode(state)
    checkDeviceName(deviceName)
    return { type: 'register-device', name: deviceName, channelKey: c.fixed32.decode(state), channelProof: c.fixed64.decode(state), at: c.uint.decode(state) }
  }
}

/** Each type's number on the wire and the encoding of its fields. */
const TYPES: { [K in Op['type']]: { tag: number; fields: CompactEncoding<OpOf<K>> } } = {
  put: { tag: 1, fields: putFields },
  del: { tag: 2, fields: delFields },
  'add-writer': { tag: 3, fields: addWriterFields },
  'remove-writer': { tag: 4, fields: removeWriterFields },
  'register-device': { tag: 5, fields: registerDeviceFields }
}
// Widened to Op: the op given to a type's encoding is always of that type (TS cannot see it).
const fieldsOf = (type: Op['type']) => TYPES[type].fields as CompactEncoding<Op>
const BY_TAG = new Map(Object.entries(TYPES).map(([type, { tag }]) => [tag, fieldsOf(type as Op['type'])]))

/** `uint version ‖ uint type ‖ the type's fields`, a whole block: decoding refuses trailing bytes. */
export const opEncoding: CompactEncoding<Op> = {
  preencode(state, op) {
    c.uint.preencode(state, OP_VERSION)
    c.uint.preencode(state, TYPES[op.type].tag)
    fieldsOf(op.type).preencode(state, op)
  },
  encode(state, op) {
    c.uint.encode(state, OP_VERSION)
    c.uint.encode(state, TYPES[op.type].tag)
    fieldsOf(op.type).encode(state, op)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== OP_VERSION) throw new MalformedOpError(`unknown op version ${version}`)
    const tag = c.uint.decode(state)
    const fields = BY_TAG.get(tag)
    if (!fields) throw new MalformedOpError(`unknown op type ${tag}`)
    const op = fields.decode(state)
    if (state.start !== state.end) throw new MalformedOpError('trailing bytes after op')
    return op
  }
}

export function encodeOp(op: Op): Uint8Array {
  return c.encode(opEncoding, op)
}

/** Decodes one op; throws {@link MalformedOpError} for anything else. */
export function decodeOp(bytes: unknown): Op {
  if (!(bytes instanceof Uint8Array)) throw new MalformedOpError('not bytes')
  try {
    return decodeCanonical(opEncoding, bytes)
  } catch (err) {
    if (err instanceof MalformedOpError) throw err
    throw new MalformedOpError('truncated or malformed op', { cause: err })
  }
}

/** Device names: at most MAX_DEVICE_NAME_BYTES bytes of well-formed text (empty: not given). */
export function checkDeviceName(name: string): void {
  if (utf8ByteLength(name) > MAX_DEVICE_NAME_BYTES || !isWellFormed(name)) {
    throw new MalformedOpError(`device name must be well-formed text of at most ${MAX_DEVICE_NAME_BYTES} bytes`)
  }
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
  if (value[0] === VALUE_STRING && decodeUtf8(value.subarray(1)) === null) throw new MalformedOpError('string value is not valid UTF-8')
}
