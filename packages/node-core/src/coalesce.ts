/**
 * "Run again if asked while running": the loop behind reactions to bursts of 'update' events
 * (seed announcements here; @hypha/auth's recheck and the web example's re-render do the same).
 */

export interface CoalescedOptions {
  /** Checked before every run: true ends the loop, queued run or not (e.g. the node is closing). */
  stopped?: () => boolean
  /** Gets what a run rejected with; the next queued run still happens. Default: ignored. */
  onError?: (error: unknown) => void
}

/**
 * Serialises `run`: the returned trigger starts it, or, while it runs, queues exactly one more run
 * after it; any number of triggers meanwhile coalesce into that one. So a burst of N triggers costs
 * at most two runs, and the last run always starts after the last trigger.
 *
 * The trigger's promise resolves (never rejects) when the loop that covers this trigger ends.
 */
export function coalesced(run: () => Promise<void>, options: CoalescedOptions = {}): () => Promise<void> {
  const { stopped = () => false, onError = () => {} } = options
  let running = false
  let again = false
  let loop: Promise<void> = Promise.resolve()
  return () => {
    if (running) {
      again = true
      return loop
    }
    running = true
    loop = (async () => {
      do {
        again = false
        if (stopped()) break
        try {
          await run()
        } catch (err) {
          onError(err)
        }
      } while (again)
      // Cleared in the same tick as the last check of `again`, so no trigger falls between the two.
      running = false
    })()
    return loop
  }
}
