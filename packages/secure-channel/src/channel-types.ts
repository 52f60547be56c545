/**
 * The secure channel's public shapes: its options and defaults, events, stats and messages. Split
 * from channel.ts (issue 10) so that the class there reads as the receive pipeline it is.
 */
import type { EphemeralExtension, EphemeralPeer } from '@hypha/ephemeral-ext'
import type { KeyPair } from './envelope.js'
import type { SecureChannelError } from './errors.js'

/** Ephemeral content type that carries secure-channel envelopes. */
export const SECURE_CONTENT_TYPE = 'hypha/secure/1'

/** Hops a new envelope may travel by default (`maxHops`). */
export const DEFAULT_MAX_HOPS = 4
/** Default `maxAgeMs`: envelopes older than 2 minutes by their sender's clock are refused as `expired`. */
export const DEFAULT_MAX_AGE_MS = 2 * 60_000
/**
 * How far a sender's clock may be from this node's, either way: devices' clocks differ by minutes
 * in real life (issue 12). An envelope is accepted while its timestamp is within
 * [now − maxAgeMs − maxClockSkewMs, now + maxClockSkewMs] by this node's clock.
 */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 10 * 60_000
/** Message ids remembered by default for duplicate and replay detection (`maxSeen`). */
export const DEFAULT_MAX_SEEN = 100_000
/** Envelopes per second one connection may send (sustained), before its excess is dropped. */
export const DEFAULT_MAX_ENVELOPES_PER_SECOND = 1000
/** Envelopes one connection may send at once above the sustained rate (the token bucket's size). */
export const DEFAULT_ENVELOPE_BURST = 5000
/** Over-limit envelopes (draining at the sustained rate) after which the connection is dropped. */
export const DEFAULT_MAX_EXCESS_ENVELOPES = 10_000
/**
 * Envelopes held for a connection whose membership proof has not arrived yet (sent to it once it
 * proves; newer ones are dropped when full, all of them if the connection closes unproven).
 */
export const MAX_PENDING_PER_PEER = 64

/** Options of `new SecureChannel`: the extension it runs on, the member and channel keys, the signing key pair, relaying, limits and clock. */
export interface SecureChannelOptions {
  /** The ephemeral extension of the database whose connections carry the channel. */
  ephemeral: EphemeralExtension
  /**
   * The 32-byte channel key shared by the person's nodes. Without it the channel is a relay only:
   * it forwards envelopes it cannot open and cannot send.
   */
  channelKey?: Uint8Array | null
  /**
   * The account's 32-byte member key, required, on members and relays alike: every envelope sent
   * carries a tag made with it, and every envelope received without a valid one is dropped as
   * `not-a-member` before any other check (and never forwarded). It authenticates membership and
   * decrypts nothing: a relay holding it still cannot read.
   */
  memberKey: Uint8Array
  /** This node's ed25519 key pair; required with `channelKey` (envelopes are signed with it). */
  keyPair?: KeyPair | null
  /** Forward envelopes to this node's other connections. Default true. */
  relay?: boolean
  /** Hops a new envelope may travel (1: direct peers only). Default {@link DEFAULT_MAX_HOPS}. */
  maxHops?: number
  /**
   * Envelopes older than this by their sender's clock are refused as expired: older than
   * `maxAgeMs + maxClockSkewMs` by this node's clock (the sender's may be that far behind). Default 2 minutes.
   */
  maxAgeMs?: number
  /**
   * How far a sender's clock may differ from this node's, either way: envelopes stamped further
   * ahead are refused as `from-future`, and the age limit above is widened by it. Default 10 minutes.
   */
  maxClockSkewMs?: number
  /** Most message ids remembered for duplicate and replay detection. Default 100,000. */
  maxSeen?: number
  /**
   * Largest envelope accepted, in bytes; at most the ephemeral extension's payload limit (the
   * default), lower where the app lets the extension carry larger messages of its own.
   */
  maxEnvelopeBytes?: number
  /**
   * Per-connection rate limit (a token bucket): envelopes per second a connection may send,
   * sustained. Over it, envelopes are dropped (`rejected`, reason `rate-limited`) before any
   * decoding or crypto. Default {@link DEFAULT_MAX_ENVELOPES_PER_SECOND}.
   */
  maxEnvelopesPerSecond?: number
  /** Envelopes a connection may send at once (the bucket's size). Default {@link DEFAULT_ENVELOPE_BURST}. */
  envelopeBurst?: number
  /**
   * A connection whose dropped envelopes exceed this count (it drains at `maxEnvelopesPerSecond`
   * per second, so a short burst is forgiven) is closed: `peer-dropped`, reason `rate-limited`.
   * Default {@link DEFAULT_MAX_EXCESS_ENVELOPES}.
   */
  maxExcessEnvelopes?: number
  /**
   * Envelopes per second this node forwards from any one connection (with the same burst, in
   * seconds, as the receive bucket). Lower than the receive limit, so what one connection pushes
   * through a relay uses at most a share of the next node's budget for the relay. Accepted
   * envelopes over it are still delivered here, just not forwarded (`stats.forwardLimited`).
   * Default a quarter of `maxEnvelopesPerSecond`.
   */
  maxForwardedPerSecond?: number
  /**
   * Require a membership proof on every connection (default true): each side sends
   * `hypha/member-proof/1`, a keyed BLAKE2b-256 under the member key over both Noise public keys and
   * the connection's handshake hash. Until a connection's proof has verified, nothing is sent or
   * forwarded to it (envelopes wait, at most {@link MAX_PENDING_PER_PEER}) and its envelopes are
   * dropped as `unproven-peer` before any decoding; a wrong proof closes it (`peer-dropped`,
   * `not-a-member`). False only for tests that inject raw frames without a proof.
   */
  requireMemberProof?: boolean
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number
}

/** The per-connection rate limits in force (`channel.limits`), each option resolved to its value. */
export interface RateLimits {
  maxEnvelopesPerSecond: number
  envelopeBurst: number
  maxExcessEnvelopes: number
  maxForwardedPerSecond: number
}

/** Why the channel closed a connection. */
export type PeerDropReason = 'rate-limited' | 'not-a-member'

/** A connection the channel closed (the `peer-dropped` event), and why. */
export interface PeerDropped {
  reason: PeerDropReason
  /** The connection that was closed. */
  peer: EphemeralPeer
  /** `SecureChannelError` with code `ERR_RATE_LIMITED` or `ERR_NOT_A_MEMBER`. */
  error: SecureChannelError
}

/** A message delivered (the `message` event): its id, sender, recipient, time, content type and payload. */
export interface SecureMessage {
  /** Random id of the message (16 bytes). */
  id: Uint8Array
  /** The sender node's public key; the signature was checked against it. */
  sender: Uint8Array
  /** Set when the message was addressed to this node only. */
  recipient: Uint8Array | null
  /** Sender's clock, ms since the epoch. */
  timestamp: number
  contentType: string
  payload: Uint8Array
  /** The connection it arrived on (the relay's, when it was relayed). */
  peer: EphemeralPeer
}

/** Why an envelope was dropped (the `rejected` event; counted in `stats.rejected`). */
export type RejectionReason =
  | 'malformed'
  | 'unsupported-version'
  | 'not-a-member'
  | 'too-large'
  | 'expired'
  | 'from-future'
  | 'duplicate'
  | 'bad-signature'
  | 'decrypt-failed'
  | 'rate-limited'
  | 'unproven-peer'

/** An envelope dropped (the `rejected` event): the reason, the connection, and the header when it could be read. */
export interface Rejection {
  reason: RejectionReason
  /** The connection the envelope arrived on. */
  peer: EphemeralPeer
  /** Present when the header could be read. */
  id?: Uint8Array
  sender?: Uint8Array
  bytes: number
}

/**
 * An envelope refused for its timestamp alone (`expired` by age, or `from-future`) that is
 * otherwise authentic: signed by `sender`, sealed with the channel key, for this node. Its clock
 * is probably off by about `skewMs`. Not delivered, and not in the duplicate filter (each envelope
 * is reported once, of the last 1024): a replay of an old envelope never seen here shows too, so
 * treat it as a hint (for example, to tell the sender), not a message.
 */
export interface ClockSkew {
  id: Uint8Array
  sender: Uint8Array
  recipient: Uint8Array | null
  /** Sender's clock, ms since the epoch. */
  timestamp: number
  /** `timestamp` minus this node's clock when it arrived: positive if the sender is ahead. */
  skewMs: number
  contentType: string
  payload: Uint8Array
  peer: EphemeralPeer
}

/** An envelope forwarded (the `relayed` event): its id, sender, size, hops left and how many connections it went to. */
export interface Relayed {
  id: Uint8Array
  sender: Uint8Array
  /** Size of the envelope in bytes (never its content: a relay cannot read it). */
  bytes: number
  /** Hops left after this one. */
  ttl: number
  /** How many connections it was forwarded to. */
  peers: number
}

/** Counters of what the channel received, delivered, relayed and rejected (`channel.stats`). */
export interface SecureChannelStats {
  received: number
  delivered: number
  relayed: number
  /**
   * Addressed to another node and accepted on the member tag, age and duplicate checks: forwarded if
   * relaying, never delivered here, so its signature is not checked here (its recipient checks it).
   */
  notForUs: number
  rejected: Record<RejectionReason, number>
  /** Accepted envelopes not forwarded: their connection was over `maxForwardedPerSecond`. */
  forwardLimited: number
  /** Connections closed for abuse (`peer-dropped`). */
  droppedPeers: number
  /** Connections whose membership proof verified. */
  provenPeers: number
  /** Envelopes not sent to a connection that had not proven yet, its queue being full. */
  pendingDropped: number
  /** `clock-skew` events emitted. */
  clockSkews: number
}

/** Events of a `SecureChannel`: messages, rejected and relayed envelopes, dropped peers, proofs, clock skew. */
export interface SecureChannelEvents {
  /** A message for this node that passed every check. */
  message: [message: SecureMessage]
  /**
   * An envelope was dropped. `duplicate` is normal where several paths lead here (relays deliver
   * the same envelope more than once); the other reasons mean a broken or hostile sender.
   */
  rejected: [rejection: Rejection]
  /** An envelope was forwarded to other connections. */
  relayed: [relayed: Relayed]
  /** The channel closed a connection for abuse (the ephemeral extension's `peer-dropped` fires too). */
  'peer-dropped': [dropped: PeerDropped]
  /** A connection's membership proof verified: envelopes now flow to and from it. */
  'peer-proven': [peer: EphemeralPeer]
  /**
   * (Nodes with the key) an authentic envelope for this node was refused for its timestamp alone:
   * its sender's clock is off by more than `maxClockSkewMs` (after `rejected`).
   */
  'clock-skew': [skew: ClockSkew]
}

/** Options of `channel.send`: the content type and, to address one node, its public key. */
export interface SendOptions {
  contentType?: string
  /** Address one node: only it delivers the message (others still relay it). */
  to?: Uint8Array
}
