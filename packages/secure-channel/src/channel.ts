/**
 * The SecureChannel class. Longer than ~400 lines on purpose: its receive pipeline (rate limit →
 * membership proof → size → decode → member tag → age and duplicates → for another node: forward
 * only; for this one: signature → open → forward → deliver) and the state those checks guard (seen
 * filters, proofs, pending queues, buckets) are one security argument whose order must read in one
 * place. Its shapes are in channel-types.ts, the token buckets in rate-limit.ts, the wire format in
 * envelope.ts and plaintext.ts.
 */
import { TypedEmitter } from '@hypha/ephemeral-ext'
import b4a from 'b4a'
import type { EphemeralExtension, EphemeralMessage, EphemeralPeer } from '@hypha/ephemeral-ext'
import {
  ENVELOPE_OVERHEAD_BYTES,
  MAX_CONTENT_TYPE_BYTES,
  EnvelopeDecodeError,
  ID_BYTES,
  KEY_BYTES,
  randomBytes,
  decodeEnvelope,
  openEnvelope,
  sealEnvelope,
  verifyEnvelope,
  verifyMemberTag,
  type Envelope,
  type KeyPair
} from './envelope.js'
import { SeenFilter } from './seen-filter.js'
import { MEMBER_PROOF_CONTENT_TYPE, encodeMemberProof, verifyMemberProof } from './member-proof.js'
import { SecureChannelError } from './errors.js'
import { take, type Bucket } from './rate-limit.js'
import {
  SECURE_CONTENT_TYPE,
  DEFAULT_MAX_HOPS,
  DEFAULT_MAX_AGE_MS,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_MAX_SEEN,
  DEFAULT_MAX_ENVELOPES_PER_SECOND,
  DEFAULT_ENVELOPE_BURST,
  DEFAULT_MAX_EXCESS_ENVELOPES,
  MAX_PENDING_PER_PEER,
  type SecureChannelOptions,
  type RateLimits,
  type SecureChannelEvents,
  type SecureChannelStats,
  type SendOptions,
  type RejectionReason
} from './channel-types.js'

/** Envelopes remembered as reported (`clock-skew`), so that a replayed one costs no verify and no second report. */
const MAX_SKEW_REPORTED = 1024

/**
 * An end-to-end encrypted, signed, deduplicated broadcast channel among the nodes of one person,
 * riding on a database's ephemeral extension, relayable through nodes that lack the key.
 */
export class SecureChannel extends TypedEmitter<SecureChannelEvents> {
  readonly ephemeral: EphemeralExtension
  readonly relay: boolean
  readonly maxHops: number
  /** Largest payload `send` accepts, given the ephemeral extension's limit and the envelope overhead. */
  readonly maxPayloadBytes: number
  readonly stats: SecureChannelStats = {
    received: 0,
    delivered: 0,
    relayed: 0,
    notForUs: 0,
    rejected: {
      malformed: 0,
      'unsupported-version': 0,
      'not-a-member': 0,
      'too-large': 0,
      expired: 0,
      'from-future': 0,
      duplicate: 0,
      'bad-signature': 0,
      'decrypt-failed': 0,
      'rate-limited': 0,
      'unproven-peer': 0
    },
    forwardLimited: 0,
    droppedPeers: 0,
    provenPeers: 0,
    pendingDropped: 0,
    clockSkews: 0
  }
  readonly limits: RateLimits

  readonly maxEnvelopeBytes: number
  private readonly channelKey: Uint8Array | null
  private readonly memberKey: Uint8Array
  private readonly keyPair: KeyPair | null
  private readonly maxAgeMs: number
  private readonly maxClockSkewMs: number
  private readonly now: () => number
  private readonly maxSeen: number
  private readonly seen: SeenFilter
  /**
   * A keyed node's filter for envelopes it only forwards (addressed to another node: their
   * signature is not checked here), kept apart so that unverified envelopes never move the floors
   * of the filter that guards delivery. Created on first use; a relay without the key uses `seen`.
   */
  private forwardSeen: SeenFilter | null = null
  private readonly buckets = new WeakMap<EphemeralPeer, Bucket>()
  private readonly forwardBuckets = new WeakMap<EphemeralPeer, Bucket>()
  private readonly onEphemeralMessage: (message: EphemeralMessage) => void
  private readonly onPeerOpen: (peer: EphemeralPeer) => void
  private readonly onPeerClose: (peer: EphemeralPeer) => void
  /** Whether connections must prove membership (see {@link SecureChannelOptions.requireMemberProof}). */
  readonly requireMemberProof: boolean
  private readonly proven = new WeakSet<EphemeralPeer>()
  /** Per unproven connection: whether we answered its request, and envelopes waiting for its proof. */
  private readonly pending = new Map<EphemeralPeer, Uint8Array[]>()
  private readonly answered = new WeakSet<EphemeralPeer>()
  /** Sender ‖ id of envelopes reported as `clock-skew` (most recent last, at most MAX_SKEW_REPORTED). */
  private readonly skewReported = new Set<string>()
  private isClosed = false
  /** This node's public key in hex, the seen filter's key for its own envelopes. */
  private ownHex: string | null = null

  constructor(options: SecureChannelOptions) {
    super()
    const { ephemeral, channelKey = null, keyPair = null, memberKey } = options
    if (!ephemeral || typeof ephemeral.broadcast !== 'function') {
      throw new SecureChannelError('ERR_INVALID_ARGUMENT', 'ephemeral must be an EphemeralExtension')
    }
    if (!(memberKey instanceof Uint8Array) || memberKey.byteLength !== KEY_BYTES) {
      throw new SecureChannelError('ERR_INVALID_ARGUMENT', 'memberKey must be a 32-byte Uint8Array (the account\'s member key)')
    }
    if (channelKey !== null && (!(channelKey instanceof Uint8Array) || channelKey.byteLength !== KEY_BYTES)) {
      throw new SecureChannelError('ERR_INVALID_ARGUMENT', 'channelKey must be a 32-byte Uint8Array')
    }
    if (channelKey !== null && !isKeyPair(keyPair)) {
      throw new SecureChannelError('ERR_INVALID_ARGUMENT', 'a channel with a key needs keyPair (ed25519) to sign')
    }
    this.ephemeral = ephemeral
    this.channelKey = channelKey
    this.memberKey = memberKey
    this.keyPair = channelKey ? keyPair : null
    this.relay = options.relay ?? true
    this.maxHops = positiveInteger(options.maxHops ?? DEFAULT_MAX_HOPS, 'maxHops', 255)
    this.maxAgeMs = positiveInteger(options.maxAgeMs ?? DEFAULT_MAX_AGE_MS, 'maxAgeMs')
    this.maxClockSkewMs = positiveInteger(options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS, 'maxClockSkewMs')
    this.now = options.now ?? Date.now
    this.maxSeen = positiveInteger(options.maxSeen ?? DEFAULT_MAX_SEEN, 'maxSeen')
    this.seen = this.newSeenFilter()
    const maxEnvelopesPerSecond = positiveInteger(
      options.maxEnvelopesPerSecond ?? DEFAULT_MAX_ENVELOPES_PER_SECOND,
      'maxEnvelopesPerSecond'
    )
    this.limits = {
      maxEnvelopesPerSecond,
      envelopeBurst: positiveInteger(options.envelopeBurst ?? DEFAULT_ENVELOPE_BURST, 'envelopeBurst'),
      maxExcessEnvelopes: positiveInteger(options.maxExcessEnvelopes ?? DEFAULT_MAX_EXCESS_ENVELOPES, 'maxExcessEnvelopes'),
      maxForwardedPerSecond: positiveInteger(
        options.maxForwardedPerSecond ?? Math.max(1, Math.floor(maxEnvelopesPerSecond / 4)),
        'maxForwardedPerSecond'
      )
    }
    this.maxEnvelopeBytes = positiveInteger(
      options.maxEnvelopeBytes ?? ephemeral.maxPayloadBytes,
      'maxEnvelopeBytes',
      ephemeral.maxPayloadBytes
    )
    this.maxPayloadBytes = this.maxEnvelopeBytes - ENVELOPE_OVERHEAD_BYTES - 1 - MAX_CONTENT_TYPE_BYTES
    if (this.maxPayloadBytes < 1) {
      throw new SecureChannelError('ERR_INVALID_ARGUMENT', 'maxEnvelopeBytes leaves no room for a payload')
    }
    this.requireMemberProof = options.requireMemberProof ?? true
    this.onEphemeralMessage = (message) => {
      if (message.contentType === SECURE_CONTENT_TYPE) this.receive(message.peer, message.payload)
      else if (message.contentType === MEMBER_PROOF_CONTENT_TYPE) this.receiveProof(message.peer, message.payload)
    }
    this.onPeerOpen = (peer) => this.sendProof(peer, true)
    this.onPeerClose = (peer) => {
      this.pending.delete(peer)
    }
    ephemeral.on('message', this.onEphemeralMessage)
    ephemeral.on('peer-open', this.onPeerOpen)
    ephemeral.on('peer-close', this.onPeerClose)
    // Connections opened before this channel: prove ourselves (and ask for their proof again).
    for (const peer of ephemeral.peers) this.sendProof(peer, true)
  }

  /** True once `peer`'s membership proof has verified (always true with `requireMemberProof: false`). */
  isProven(peer: EphemeralPeer): boolean {
    return !this.requireMemberProof || this.proven.has(peer)
  }

  /** True if this node holds the channel key (it can read and send); false for a relay. */
  get canDecrypt(): boolean {
    return this.channelKey !== null
  }

  get publicKey(): Uint8Array | null {
    return this.keyPair?.publicKey ?? null
  }

  /**
   * Encrypts, signs and broadcasts a message to every connection; relays carry it further.
   * Returns its id and how many connections it was handed to (0: no peer is connected now).
   */
  send(payload: Uint8Array, options: SendOptions = {}): { id: Uint8Array; peers: number } {
    if (this.isClosed) throw new SecureChannelError('ERR_CLOSED', 'the channel is closed')
    if (!this.channelKey || !this.keyPair) {
      throw new SecureChannelError('ERR_NO_KEY', 'a relay without the channel key cannot send')
    }
    if (!(payload instanceof Uint8Array)) {
      throw new SecureChannelError('ERR_INVALID_ARGUMENT', 'payload must be a Uint8Array')
    }
    if (payload.byteLength > this.maxPayloadBytes) {
      throw new SecureChannelError(
        'ERR_PAYLOAD_TOO_LARGE',
        `payload of ${payload.byteLength} bytes exceeds the limit of ${this.maxPayloadBytes} bytes`
      )
    }
    // Checked (and refused with ERR_INVALID_ARGUMENT) by sealEnvelope, before any crypto.
    const contentType = options.contentType ?? 'application/octet-stream'
    if (options.to !== undefined && (!(options.to instanceof Uint8Array) || options.to.byteLength !== KEY_BYTES)) {
      throw new SecureChannelError('ERR_INVALID_ARGUMENT', 'to must be a 32-byte public key')
    }
    const timestamp = this.now()
    const id = randomBytes(ID_BYTES)
    const frame = sealEnvelope({
      id,
      channelKey: this.channelKey,
      memberKey: this.memberKey,
      keyPair: this.keyPair,
      contentType,
      payload,
      ttl: this.maxHops,
      recipient: options.to ?? null,
      timestamp,
      maxEnvelopeBytes: this.maxEnvelopeBytes
    })
    // Our own envelope coming back through a relay is a duplicate, not a new message.
    this.seen.add(this.ownHex ??= hex(this.keyPair.publicKey), hex(id), timestamp, timestamp)
    const peers = this.broadcast(frame)
    return { id, peers }
  }

  /** Stops listening to the ephemeral extension (which stays open for others). */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.ephemeral.off('message', this.onEphemeralMessage)
    this.ephemeral.off('peer-open', this.onPeerOpen)
    this.ephemeral.off('peer-close', this.onPeerClose)
    this.pending.clear()
  }

  /**
   * Sends `frame` to every open connection but `except` that has proven membership, and queues it
   * for those that have not yet. Returns how many it was sent or queued to.
   */
  private broadcast(frame: Uint8Array, except?: EphemeralPeer): number {
    if (!this.requireMemberProof) return this.ephemeral.broadcast(frame, { contentType: SECURE_CONTENT_TYPE, except })
    // The proven connections in one broadcast (the frame encoded once, not once per connection).
    let count = this.ephemeral.broadcast(frame, { contentType: SECURE_CONTENT_TYPE, except, only: this.isProvenPeer })
    for (const peer of this.ephemeral.peers) {
      if (peer === except || this.proven.has(peer)) continue
      let queue = this.pending.get(peer)
      if (!queue) this.pending.set(peer, (queue = []))
      if (queue.length >= MAX_PENDING_PER_PEER) {
        this.stats.pendingDropped++
        continue
      }
      // A copy: a forwarded frame is the received one, whose ttl byte is put back after the sends.
      queue.push(b4a.from(frame))
      count++
    }
    return count
  }

  private readonly isProvenPeer = (peer: EphemeralPeer): boolean => this.proven.has(peer)

  private sendProof(peer: EphemeralPeer, request: boolean): void {
    if (this.isClosed || !this.requireMemberProof || !peer.opened) return
    // Null without a Noise handshake under the connection: then it never proves either way.
    const message = encodeMemberProof(this.memberKey, peer, request)
    if (message) this.ephemeral.send(peer, message, { contentType: MEMBER_PROOF_CONTENT_TYPE })
  }

  private receiveProof(peer: EphemeralPeer, message: Uint8Array): void {
    if (this.isClosed || !this.requireMemberProof) return
    if (this.proven.has(peer)) {
      // Answer a member's request once (its first copy of ours may have come before its channel existed).
      if (message[0] === 1 && !this.answered.has(peer)) {
        this.answered.add(peer)
        this.sendProof(peer, false)
      }
      return
    }
    const verified = verifyMemberProof(this.memberKey, peer, message)
    if (!verified) {
      const error = new SecureChannelError('ERR_NOT_A_MEMBER', 'the connection\'s membership proof is wrong: not a member of this account')
      this.pending.delete(peer)
      this.stats.droppedPeers++
      try {
        this.emit('peer-dropped', { reason: 'not-a-member', peer, error })
      } finally {
        this.ephemeral.drop(peer, error)
      }
      return
    }
    this.proven.add(peer)
    this.stats.provenPeers++
    if (verified.request) {
      this.answered.add(peer)
      this.sendProof(peer, false)
    }
    const queue = this.pending.get(peer)
    this.pending.delete(peer)
    if (queue && peer.opened) {
      for (const frame of queue) this.ephemeral.send(peer, frame, { contentType: SECURE_CONTENT_TYPE })
    }
    this.emit('peer-proven', peer)
  }

  private receive(peer: EphemeralPeer, frame: Uint8Array): void {
    this.stats.received++
    const now = this.now()
    if (!this.admit(peer, frame, now)) return
    // Before any decoding: a connection that has not proven membership gets nothing looked at.
    if (!this.isProven(peer)) return this.reject('unproven-peer', peer, frame)
    if (frame.byteLength > this.maxEnvelopeBytes) return this.reject('too-large', peer, frame)

    let envelope: Envelope
    try {
      envelope = decodeEnvelope(frame)
    } catch (err) {
      const reason = err instanceof EnvelopeDecodeError ? err.reason : 'malformed'
      return this.reject(reason, peer, frame)
    }
    // One keyed hash, before the duplicate filter and any ed25519 verify: a stranger's envelope
    // costs nothing more and goes nowhere.
    if (!verifyMemberTag(envelope, this.memberKey)) return this.reject('not-a-member', peer, frame)

    // Forward only: a relay without the key, or a keyed node given an envelope addressed to
    // another node (not its own coming back). Neither delivers it, so neither checks its signature
    // or opens it: the recipient does both. This spares every node the ed25519 verify of traffic
    // addressed to others (a device next to a busy approver sees most of it).
    const forwardOnly = !this.keyPair || (envelope.recipient !== null &&
      !b4a.equals(envelope.recipient, this.keyPair.publicKey) && !b4a.equals(envelope.sender, this.keyPair.publicKey))
    const seen = forwardOnly && this.channelKey ? (this.forwardSeen ??= this.newSeenFilter()) : this.seen
    // Keyed by sender too, so nobody can burn another node's message id before it arrives. What is
    // only forwarded had no signature checked, so it is keyed by the member tag as well: a member
    // who copies another sender's id onto bytes of its own makes a different entry.
    const sender = hex(envelope.sender)
    const id = forwardOnly ? hex(envelope.id) + hex(envelope.tag) : hex(envelope.id)
    // The sender's clock may be up to maxClockSkewMs either way of ours: the window is widened by it
    // on both sides, and the filter keeps ids for as long (maxAgeMs + maxClockSkewMs past their
    // timestamp), so an envelope accepted once stays a duplicate for as long as it could be accepted.
    const tooOld = envelope.timestamp < now - this.maxAgeMs - this.maxClockSkewMs
    if (tooOld || envelope.timestamp <= seen.floorOf(sender)) {
      this.reject('expired', peer, frame, envelope)
      if (tooOld) this.reportSkew(envelope, peer, now)
      return
    }
    // Before the filter: a future timestamp never enters it (nor moves its floor).
    if (envelope.timestamp > now + this.maxClockSkewMs) {
      this.reject('from-future', peer, frame, envelope)
      this.reportSkew(envelope, peer, now)
      return
    }
    if (seen.has(sender, id)) return this.reject('duplicate', peer, frame, envelope)
    if (forwardOnly) {
      seen.add(sender, id, envelope.timestamp, now)
      if (this.channelKey) this.stats.notForUs++
      return this.forward(peer, frame, envelope, now)
    }
    // Only where it is delivered: what is forwarded goes on the member tag alone (one keyed
    // BLAKE2b instead of an ed25519 verify), and every receiver checks the signature before it delivers.
    if (!verifyEnvelope(envelope)) return this.reject('bad-signature', peer, frame, envelope)
    let opened: { contentType: string; payload: Uint8Array } | null
    try {
      opened = openEnvelope(envelope, this.channelKey!)
    } catch {
      // Sealed with the channel key, but what it seals does not decode (a content type that is not UTF-8).
      return this.reject('malformed', peer, frame, envelope)
    }
    // Not ours to forward either: it was made without the channel key, or altered on the way.
    if (opened === null) return this.reject('decrypt-failed', peer, frame, envelope)
    seen.add(sender, id, envelope.timestamp, now)
    this.forward(peer, frame, envelope, now)
    this.stats.delivered++
    this.emit('message', {
      id: envelope.id,
      sender: envelope.sender,
      recipient: envelope.recipient,
      timestamp: envelope.timestamp,
      contentType: opened.contentType,
      payload: opened.payload,
      peer
    })
  }

  /**
   * An envelope refused for its timestamp: if it is authentic and for us (signature, channel key),
   * tell the app its sender's clock is off (`clock-skew`). Costs what delivering it would have.
   */
  private reportSkew(envelope: Envelope, peer: EphemeralPeer, now: number): void {
    if (!this.channelKey || !this.keyPair) return
    if (envelope.recipient && !b4a.equals(envelope.recipient, this.keyPair.publicKey)) return
    const key = hex(envelope.sender) + hex(envelope.id)
    if (this.skewReported.has(key)) return
    if (!verifyEnvelope(envelope)) return
    let opened: { contentType: string; payload: Uint8Array } | null = null
    try {
      opened = openEnvelope(envelope, this.channelKey)
    } catch {
      return
    }
    if (!opened) return
    this.skewReported.add(key)
    if (this.skewReported.size > MAX_SKEW_REPORTED) this.skewReported.delete(this.skewReported.values().next().value!)
    this.stats.clockSkews++
    this.emit('clock-skew', {
      id: envelope.id,
      sender: envelope.sender,
      recipient: envelope.recipient,
      timestamp: envelope.timestamp,
      skewMs: envelope.timestamp - now,
      contentType: opened.contentType,
      payload: opened.payload,
      peer
    })
  }

  private newSeenFilter(): SeenFilter {
    return new SeenFilter(this.maxSeen, this.maxAgeMs + this.maxClockSkewMs, this.maxClockSkewMs)
  }

  /** The connection's token bucket: false (and the envelope rejected, maybe the connection dropped) over the limit. */
  private admit(peer: EphemeralPeer, frame: Uint8Array, now: number): boolean {
    const { maxEnvelopesPerSecond: rate, envelopeBurst, maxExcessEnvelopes } = this.limits
    const bucket = take(this.buckets, peer, rate, envelopeBurst, now)
    if (bucket.taken) return true
    bucket.excess++
    this.reject('rate-limited', peer, frame)
    if (bucket.excess > maxExcessEnvelopes && !bucket.dropped) {
      bucket.dropped = true
      const error = new SecureChannelError(
        'ERR_RATE_LIMITED',
        `connection sent more than ${maxExcessEnvelopes} envelopes over its limit of ${rate}/s (burst ${envelopeBurst})`
      )
      this.stats.droppedPeers++
      try {
        this.emit('peer-dropped', { reason: 'rate-limited', peer, error })
      } finally {
        this.ephemeral.drop(peer, error)
      }
    }
    return false
  }

  private forward(from: EphemeralPeer, frame: Uint8Array, envelope: Envelope, now: number): void {
    // A sender may claim any ttl: never forward with more hops than this node would give.
    const ttl = Math.min(envelope.ttl, this.maxHops) - 1
    if (!this.relay || this.isClosed || ttl <= 0) return
    const { maxForwardedPerSecond: rate, envelopeBurst, maxEnvelopesPerSecond } = this.limits
    const burst = Math.max(1, Math.floor((rate * envelopeBurst) / maxEnvelopesPerSecond))
    const bucket = take(this.forwardBuckets, from, rate, burst, now)
    if (!bucket.taken) {
      this.stats.forwardLimited++
      return
    }
    // The ttl (unsigned, outside the tag) is set in the received frame for the sends and put
    // back after: each send copies it into its connection's buffer at once (broadcast copies
    // what it queues), so no frame copy per forward, and listeners see the bytes as they came.
    const received = frame[0]!
    frame[0] = ttl
    let peers: number
    try {
      peers = this.broadcast(frame, from)
    } finally {
      frame[0] = received
    }
    if (peers === 0) {
      bucket.tokens++ // nobody to forward to: nothing spent
      return
    }
    this.stats.relayed++
    this.emit('relayed', { id: envelope.id, sender: envelope.sender, bytes: frame.byteLength, ttl, peers })
  }

  private reject(reason: RejectionReason, peer: EphemeralPeer, frame: Uint8Array, envelope?: Envelope): void {
    this.stats.rejected[reason]++
    this.emit('rejected', { reason, peer, id: envelope?.id, sender: envelope?.sender, bytes: frame.byteLength })
  }
}

function hex(bytes: Uint8Array): string {
  return b4a.toString(bytes, 'hex')
}

function isKeyPair(value: unknown): value is KeyPair {
  const kp = value as KeyPair | null
  return (
    !!kp &&
    kp.publicKey instanceof Uint8Array &&
    kp.publicKey.byteLength === 32 &&
    kp.secretKey instanceof Uint8Array &&
    kp.secretKey.byteLength === 64
  )
}

function positiveInteger(value: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new SecureChannelError('ERR_INVALID_ARGUMENT', `${name} must be an integer from 1 to ${max}`)
  }
  return value
}
