import RAM from 'random-access-memory'
import type { StorageFunction } from './types.js'

/**
 * In-memory storage (random-access-memory): the embedded default and the test storage.
 * Nothing survives the process, but one adapter can be closed and reopened within it: the same
 * adapter passed to a new node sees the earlier node's data (RAM.reusable()).
 */
export function memoryStorage(): StorageFunction {
  return RAM.reusable() as StorageFunction
}
