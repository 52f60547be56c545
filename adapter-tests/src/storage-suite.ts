// runStorageTests: the storage checks (storage-checks.ts) as one vitest `it` each.
import { afterEach, describe, it } from 'vitest'
import { cleanupsAfterEach } from '@hypha/test-utils'
import { storageCheckNames, storageChecks, type StorageCheckName, type StorageSetup } from './storage-checks.js'

export type { StorageSetup, StorageCheckName } from './storage-checks.js'

/**
 * For an adapter whose checks run elsewhere (the IndexedDB adapter, in a Chromium page that bundles
 * storage-checks.ts): `runCheck(name)` runs the check of that name there and rejects if it failed.
 */
export interface RemoteStorageSetup {
  name: string
  runCheck(name: StorageCheckName): Promise<void>
}

export interface StorageSuiteOptions {
  /**
   * Checks this adapter is known to fail, each with why: they run as `it.fails`, so the suite
   * says so once the adapter is fixed (and the entry must go).
   */
  knownFailures?: Partial<Record<StorageCheckName, string>>
}

export function runStorageTests(setup: StorageSetup | RemoteStorageSetup, options: StorageSuiteOptions = {}): void {
  describe(`storage contract: ${setup.name}`, { timeout: 60_000 }, () => {
    const cleanups = cleanupsAfterEach(afterEach)
    for (const name of storageCheckNames) {
      const run = () => ('runCheck' in setup ? setup.runCheck(name) : storageChecks[name](setup, cleanups))
      const known = options.knownFailures?.[name]
      if (known) it.fails(`${name} (known failure: ${known})`, run)
      else it(name, run)
    }
  })
}
