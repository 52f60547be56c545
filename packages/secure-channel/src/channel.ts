import { EventEmitter } from 'events'
import b4a from 'b4a'
import type { EphemeralExtension, EphemeralMessage, EphemeralPeer } from '@hypha/ephemeral-ext'
import {
  ENVELOPE_OVERHEAD_BYTES,
  EnvelopeDecodeError,
  ID_BYTES,
  KEY_BYTES,
  randomBytes,
  decodeEnvelope,
  openEnvelope,
  sealEnvelope,
  verifyEnvelope,
  verifyMemberTag,
  withTtl,
  type Envelope,
  type KeyPair
} from './envelope.js'
import { SeenFilter } from './seen-filter.js'
import { SecureChannelError } from './errors.js'

/** Ephemeral content type that carries secure-channel envelopes. */
export const SECURE_CONTENT_TYPE = 'hypha/secure/1'

/** Longest application content type inside an envelope, in UTF-8 bytes. */
export const MAX_CONTENT_TYPE_BYTES = 128
export const DEFAULT_MAX_HOPS = 4
export const DEFAULT_MAX_AGE_MS = 2 * 60_000
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000
export const DEFAULT_MAX_SEEN = 100_000

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
  /** Envelopes older than this are refused as expired. Default 2 minutes. */
  maxAgeMs?: number
  /** Envelopes stamped further than this in the future are refused. Default 30 s. */
  maxClockSkewMs?: number
  /** Most message ids remembered for duplicate and replay detection. Default 100,000. */
  maxSeen?: number
  /**
   * Largest envelope accepted, in bytes; at most the ephemeral extension's payload limit (the
   * default), lower where the app lets the extension carry larger messages of its own.
   */
  maxEnvelopeBytes?: number
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number
}

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

export interface Rejection {
  reason: RejectionReason
  /** The connection the envelope arrived on. */
  peer: EphemeralPeer
  /** Present when the header could be read. */
  id?: Uint8Array
  sender?: Uint8Array
  bytes: number
}

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

export interface SecureChannelStats {
  received: number
  delivered: number
  relayed: number
  /** Addressed to another node: forwarded if relaying, not delivered here. */
  notForUs: number
  rejected: Record<RejectionReason, number>
}

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
}

export interface SendOptions {
  contentType?: string
  /** Address one node: only it delivers the message (others still relay it). */
  to?: Uint8Array
}

/**
 * An end-to-end encrypted, signed, deduplicated broadcast channel among the nodes of one person,
 * riding on a database's ephemeral extension, relayable through nodes that lack the key.
 */
export class SecureChannel extends EventEmitter<SecureChannelEvents> {
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
      'decrypt-failed': 0
    }
  }

  readonly maxEnvelopeBytes: number
  private readonly channelKey: Uint8Array | null
  private readonly memberKey: Uint8Array
  private readonly keyPair: KeyPair | null
  private readonly maxAgeMs: number
  private readonly maxClockSkewMs: number
  private readonly now: () => number
  private readonly seen: SeenFilter
  private readonly onEphemeralMessage: (message: EphemeralMessage) => void
  private isClosed = false

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
    this.seen = new SeenFilter(
      positiveInteger(options.maxSeen ?? DEFAULT_MAX_SEEN, 'maxSeen'),
      this.maxAgeMs + this.maxClockSkewMs
    )
    this.maxEnvelopeBytes = positiveInteger(
      options.maxEnvelopeBytes ?? ephemeral.maxPayloadBytes,
      'maxEnvelopeBytes',
      ephemeral.maxPayloadBytes
    )
    this.maxPayloadBytes = this.maxEnvelopeBytes - ENVELOPE_OVERHEAD_BYTES - 1 - MAX_CONTENT_TYPE_BYTES
    if (this.maxPayloadBytes < 1) {
      throw new SecureChannelError('ERR_INVALID_ARGUMENT', 'maxEnvelopeBytes leaves no room for a payload')
    }
    this.onEphemeralMessage = (message) => {
      if (message.contentType === SECURE_CONTENT_TYPE) this.receive(message.peer, message.payload)
    }
    ephemeral.on('message', this.onEphemeralMessage)
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
    const contentType = options.contentType ?? 'application/octet-stream'
    if (typeof contentType !== 'string' || utf8.encode(contentType).byteLength > MAX_CONTENT_TYPE_BYTES) {
      throw new SecureChannelError('ERR_INVALID_ARGUMENT', `contentType must be a string of at most ${MAX_CONTENT_TYPE_BYTES} bytes`)
    }
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
      timestamp
    })
    // Our own envelope coming back through a relay is a duplicate, not a new message.
    this.seen.add(seenKey({ sender: this.keyPair.publicKey, id }), timestamp, timestamp)
    const peers = this.ephemeral.broadcast(frame, { contentType: SECURE_CONTENT_TYPE })
    return { id, peers }
  }

  /** Stops listening to the ephemeral extension (which stays open for others). */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.ephemeral.off('message', this.onEphemeralMessage)
  }

  private receive(peer: EphemeralPeer, frame: Uint8Array): void {
    this.stats.received++
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

    const now = this.now()
    if (envelope.timestamp < now - this.maxAgeMs || envelope.timestamp <= this.seen.floor) {
      return this.reject('expired', peer, frame, envelope)
    }
    if (envelope.timestamp > now + this.maxClockSkewMs) return this.reject('from-future', peer, frame, envelope)
    // Keyed by sender too, so nobody can burn another node's message id before it arrives.
    const key = seenKey(envelope)
    if (this.seen.has(key)) return this.reject('duplicate', peer, frame, envelope)
    if (!verifyEnvelope(envelope)) return this.reject('bad-signature', peer, frame, envelope)

    let opened: { contentType: string; payload: Uint8Array } | null = null
    if (this.channelKey) {
      opened = openEnvelope(envelope, this.channelKey)
      // Not ours to forward either: it was made without the channel key, or altered on the way.
      if (opened === null) return this.reject('decrypt-failed', peer, frame, envelope)
    }
    this.seen.add(key, envelope.timestamp, now)
    this.forward(peer, frame, envelope)

    if (!opened || !this.keyPair) return
    if (envelope.recipient && !b4a.equals(envelope.recipient, this.keyPair.publicKey)) {
      this.stats.notForUs++
      return
    }
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

  private forward(from: EphemeralPeer, frame: Uint8Array, envelope: Envelope): void {
    // A sender may claim any ttl: never forward with more hops than this node would give.
    const ttl = Math.min(envelope.ttl, this.maxHops) - 1
    if (!this.relay || this.isClosed || ttl <= 0) return
    const peers = this.ephemeral.broadcast(withTtl(frame, ttl), { contentType: SECURE_CONTENT_TYPE, except: from })
    if (peers === 0) return
    this.stats.relayed++
    this.emit('relayed', { id: envelope.id, sender: envelope.sender, bytes: frame.byteLength, ttl, peers })
  }

  private reject(reason: RejectionReason, peer: EphemeralPeer, frame: Uint8Array, envelope?: Envelope): void {
    this.stats.rejected[reason]++
    this.emit('rejected', { reason, peer, id: envelope?.id, sender: envelope?.sender, bytes: frame.byteLength })
  }
}

const utf8 = new TextEncoder()

function seenKey(envelope: { sender: Uint8Array; id: Uint8Array }): string {
  return b4a.toString(envelope.sender, 'hex') + b4a.toString(envelope.id, 'hex')
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
