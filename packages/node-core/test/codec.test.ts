// Byte vectors for node-core's wire and storage formats: any change to these bytes breaks peers
// or storages written by earlier versions.
import { describe, it, expect } from 'vitest'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import c from 'compact-encoding'
import { encodeOp, decodeOp, MalformedOpError, type Op } from '../src/engine/ops.js'
import { memberRecordEncoding, type DeviceRecordInView } from '../src/engine/registry.js'
import { deviceRecordEncoding, type DeviceRecord } from '../src/device.js'
import { decodeEntry, decodeValue, encodeValue, keyBytes } from '../src/node-values.js'
import { headsEncoding, decodeHeads, MAX_HEADS_PER_MESSAGE, type Head } from '../src/heads.js'
import { encodeSeedAnnouncement, decodeSeedAnnouncement, encodeLocator, decodeLocator, decodeCanonical, HeadsError, HyphaNodeError } from '../src/index.js'

const hex = (b: Uint8Array) => b4a.toString(b, 'hex')
const fill = (n: number, v: number) => b4a.alloc(n, v)
/** Bytes as hex, so that a Buffer and a Uint8Array with the same bytes compare equal. */
const plain = (v: unknown): unknown =>
  v instanceof Uint8Array ? b4a.toString(v, 'hex') : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v

describe('oplog ops', () => {
  // uint version (2) ‖ uint type ‖ the type's fields (see ops.ts)
  const vectors: Array<[Op, string]> = [
    [{ type: 'put', key: b4a.from('k'), value: b4a.from([1, 0x76]) }, '02' + '01' + '016b' + '020176'],
    [{ type: 'del', key: b4a.from('k') }, '02' + '02' + '016b'],
    [
      { type: 'add-writer', key: fill(32, 1), indexer: true, recovery: true, name: 'Phone', channelKey: fill(32, 2), channelProof: fill(64, 3), at: 1000 },
      ['02', '03', '01'.repeat(32), '03', '05', hex(b4a.from('Phone')), '02'.repeat(32), '03'.repeat(64), 'fde803'].join('')
    ],
    [
      { type: 'add-writer', key: fill(32, 1), indexer: false, recovery: false, name: '', channelKey: fill(32, 0), channelProof: fill(64, 0), at: 0 },
      ['02', '03', '01'.repeat(32), '00', '00', '00'.repeat(32), '00'.repeat(64), '00'].join('')
    ],
    [{ type: 'remove-writer', key: fill(32, 1), at: 300 }, ['02', '04', '01'.repeat(32), 'fd2c01'].join('')],
    [
      { type: 'register-device', name: 'Laptop', channelKey: fill(32, 2), channelProof: fill(64, 3), at: 70_000 },
      ['02', '05', '06', hex(b4a.from('Laptop')), '02'.repeat(32), '03'.repeat(64), 'fe70110100'].join('')
    ]
  ]
  it.each(vectors.map(([op, bytes]) => [op.type, op, bytes] as const))('%s: byte for byte, and back', (_, op, bytes) => {
    expect(hex(encodeOp(op))).toBe(bytes)
    expect(plain(decodeOp(b4a.from(bytes, 'hex')))).toEqual(plain(op))
  })

  it('rejects anything else with MalformedOpError', () => {
    const put = encodeOp({ type: 'put', key: b4a.from('k'), value: b4a.from([1, 0x76]) })
    const bad: unknown[] = [
      'not bytes',
      new Uint8Array(0),
      put.subarray(0, put.byteLength - 1),
      b4a.concat([put, b4a.from([0])]),
      b4a.from('0101016b020176', 'hex'), // version 1
      b4a.from('0209', 'hex'), // unknown type
      b4a.from('020100020176', 'hex'), // empty key
      b4a.from('0201016b00', 'hex'), // empty value
      b4a.from('0201016b020776', 'hex'), // unknown value tag
      b4a.from('0201016b0301fffe', 'hex'), // a string value that is not UTF-8
      b4a.from(['02', '03', '01'.repeat(32), '04', '00', '00'.repeat(96), '00'].join(''), 'hex'), // add-writer flag 4
      b4a.from(['02', '05', '81', '41'.repeat(129), '00'.repeat(96), '00'].join(''), 'hex') // a 129-byte name
    ]
    for (const bytes of bad) expect(() => decodeOp(bytes), String(bytes)).toThrow(MalformedOpError)
    try {
      decodeOp(put.subarray(0, 4))
    } catch (err) {
      expect((err as Error).cause).toBeInstanceOf(Error)
    }
  })
})

describe('text fields', () => {
  // Byte strings that are not UTF-8: a lone surrogate (ED A0 80), an overlong NUL (C0 80), a lone
  // continuation byte, a truncated sequence, a code point past U+10FFFF (F4 90 80 80).
  const notUtf8 = ['eda080', 'c080', '80', 'e282', 'f4908080', '41ff42']
  const lengthPrefixed = (h: string) => hex(c.encode(c.uint, h.length / 2)) + h

  it('device names that are not UTF-8 are malformed ops (not decoded with U+FFFD)', () => {
    for (const name of notUtf8) {
      const registerDevice = ['02', '05', lengthPrefixed(name), '00'.repeat(96), '00'].join('')
      const addWriter = ['02', '03', '01'.repeat(32), '00', lengthPrefixed(name), '00'.repeat(96), '00'].join('')
      for (const op of [registerDevice, addWriter]) {
        let thrown: unknown = null
        try {
          decodeOp(b4a.from(op, 'hex'))
        } catch (err) {
          thrown = err
        }
        expect(thrown, op).toBeInstanceOf(MalformedOpError)
        expect((thrown as MalformedOpError).code).toBe('ERR_MALFORMED_OP')
        expect((thrown as MalformedOpError).cause, op).toBeInstanceOf(Error) // the decoder's own error
      }
    }
    // The reviewers' input: register-device named ED A0 80.
    expect(() => decodeOp(b4a.from('020503eda080' + '00'.repeat(96) + '00', 'hex'))).toThrow(MalformedOpError)
  })

  it('a name or value with a leading U+FEFF comes back with it', async () => {
    const op: Op = { type: 'register-device', name: '\uFEFFPhone', channelKey: fill(32, 2), channelProof: fill(64, 3), at: 1 }
    expect((decodeOp(encodeOp(op)) as { name: string }).name).toBe('\uFEFFPhone')
    expect(decodeValue(encodeValue('\uFEFFvalue'))).toBe('\uFEFFvalue')
    const entry = decodeEntry({ key: b4a.from('\uFEFFkey'), value: encodeValue('v') })
    expect(entry.key).toBe('\uFEFFkey')
  })

  it('a string key or value that UTF-8 cannot hold (a lone surrogate) is refused, not stored as U+FFFD', () => {
    for (const text of ['\uD800', 'a\uDC00b', '\uDBFF']) {
      expect(() => encodeValue(text)).toThrow(/value must be well-formed/)
      expect(() => keyBytes(text)).toThrow(/key must be well-formed/)
    }
    // A stored string value that is not UTF-8 is a corrupt view.
    expect(() => decodeValue(b4a.from('01eda080', 'hex'))).toThrow(HyphaNodeError)
  })

  it('a stored member record whose name is not UTF-8 is ERR_STORAGE', () => {
    const record = ['01', '01', lengthPrefixed('eda080'), '02'.repeat(32), '03'.repeat(32), '00', '00'.repeat(32), '00'].join('')
    let thrown: unknown = null
    try {
      c.decode(memberRecordEncoding, b4a.from(record, 'hex'))
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(HyphaNodeError)
    expect((thrown as HyphaNodeError).code).toBe('ERR_STORAGE')
    expect((thrown as HyphaNodeError).cause).toBeInstanceOf(Error)
  })

  it('an op whose name UTF-8 cannot hold (a lone surrogate) is refused at encode, not written as U+FFFD', () => {
    for (const name of ['\uD800', 'a\uDC00']) {
      const register: Op = { type: 'register-device', name, channelKey: fill(32, 2), channelProof: fill(64, 3), at: 1 }
      const add: Op = { type: 'add-writer', key: fill(32, 1), indexer: true, recovery: false, name, channelKey: fill(32, 2), channelProof: fill(64, 3), at: 1 }
      expect(() => encodeOp(register)).toThrow(MalformedOpError)
      expect(() => encodeOp(add)).toThrow(MalformedOpError)
    }
  })
})

describe('seed announcements', () => {
  it('are nonce ‖ secretbox(uint count ‖ count × fixed32) under BLAKE2b(memberKey, context), and back', () => {
    const memberKey = fill(32, 0xaa)
    const keys = [fill(32, 1), fill(32, 2)]
    const bytes = encodeSeedAnnouncement(keys, memberKey)
    expect(decodeSeedAnnouncement(bytes, memberKey).map(hex)).toEqual(keys.map(hex))
    // Opened here by hand: the seed key is BLAKE2b-256 keyed with the member key over the context.
    const seedKey = b4a.alloc(32)
    sodium.crypto_generichash(seedKey, b4a.from('hypha/seed-key/1\0'), memberKey)
    const list = b4a.alloc(bytes.byteLength - 24 - 16)
    expect(sodium.crypto_secretbox_open_easy(list, bytes.subarray(24), bytes.subarray(0, 24), seedKey)).toBe(true)
    expect(hex(list)).toBe(['02', '01'.repeat(32), '02'.repeat(32)].join(''))
    expect(decodeSeedAnnouncement(encodeSeedAnnouncement([], memberKey), memberKey)).toEqual([])
  })
})

describe('heads', () => {
  it('are uint count ‖ count × (fixed32 writerKey ‖ uint length ‖ fixed32 treeHash), byte for byte, and back', () => {
    const heads: Head[] = [
      { key: fill(32, 1), length: 5, treeHash: fill(32, 2) },
      { key: fill(32, 3), length: 1000, treeHash: fill(32, 4) }
    ]
    const bytes = c.encode(headsEncoding, heads)
    expect(hex(bytes)).toBe(['02', '01'.repeat(32), '05', '02'.repeat(32), '03'.repeat(32), 'fde803', '04'.repeat(32)].join(''))
    expect(c.decode(headsEncoding, bytes).map(plain)).toEqual(heads.map(plain))
  })

  it('refuses trailing bytes, truncation and more than the maximum', () => {
    const one = c.encode(headsEncoding, [{ key: fill(32, 1), length: 5, treeHash: fill(32, 2) }])
    expect(() => c.decode(headsEncoding, b4a.concat([one, b4a.from([0])]))).toThrow()
    expect(() => c.decode(headsEncoding, one.subarray(0, one.byteLength - 1))).toThrow()
    expect(() => c.decode(headsEncoding, c.encode(c.uint, MAX_HEADS_PER_MESSAGE + 1))).toThrow()
  })
})

describe('locators', () => {
  it('are fixed32 topic ‖ fixed32 databaseKey ‖ fixed32 proof, byte for byte, and back', () => {
    const locator = { topic: fill(32, 1), databaseKey: fill(32, 2), proof: fill(32, 3) }
    const bytes = encodeLocator(locator)
    expect(hex(bytes)).toBe(['01'.repeat(32), '02'.repeat(32), '03'.repeat(32)].join(''))
    expect(plain(decodeLocator(bytes))).toEqual(plain(locator))
    expect(plain(decodeLocator(hex(bytes)))).toEqual(plain(locator))
  })

  it('rejects other lengths and bad hex with ERR_INVALID_ARGUMENT', () => {
    for (const bad of [new Uint8Array(95), new Uint8Array(97), '00'.repeat(95), 'zz'.repeat(96), '0'.repeat(191), null as unknown as Uint8Array]) {
      expect(() => decodeLocator(bad)).toThrow(HyphaNodeError)
      try {
        decodeLocator(bad)
      } catch (err) {
        expect((err as HyphaNodeError).code).toBe('ERR_INVALID_ARGUMENT')
      }
    }
  })
})

describe('storage records', () => {
  it('device record: uint version (1) ‖ fixed32 accountId ‖ fixed32 databaseKey ‖ uint flags', () => {
    const record: DeviceRecord = { accountId: fill(32, 1), databaseKey: fill(32, 2), created: true }
    const bytes = c.encode(deviceRecordEncoding, record)
    expect(hex(bytes)).toBe(['01', '01'.repeat(32), '02'.repeat(32), '01'].join(''))
    expect(plain(c.decode(deviceRecordEncoding, bytes))).toEqual(plain(record))
    expect(c.decode(deviceRecordEncoding, c.encode(deviceRecordEncoding, { ...record, created: false })).created).toBe(false)
    expect(() => c.decode(deviceRecordEncoding, b4a.concat([b4a.from([2]), bytes.subarray(1)]))).toThrow()
    expect(() => c.decode(deviceRecordEncoding, bytes.subarray(0, 40))).toThrow()
  })

  it('member record: uint version (1) ‖ uint flags ‖ string name ‖ fixed32 channelKey ‖ fixed32 addedBy ‖ uint addedAt ‖ fixed32 revokedBy ‖ uint revokedAt', () => {
    const record: DeviceRecordInView = {
      active: true,
      indexer: false,
      recovery: true,
      name: 'Phone',
      channelKey: fill(32, 2),
      addedBy: fill(32, 3),
      addedAt: 1000,
      revokedBy: fill(32, 0),
      revokedAt: 0
    }
    const bytes = c.encode(memberRecordEncoding, record)
    expect(hex(bytes)).toBe(['01', '05', '05', hex(b4a.from('Phone')), '02'.repeat(32), '03'.repeat(32), 'fde803', '00'.repeat(32), '00'].join(''))
    expect(plain(c.decode(memberRecordEncoding, bytes))).toEqual(plain(record))
    expect(() => c.decode(memberRecordEncoding, b4a.concat([b4a.from([2]), bytes.subarray(1)]))).toThrow()
  })
})

describe('one encoding per value (the fuzz bench found several)', () => {
  const hex = (s: string) => b4a.from(s.replace(/\s/g, ''), 'hex')
  const zeros = (n: number) => '00'.repeat(n)
  it('refuses a uint in more bytes than it needs, a number past 2^53, trailing bytes and unknown flags', () => {
    // An op: version 2, type 2 (del), key 'a'; then the same with the type in three bytes.
    expect(() => decodeOp(hex('02 02 01 61'))).not.toThrow()
    expect(() => decodeOp(hex('02 fd0200 01 61'))).toThrow(MalformedOpError)
    // Heads: an empty list, and the same count (0) in three bytes.
    expect(decodeHeads(hex('00'))).toEqual([])
    expect(() => decodeHeads(hex('fd0000'))).toThrow(HeadsError)
    // A head whose length is 2^64 − 1 (read as a rounded float before).
    expect(() => decodeHeads(hex(`01 ${zeros(32)} ff ffffffffffffffff ${zeros(32)}`))).toThrow(HeadsError)
    // The device record: trailing bytes, and flag bits it does not know.
    const record = `01 ${zeros(32)} ${zeros(32)}`
    expect(decodeCanonical(deviceRecordEncoding, hex(`${record} 01`)).created).toBe(true)
    expect(() => decodeCanonical(deviceRecordEncoding, hex(`${record} 01 ff`))).toThrow()
    expect(() => decodeCanonical(deviceRecordEncoding, hex(`${record} 02`))).toThrow(HyphaNodeError)
  })
})
