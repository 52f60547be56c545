/**
 * A device's own keys and its record of which account and database its storage holds.
 *
 * Keys: every key that writes or identifies a device is random and held by the device. They come
 * from Corestore's primary key (32 random bytes Corestore makes on first use and keeps in the
 * storage's `primary-key` file) through `store.createKeyPair(name)`, Corestore's derivation
 * (BLAKE2b-256 keyed with the primary key). Reopening a storage is the same device; a fresh
 * storage is a new device, whatever its name. Nothing here depends on the passphrase.
 *
 * Record (file `hypha-device` in the same storage), compact-encoding:
 *   uint version (= 1) ‖ fixed32 accountId ‖ fixed32 databaseKey ‖ uint flags (bit 0: created here)
 *
 * Device files (`node.readDeviceFile` / `writeDeviceFile`, file `hypha-file-<name>`): small files
 * packages on top keep with the device, never replicated.
 */
import c from 'compact-encoding'
import { decodeCanonical, type CompactEncoding } from '@hypha/ephemeral-ext'
import { HyphaNodeError } from './engine/errors.js'
import type { KeyPair } from './keys.js'

/** Names given to `store.createKeyPair`: one key pair per purpose, all from the primary key. */
export const DEVICE_KEY_NAMES = Object.freeze({
  writer: 'hypha/writer/1',
  noise: 'hypha/noise/1',
  channel: 'hypha/channel-signing/1'
})

/** The device's own random key pairs, kept in its storage: writer, Noise and channel signing. */
export interface DeviceKeys {
  /** Signs this device's Autobase writer core. */
  writerKeyPair: KeyPair
  /** Its Noise identity on every transport. */
  noiseKeyPair: KeyPair
  /** Signs its secure-channel envelopes; recorded in the device registry. */
  channelKeyPair: KeyPair
}

export async function deviceKeys(store: { createKeyPair(name: string): Promise<KeyPair> }): Promise<DeviceKeys> {
  return {
    writerKeyPair: await store.createKeyPair(DEVICE_KEY_NAMES.writer),
    noiseKeyPair: await store.createKeyPair(DEVICE_KEY_NAMES.noise),
    channelKeyPair: await store.createKeyPair(DEVICE_KEY_NAMES.channel)
  }
}

/** What the device file `hypha-device` records: which account and database this storage holds, and whether it created it. */
export interface DeviceRecord {
  accountId: Uint8Array
  databaseKey: Uint8Array
  /** This device created the database: it is the origin. */
  created: boolean
}

/** Name of the device record's file in the storage. */
export const DEVICE_RECORD_FILE = 'hypha-device'
const RECORD_VERSION = 1

export const deviceRecordEncoding: CompactEncoding<DeviceRecord> = {
  preencode(state, r) {
    c.uint.preencode(state, RECORD_VERSION)
    c.fixed32.preencode(state, r.accountId)
    c.fixed32.preencode(state, r.databaseKey)
    c.uint.preencode(state, r.created ? 1 : 0)
  },
  encode(state, r) {
    c.uint.encode(state, RECORD_VERSION)
    c.fixed32.encode(state, r.accountId)
    c.fixed32.encode(state, r.databaseKey)
    c.uint.encode(state, r.created ? 1 : 0)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== RECORD_VERSION) throw new HyphaNodeError('ERR_STORAGE', `unknown device record version ${version}`)
    const accountId = c.fixed32.decode(state)
    const databaseKey = c.fixed32.decode(state)
    const flags = c.uint.decode(state)
    if (flags > 1) throw new HyphaNodeError('ERR_STORAGE', `unknown device record flags ${flags}`)
    return { accountId, databaseKey, created: flags === 1 }
  }
}

interface RandomAccess {
  read(offset: number, size: number, cb: (err: Error | null, data?: Uint8Array) => void): void
  write(offset: number, data: Uint8Array, cb: (err: Error | null) => void): void
  stat?(cb: (err: Error | null, st?: { size: number }) => void): void
  truncate?(offset: number, cb: (err: Error | null) => void): void
  close(cb: (err: Error | null) => void): void
}

type StorageFn = (name: string) => RandomAccess

/** Most bytes a device file (`node.writeDeviceFile`) holds. */
export const DEVICE_FILE_MAX_BYTES = 1 << 20
const DEVICE_FILE_NAME = /^[a-z0-9-]{1,64}$/

/** The storage file of a device file `name` (checked: `ERR_INVALID_ARGUMENT`). */
export function deviceFileName(name: unknown): string {
  if (typeof name !== 'string' || !DEVICE_FILE_NAME.test(name)) {
    throw new HyphaNodeError('ERR_INVALID_ARGUMENT', 'a device file name is 1 to 64 characters of a-z, 0-9 and -')
  }
  return `hypha-file-${name}`
}

/** Reads the record; null on a storage that holds none. Throws `ERR_STORAGE` on a corrupt one. */
export async function readDeviceRecord(storage: StorageFn): Promise<DeviceRecord | null> {
  const bytes = await readWholeFile(storage, DEVICE_RECORD_FILE)
  if (bytes === null) return null
  try {
    return decodeCanonical(deviceRecordEncoding, bytes)
  } catch (err) {
    throw new HyphaNodeError('ERR_STORAGE', 'the device record in this storage is corrupt', { cause: err })
  }
}

export async function writeDeviceRecord(storage: StorageFn, record: DeviceRecord): Promise<void> {
  try {
    await writeWholeFile(storage, DEVICE_RECORD_FILE, c.encode(deviceRecordEncoding, record))
  } catch (err) {
    throw new HyphaNodeError('ERR_STORAGE', 'could not write the device record', { cause: err })
  }
}

/** A file's bytes, or null when it is missing or empty. Rejects with the storage's own error. */
export async function readWholeFile(storage: StorageFn, name: string): Promise<Uint8Array | null> {
  const file = storage(name)
  try {
    const size = await new Promise<number>((resolve) => {
      if (!file.stat) return resolve(0)
      file.stat((err, st) => {
        // A missing file: random-access-file says ENOENT, memory storage says 'Not found'.
        if (err) return resolve(0)
        resolve(st?.size ?? 0)
      })
    })
    if (size === 0) return null
    return await new Promise<Uint8Array>((resolve, reject) =>
      file.read(0, size, (err, data) => (err ? reject(err) : resolve(data!)))
    )
  } finally {
    await closeFile(file)
  }
}

/** Replaces a file's bytes: writes them from offset 0, then cuts the file to their length. */
export async function writeWholeFile(storage: StorageFn, name: string, bytes: Uint8Array): Promise<void> {
  const file = storage(name)
  try {
    if (bytes.byteLength > 0) await new Promise<void>((resolve, reject) => file.write(0, bytes, (err) => (err ? reject(err) : resolve())))
    if (file.truncate) {
      await new Promise<void>((resolve, reject) => file.truncate!(bytes.byteLength, (err) => (err ? reject(err) : resolve())))
    }
  } finally {
    await closeFile(file)
  }
}

function closeFile(file: RandomAccess): Promise<void> {
  return new Promise((resolve) => file.close(() => resolve()))
}
