/** The per-connection token buckets of the secure channel's rate limits (receive and forward). */
import type { EphemeralPeer } from '@hypha/ephemeral-ext'

export interface Bucket {
  tokens: number
  /** Envelopes dropped over the limit, draining at the sustained rate. */
  excess: number
  at: number
  dropped?: boolean
  /** Whether the last `take` got a token. */
  taken?: boolean
}

/** Refills `peer`'s token bucket for the time since its last use and takes one token if there is one. */
export function take(buckets: WeakMap<EphemeralPeer, Bucket>, peer: EphemeralPeer, rate: number, burst: number, now: number): Bucket {
  let bucket = buckets.get(peer)
  if (!bucket) {
    bucket = { tokens: burst, excess: 0, at: now }
    buckets.set(peer, bucket)
  }
  if (now > bucket.at) {
    const refill = ((now - bucket.at) / 1000) * rate
    bucket.tokens = Math.min(burst, bucket.tokens + refill)
    bucket.excess = Math.max(0, bucket.excess - refill)
    bucket.at = now
  }
  bucket.taken = bucket.tokens >= 1
  if (bucket.taken) bucket.tokens--
  return bucket
}
