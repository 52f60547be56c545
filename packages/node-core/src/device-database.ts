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
  /**
   * Set when the database came from a lookup whose settle window is still running: resolves once
   * it passed with no other proven key, rejects `ERR_ACCOUNT_CONFLICT` (or `ERR_CLOSED`). Until
   * then the database may only be read: see node-lifecycle.ts.
   */
  settled: Promise<void> | null
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
  const { next, settled } = await nextRecord(input, record, ownDatabaseKey, () => input.startTransports(device.noiseKeyPair))
  const created = next.created && b4a.equals(next.databaseKey, ownDatabaseKey)
  return { device, writerKeyPair, record, next, created, settled }
}

async function nextRecord(
  { options, account, lookup, reach }: DatabaseChoiceInput,
  record: DeviceRecord | null,
  ownDatabaseKey: Uint8Array,
  startTransports: () => Promise<void>
): Promise<{ next: DeviceRecord; settled: Promise<void> | null }> {
  const decided = (next: DeviceRecord) => ({ next, settled: null })
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
    return decided(record)
  }
  if (options.databaseKey) return decided({ accountId: account.accountId, databaseKey: options.databaseKey, created: false })
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
    return decided({ accountId: account.accountId, databaseKey: ownDatabaseKey, created: true })
  }
  await startTransports()
  // The first proven key is used at once, to start reading that database while the settle window
  // runs (the first sync overlaps the wait); `settled` says whether it stood. See node-lifecycle.ts.
  let first!: (key: Uint8Array) => void
  const heard = new Promise<Uint8Array>((resolve) => (first = resolve))
  const found = lookup.find({
    timeoutMs: options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS,
    settleMs: options.lookupSettleMs ?? DEFAULT_LOOKUP_SETTLE_MS,
    onFirst: first,
    ...(reach ? { explain: reach } : {})
  })
  const databaseKey = await Promise.race([heard, found])
  const settled = found.then(() => {})
  settled.catch(() => {}) // awaited by the caller; not an unhandled rejection if it fails first
  return { next: { accountId: account.accountId, databaseKey, created: false }, settled }
}

/**
 * Before a device without a record opens its database: drops what Autobase keeps on its writer
 * core about a database it opened before the record was written (a lookup whose settle window
 * then heard a conflict, or a crash in that window): the boot record, the writers to wake up and
 * the referrer all name that other database's cores, which do not even decrypt under this one's
 * keys, so the open would fail. Without them the database is applied from its cores afresh.
 */
export async function dropUnrecordedBoot(store: any, writerKeyPair: KeyPair): Promise<void> {
  // Autobase 6 opens its local core as store.get({ keyPair, compat: false }): the key follows from
  // the writer key pair alone (its manifest), whatever the namespace.
  const local = store.get({ keyPair: writerKeyPair, compat: false, active: false })
  try {
    await local.ready()
    for (const name of UNRECORDED_STATE) {
      if ((await local.getUserData(name)) !== null) await local.setUserData(name, null)
    }
  } finally {
    await local.close()
  }
}
/** Autobase 6.5's user data on its local core that names a database (index.js, lib/wakeup.js). */
const UNRECORDED_STATE = ['autobase/boot', 'autobase/wakeup', 'referrer']
