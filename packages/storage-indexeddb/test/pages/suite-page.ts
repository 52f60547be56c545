// Runs in Chromium (bundled by buildBrowserBundle): the shared storage checks of @hypha/adapter-tests
// on idbStorage, one at a time by name, for test/suite.test.ts.
import { storageChecks, type StorageCheckName } from '@hypha/adapter-tests/storage-checks'
import { idbStorage } from '../../src/index.js'

let databases = 0

async function run(name: StorageCheckName): Promise<void> {
  const cleanups: Array<() => unknown> = []
  try {
    await storageChecks[name](
      {
        name: 'indexeddb',
        async fresh(cleanups) {
          // A fresh database per check; each open() is a new adapter (a new connection) on it.
          const dbName = `suite-${databases++}`
          cleanups.push(() => deleteDatabase(dbName))
          return () => idbStorage(dbName)
        }
      },
      cleanups
    )
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup()
  }
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name)
    req.onsuccess = () => resolve()
    req.onerror = () => reject(req.error)
  })
}

const api = { run }

declare global {
  interface Window {
    hyphaSuite: typeof api
  }
}

window.hyphaSuite = api
document.title = 'ready'
