// Reading an error's `cause` chain for a code the programs can act on (shared by cli-args.ts and
// peer-status.ts).

/**
 * The first code along `err`'s cause chain (e.g. EADDRINUSE under ERR_LISTEN under ERR_NODE) that
 * `match` accepts — one of a list, or a test — or null.
 */
export function findCode(err: unknown, match: readonly string[] | ((code: string) => boolean)): string | null {
  const accepts = typeof match === 'function' ? match : (code: string) => match.includes(code)
  const seen = new Set<unknown>()
  for (let current = err; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current)
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && accepts(code)) return code
  }
  return null
}
