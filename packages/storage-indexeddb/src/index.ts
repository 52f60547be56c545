// @hypha/storage-indexeddb: Hypha storage in IndexedDB (browsers). How it stores files and why it
// caches and group-commits: idb-file.ts.
import type { StorageFunction } from '@hypha/node-core'
import { Adapter } from './adapter.js'
import { IdbFile } from './idb-file.js'

/** Options of `idbStorage`: the block size, the block cache's size and the IndexedDB factory. */
export interface IdbStorageOptions {
  /** Block size in bytes. Default 4096. Changing it for an existing database corrupts it. */
  blockSize?: number
  /** The IndexedDB factory. Default: globalThis.indexedDB. */
  indexedDB?: IDBFactory
  /**
   * Memory for cached blocks, shared by the adapter's files. Default 16 MiB. Blocks changed but
   * not yet committed are kept even beyond it.
   */
  cacheBytes?: number
}

/** Storage in the IndexedDB database `dbName` (one database per person/database on a device). */
export function idbStorage(dbName: string, options: IdbStorageOptions = {}): StorageFunction {
  const blockSize = options.blockSize ?? 4096
  if (!Number.isInteger(blockSize) || blockSize < 512) throw new TypeError('blockSize must be an integer ≥ 512')
  const cacheBytes = options.cacheBytes ?? 16 * 1024 * 1024
  if (!(cacheBytes >= 0)) throw new TypeError('cacheBytes must be a number ≥ 0')
  const factory = options.indexedDB ?? globalThis.indexedDB
  if (!factory) throw new TypeError('IndexedDB is not available here')
  const adapter = new Adapter(factory, dbName, Math.floor(cacheBytes / blockSize))
  return (name: string) => new IdbFile(adapter, name, blockSize)
}
