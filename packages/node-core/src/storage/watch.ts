/**
 * Keeps the storage's own errors. Hypercore turns a failed write into `HypercoreError WRITE_FAILED`
 * with only the message of what failed (an IndexedDB `QuotaExceededError` has an empty one), and
 * Autobase then closes itself: the original error is lost on the way. The node wraps its storage
 * function with {@link StorageWatch.wrap}, which remembers the first error a file reported on a
 * change (write, del, truncate, unlink, flush, open) or that says the storage cannot be used at all
 * (a lock held elsewhere, no space, no permission), so the node's errors carry it as `cause`.
 */
import type { StorageFunction } from './types.js'

type Callback = (err: Error | null, value?: unknown) => void

/** random-access-storage methods whose failure means the storage did not take a change. */
const CHANGES = ['write', 'del', 'truncate', 'unlink', 'flush', 'open'] as const
/** Methods that only read: their failure is kept only for an error that says the storage is unusable. */
const READS = ['read', 'stat'] as const

/** Error codes (Node's fs) and names (DOMException) that say the storage cannot be used, whatever the call. */
const UNUSABLE_CODES = new Set(['ELOCKED', 'ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EMFILE', 'ENFILE'])
const UNUSABLE_NAMES = new Set(['QuotaExceededError', 'UnknownError', 'InvalidStateError', 'DataError'])

export function isStorageUnusable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown } | null
  return e !== null && typeof e === 'object' && (UNUSABLE_CODES.has(String(e.code)) || UNUSABLE_NAMES.has(String(e.name)))
}

/**
 * A file that does not exist yet: random-access-file opens for reading (a stat, or random-access-
 * storage's own open before one) without creating it, and Hypercore and Corestore read that as empty.
 */
function isMissing(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'ENOENT'
}

export class StorageWatch {
  /** The first error the storage reported on a change (or an unusable-storage error), else null. */
  failure: unknown = null

  /** The same storage, every file's callbacks watched. */
  wrap(storage: StorageFunction): StorageFunction {
    return (name) => {
      const file = storage(name) as Record<string, unknown>
      for (const method of [...CHANGES, ...READS]) {
        const original = file[method]
        if (typeof original !== 'function') continue
        const keepAny = (CHANGES as readonly string[]).includes(method)
        file[method] = (...args: unknown[]) => {
          const last = args.length > 0 && typeof args[args.length - 1] === 'function' ? args.length - 1 : -1
          const cb = last === -1 ? null : (args[last] as Callback)
          const watched: Callback = (err, value) => {
            if (err && this.failure === null && (keepAny || isStorageUnusable(err)) && !isMissing(err)) this.failure = err
            if (cb) cb(err, value)
          }
          if (last === -1) args.push(watched)
          else args[last] = watched
          return (original as (...a: unknown[]) => unknown).apply(file, args)
        }
      }
      return file
    }
  }
}
