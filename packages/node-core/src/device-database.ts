/**
 * Which database a full node's device opens, with which keys: the database its storage records
 * (checked against the account and the options), the one it is given, a new one (origin), or the
 * one the account's peers name on the lookup topic.
 */
import b4a from 'b4a'
import { HyphaNodeError } from './engine/errors.js'
import { databaseKeyFromOriginPublicKey } from './engine/autobase.js'
import { deviceKeys, readDeviceRecord, type DeviceKeys, type DeviceRecord } from './device.js'
import type { AccountKeys, KeyPair } from './keys.js'
import type { AccountLookup } from './lookup.js'
import type { FullNodeOptions } from './node-types.js'

const DEFAULT_LOOKUP_TIMEOUT_MS = 60_000
const DEFAULT_LOOKUP_SETTLE_MS = 250

export interface DatabaseChoiceInput {
  /** The node's Corestore, ready: it holds the device's keys and record. */
  store: any
  options: FullNodeOptions
  account: AccountKeys
  lookup: AccountLookup
  /** Starts the transports with this Noise key pair: a lookup needs peers. */
  startTransports(keyPair: KeyPair): Promise<void>
  /** Why a lookup may have had no answer (NodeConnections.reach), for its `ERR_NOT_FOUND`. */
  reach?: () => string
}

export interface DatabaseChoice {
  device: DeviceKeys
  /** What the node writes with: `options.writerKeyPair` (recovery), else the device's own. */
  writerKeyPair: KeyPair
  /** What the storage held, or null for a new device (then `next` is to be written once open). */
  record: DeviceRecord | null
  next: DeviceRecord
  /** This device creates (or created) the database: it is the origin. */
  created: boolean
}

/**
 * Rejects with `HyphaNodeError`: `ERR_OTHER_ACCOUNT`, `ERR_OTHER_DATABASE` (the storage's
 * record does not fit), `ERR_ACCOUNT_EXISTS` (creating, see existingAccountCheckMs),
 * `ERR_NOT_FOUND` / `ERR_ACCOUNT_CONFLICT` (lookup).
 */
export async function chooseDatabase(input: DatabaseChoiceInput): Promise<DatabaseChoice> {
  const device = await deviceKeys(input.store)
  const writerKeyPair = input.options.writerKeyPair ?? device.writerKeyPair
  // The database this writer would create (an origin's database key is its writer core key).
  const ownDatabaseKey = databaseKeyFromOriginPublicKey(writerKeyPair.publicKey)
  const record = await readDeviceRecord(input.store.storage)
  const next = await nextRecord(input, record, ownDatabaseKey, () => input.startTransports(device.noiseKeyPair))
  const created = next.created && b4a.equals(next.databaseKey, ownDatabaseKey)
  return { device, writerKeyPair, record, next, created }
}

async function nextRecord(
  { options, account, lookup, reach }: DatabaseChoiceInput,
  record: DeviceRecord | null,
  ownDatabaseKey: Uint8Array,
  startTransports: () => Promise<void>
): Promise<DeviceRecord> {
  if (record !== null) {
    if (!b4a.equals(record.accountId, account.accountId)) {
      throw new HyphaNodeError(
        'ERR_OTHER_ACCOUNT',
        'this storage holds a device of another account (or the passphrase or name is wrong)'
      )
    }
    if (options.databaseKey && !b4a.equals(options.databaseKey, record.databaseKey)) {
      throw new HyphaNodeError('ERR_OTHER_DATABASE', 'this storage holds a device of another database')
    }
    return record
  }
  if (options.databaseKey) return { accountId: account.accountId, databaseKey: options.databaseKey, created: false }
  if (options.role === 'origin') {
    const checkMs = options.existingAccountCheckMs ?? 0
    if (checkMs > 0) {
      await startTransports()
      const existing = await lookup.find({ timeoutMs: checkMs, settleMs: 0 }).catch((err: HyphaNodeError) => {
        if (err.code === 'ERR_NOT_FOUND') return null
        throw err
      })
      if (existing) throw new HyphaNodeError('ERR_ACCOUNT_EXISTS', 'this account has a database already: sign in instead')
    }
    return { accountId: account.accountId, databaseKey: ownDatabaseKey, created: true }
  }
  await startTransports()
  const databaseKey = await lookup.find({
    timeoutMs: options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS,
    settleMs: options.lookupSettleMs ?? DEFAULT_LOOKUP_SETTLE_MS,
    ...(reach ? { explain: reach } : {})
  })
  return { accountId: account.accountId, databaseKey, created: false }
}
