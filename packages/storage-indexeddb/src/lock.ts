// The IndexedDB storage's lock: one open node per database in an origin (tabs, workers).

/** The file whose opening takes the database's lock: the one Corestore holds open while a node is open. */
export const LOCKED_FILE = 'primary-key'

/**
 * Takes the Web Lock `hypha-idb:<dbName>` (scoped to the origin: shared by its tabs and workers)
 * if nobody holds it, and gives the function that releases it; fails with an `ELOCKED` error if it
 * is held (another tab, worker or node has this database open). Where Web Locks are missing
 * (an insecure context, an old browser) nothing is locked.
 */
export function holdLock(dbName: string): Promise<() => void> {
  const locks = (globalThis.navigator as { locks?: LockManager } | undefined)?.locks
  if (!locks) return Promise.resolve(() => {})
  return new Promise((resolve, reject) => {
    locks
      .request(`hypha-idb:${dbName}`, { ifAvailable: true }, (lock) => {
        if (lock === null) {
          const err = Object.assign(new Error(`ELOCKED: the IndexedDB database ${dbName} is open elsewhere (another tab, worker or node)`), { code: 'ELOCKED' })
          reject(err)
          return undefined
        }
        // The lock is held until this promise settles.
        return new Promise<void>((release) => resolve(() => release()))
      })
      .catch(reject)
  })
}
