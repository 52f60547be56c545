/**
 * The device registry: one record per writer that ever was, kept in the view by apply so it rolls
 * back and re-applies with the ops that made it (it always agrees with the writers Autobase has).
 *
 *   view key 0x01 ‖ writer key   → device record (below)
 *   view key 0x02 ‖ channel key  → writer key      (who signs secure-channel messages as whom)
 *
 * Record, compact-encoding:
 *   uint version (= 1) ‖ uint flags (bit 0 active, bit 1 indexer, bit 2 recovery key)
 *   ‖ string name ‖ fixed32 channelKey ‖ fixed32 addedBy ‖ uint addedAt
 *   ‖ fixed32 revokedBy ‖ uint revokedAt
 * 32 zero bytes stand for "none" (the origin was added by nobody; a device not revoked).
 */
import c from 'compact-encoding'
import b4a from 'b4a'
import { strictUtf8, type CompactEncoding } from '@hypha/ephemeral-ext'
import { HyphaNodeError } from './errors.js'

/** A record's name was checked as an op's: bytes that are not UTF-8 mean a corrupt view. */
const recordName = strictUtf8((message, cause) => new HyphaNodeError('ERR_STORAGE', `member record name: ${message}`, { cause }))

export const MEMBER = 0x01
export const CHANNEL = 0x02
const RECORD_VERSION = 1
export const NO_KEY: Uint8Array = new Uint8Array(32)

export interface DeviceRecordInView {
  active: boolean
  indexer: boolean
  recovery: boolean
  name: string
  channelKey: Uint8Array
  addedBy: Uint8Array
  addedAt: number
  revokedBy: Uint8Array
  revokedAt: number
}

export const memberRecordEncoding: CompactEncoding<DeviceRecordInView> = {
  preencode(state, r) {
    c.uint.preencode(state, RECORD_VERSION)
    c.uint.preencode(state, flags(r))
    recordName.preencode(state, r.name)
    c.fixed32.preencode(state, r.channelKey)
    c.fixed32.preencode(state, r.addedBy)
    c.uint.preencode(state, r.addedAt)
    c.fixed32.preencode(state, r.revokedBy)
    c.uint.preencode(state, r.revokedAt)
  },
  encode(state, r) {
    c.uint.encode(state, RECORD_VERSION)
    c.uint.encode(state, flags(r))
    recordName.encode(state, r.name)
    c.fixed32.encode(state, r.channelKey)
    c.fixed32.encode(state, r.addedBy)
    c.uint.encode(state, r.addedAt)
    c.fixed32.encode(state, r.revokedBy)
    c.uint.encode(state, r.revokedAt)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== RECORD_VERSION) throw new HyphaNodeError('ERR_STORAGE', `unknown member record version ${version}`)
    const f = c.uint.decode(state)
    return {
      active: (f & 1) === 1,
      indexer: (f & 2) === 2,
      recovery: (f & 4) === 4,
      name: recordName.decode(state),
      channelKey: c.fixed32.decode(state),
      addedBy: c.fixed32.decode(state),
      addedAt: c.uint.decode(state),
      revokedBy: c.fixed32.decode(state),
      revokedAt: c.uint.decode(state)
    }
  }
}

function flags(r: DeviceRecordInView): number {
  return (r.active ? 1 : 0) | (r.indexer ? 2 : 0) | (r.recovery ? 4 : 0)
}

export const memberKey = (key: Uint8Array): Uint8Array => b4a.concat([b4a.from([MEMBER]), key])
export const channelIndexKey = (key: Uint8Array): Uint8Array => b4a.concat([b4a.from([CHANNEL]), key])

export function isNoKey(key: Uint8Array): boolean {
  return b4a.equals(key, NO_KEY)
}
