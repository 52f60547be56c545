/**
 * A storage adapter is exactly what Corestore 6 takes: a function from a file name
 * ('<core id>/oplog', '…/tree', '…/bitfield', '…/data', …) to a random-access-storage instance,
 * or a directory path (Node only; Hypercore then uses random-access-file itself).
 */
export type StorageFunction = (name: string) => unknown
/** Where a node keeps its cores and keys: a function from file name to random-access-storage, or a directory path (Node). */
export type StorageAdapter = StorageFunction | string
