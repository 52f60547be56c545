// Helpers shared by the benchmarks: statistics, and waits that fail with a named step.

/** A benchmark's own check failed: it prints the reason and exits non-zero. */
export class VerificationError extends Error {}

/** How long one step may take before the benchmark fails naming it (a hang guard, not a measurement). */
export const STEP_TIMEOUT_MS = 60_000

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Nearest-rank quantile, `q` from 0 to 1 (0.95 for p95). */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))]!
}

/** Polls `check` until it holds; throws a VerificationError naming `what` after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = STEP_TIMEOUT_MS
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new VerificationError(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** `promise`, or a VerificationError naming `what` after `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, what: string, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new VerificationError(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
    })
  ]).finally(() => clearTimeout(timer))
}

/** What {@link startTransportFor} needs of a HyphaNode. */
export interface TransportTarget {
  topic: Uint8Array
  noiseKeyPair: { publicKey: Uint8Array; secretKey: Uint8Array }
  addConnection(stream: any, info: { transport: string; isInitiator: boolean }): void
}

/**
 * Starts `transport` for an open node, as the node would for one of its own. For a node made before
 * the peer it dials exists (an origin, then an always-on node given its locator). Stop it yourself.
 */
export async function startTransportFor(node: TransportTarget, transport: {
  start(context: { topic: Uint8Array; keyPair: TransportTarget['noiseKeyPair']; onConnection: TransportTarget['addConnection'] }): Promise<void>
}): Promise<void> {
  await transport.start({ topic: node.topic, keyPair: node.noiseKeyPair, onConnection: node.addConnection })
}
