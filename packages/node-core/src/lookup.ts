/**
 * Finding the database from the passphrase.
 *
 * The database key is random (it is the origin's writer core key), so a new device learns it from
 * the account's peers. Every node that knows it sends a *locator answer* on the lookup channel
 * as soon as the channel opens on a connection:
 *
 *   ephemeral channel id = discovery key of the lookup topic (derived from the root secret)
 *   content type         = {@link LOOKUP_CONTENT_TYPE}
 *   payload              = fixed32 databaseKey ‖ fixed32 proof
 *   proof                = BLAKE2b-256(key = lookupKey, 'hypha/lookup-proof/1' ‖ 0x00 ‖ databaseKey)
 *
 * Only peers that know the lookup topic open the channel at all (Protomux pairs by id), and only
 * a holder of the root secret can make a proof; an always-on node is given a ready-made
 * {@link Locator} (topic, database key, proof) and passes it on without being able to make another.
 * A node that hears two different proven database keys for one account reports a conflict
 * (`ERR_ACCOUNT_CONFLICT`) instead of picking one.
 */
import { TypedEmitter } from '@hypha/ephemeral-ext'
import b4a from 'b4a'
import c from 'compact-encoding'
import sodium from 'sodium-universal'
import { EphemeralExtension, type CompactEncoding, type EphemeralMessage, type EphemeralPeer } from '@hypha/ephemeral-ext'
import { HyphaNodeError } from './engine/errors.js'
import { Hypercore } from './engine/holepunch.js'

/** Content type of the locator answers on the lookup channel. */
export const LOOKUP_CONTENT_TYPE = 'hypha/locator/1'
const PROOF_CONTEXT = b4a.from('hypha/lookup-proof/1\0')
/** Bytes of an encoded {@link Locator}: topic ‖ databaseKey ‖ proof. */
export const LOCATOR_BYTES = 96

/** What an always-on node needs to answer lookups: public-ish, but only a member can make one. */
export interface Locator {
  topic: Uint8Array
  databaseKey: Uint8Array
  proof: Uint8Array
}

/** The proof sent with a database key in a locator answer: BLAKE2b-256 keyed with the lookup key over the database key. */
export function lookupProof(lookupKey: Uint8Array, databaseKey: Uint8Array): Uint8Array {
  const out = b4a.alloc(32)
  sodium.crypto_generichash(out, b4a.concat([PROOF_CONTEXT, databaseKey]), lookupKey)
  return out
}

/** What a node tells its peers: the database key and the proof that a member vouches for it. */
interface Answer {
  databaseKey: Uint8Array
  proof: Uint8Array
}

/** The lookup channel's one message, `fixed32 databaseKey ‖ fixed32 proof`. */
const answerEncoding: CompactEncoding<Answer> = {
  preencode(state, a) {
    c.fixed32.preencode(state, a.databaseKey)
    c.fixed32.preencode(state, a.proof)
  },
  encode(state, a) {
    c.fixed32.encode(state, a.databaseKey)
    c.fixed32.encode(state, a.proof)
  },
  decode(state) {
    return { databaseKey: c.fixed32.decode(state), proof: c.fixed32.decode(state) }
  }
}
const ANSWER_BYTES = 64

/** A locator, `fixed32 topic ‖ answer`: where to look, and the answer to give there. */
const locatorEncoding: CompactEncoding<Locator> = {
  preencode(state, l) {
    c.fixed32.preencode(state, l.topic)
    answerEncoding.preencode(state, l)
  },
  encode(state, l) {
    c.fixed32.encode(state, l.topic)
    answerEncoding.encode(state, l)
  },
  decode(state) {
    const topic = c.fixed32.decode(state)
    return { topic, ...answerEncoding.decode(state) }
  }
}

/** The 96-byte form of a locator (topic ‖ databaseKey ‖ proof): what an always-on node is given. */
export function encodeLocator(locator: Locator): Uint8Array {
  try {
    return c.encode(locatorEncoding, locator)
  } catch (err) {
    throw new HyphaNodeError('ERR_INVALID_ARGUMENT', 'a locator is three 32-byte keys', { cause: err })
  }
}

/** Decodes {@link encodeLocator}'s bytes, or the same as a hex string. Throws `ERR_INVALID_ARGUMENT`. */
export function decodeLocator(bytes: Uint8Array | string): Locator {
  const buf = typeof bytes === 'string' ? hexBytes(bytes) : bytes
  // The exact length is the whole check: every 96 bytes decode.
  if (!(buf instanceof Uint8Array) || buf.byteLength !== LOCATOR_BYTES) {
    throw new HyphaNodeError('ERR_INVALID_ARGUMENT', `a locator is ${LOCATOR_BYTES} bytes (${LOCATOR_BYTES * 2} hex digits)`)
  }
  return c.decode(locatorEncoding, buf)
}

/**
 * What an always-on node is given, copied from a member's device as one string
 * (`node.memberCredential`): the {@link Locator} and the account's member key, which lets it tell
 * members' envelopes and seed announcements from strangers' (it decrypts nothing).
 */
export interface MemberCredential extends Locator {
  memberKey: Uint8Array
}

/** Version byte of {@link encodeMemberCredential}'s format. */
export const MEMBER_CREDENTIAL_VERSION = 1
/** Bytes of an encoded member credential: version ‖ topic ‖ databaseKey ‖ proof ‖ memberKey. */
export const MEMBER_CREDENTIAL_BYTES = 1 + LOCATOR_BYTES + 32

/** `uint8 version ‖ locator ‖ fixed32 memberKey`. */
const credentialEncoding: CompactEncoding<MemberCredential> = {
  preencode(state, m) {
    c.uint8.preencode(state, MEMBER_CREDENTIAL_VERSION)
    locatorEncoding.preencode(state, m)
    c.fixed32.preencode(state, m.memberKey)
  },
  encode(state, m) {
    c.uint8.encode(state, MEMBER_CREDENTIAL_VERSION)
    locatorEncoding.encode(state, m)
    c.fixed32.encode(state, m.memberKey)
  },
  decode(state) {
    c.uint8.decode(state) // checked by decodeMemberCredential before decoding
    const locator = locatorEncoding.decode(state)
    return { ...locator, memberKey: c.fixed32.decode(state) }
  }
}

/** The 129-byte form of a member credential (its hex, 258 characters, is `node.memberCredential`). */
export function encodeMemberCredential(credential: MemberCredential): Uint8Array {
  try {
    return c.encode(credentialEncoding, credential)
  } catch (err) {
    throw new HyphaNodeError('ERR_INVALID_ARGUMENT', 'a member credential is four 32-byte keys', { cause: err })
  }
}

/**
 * Decodes {@link encodeMemberCredential}'s bytes, or the same as hex. Throws `ERR_INVALID_ARGUMENT`
 * (an old 96-byte locator included: it has no member key, so copy the credential again).
 */
export function decodeMemberCredential(bytes: Uint8Array | string): MemberCredential {
  const buf = typeof bytes === 'string' ? hexBytes(bytes.trim()) : bytes
  if (buf instanceof Uint8Array && buf.byteLength === LOCATOR_BYTES) {
    throw new HyphaNodeError(
      'ERR_INVALID_ARGUMENT',
      'this is a locator from before member credentials (96 bytes, no member key): copy node.memberCredential from a device of the account'
    )
  }
  if (!(buf instanceof Uint8Array) || buf.byteLength !== MEMBER_CREDENTIAL_BYTES) {
    throw new HyphaNodeError(
      'ERR_INVALID_ARGUMENT',
      `a member credential is ${MEMBER_CREDENTIAL_BYTES} bytes (${MEMBER_CREDENTIAL_BYTES * 2} hex digits)`
    )
  }
  if (buf[0] !== MEMBER_CREDENTIAL_VERSION) {
    throw new HyphaNodeError('ERR_INVALID_ARGUMENT', `member credential version ${buf[0]} is not supported (${MEMBER_CREDENTIAL_VERSION} is)`)
  }
  // The exact length and version are the whole check: every such buffer decodes.
  return c.decode(credentialEncoding, buf)
}

function hexBytes(hex: string): Uint8Array | null {
  return /^[0-9a-fA-F]*$/.test(hex) && hex.length % 2 === 0 ? b4a.from(hex, 'hex') : null
}

export interface AccountLookupEvents {
  /** A proven database key other than this node's: two databases for one account. */
  conflict: [databaseKey: Uint8Array, peer: EphemeralPeer]
  /** A proven database key was heard (also this node's own). */
  answer: [databaseKey: Uint8Array, peer: EphemeralPeer]
}

/**
 * The lookup channel on every connection. `lookupKey` (members) verifies proofs; without it (an
 * always-on node) answers are not checked and not needed: it only gives its locator.
 */
export class AccountLookup extends TypedEmitter<AccountLookupEvents> {
  readonly topic: Uint8Array
  readonly ephemeral: EphemeralExtension
  private readonly lookupKey: Uint8Array | null
  private own: { databaseKey: Uint8Array; payload: Uint8Array } | null = null
  /** Proven database keys heard so far (at most a few: anything else is a conflict anyway). */
  private readonly heard: Array<{ key: Uint8Array; peer: EphemeralPeer }> = []
  private readonly finds = new Set<(err: Error) => void>()

  constructor(options: { topic: Uint8Array; lookupKey: Uint8Array | null }) {
    super()
    this.topic = options.topic
    this.lookupKey = options.lookupKey
    this.ephemeral = new EphemeralExtension({ discoveryKey: Hypercore.discoveryKey(options.topic), maxPayloadBytes: 64 })
    this.ephemeral.on('peer-open', (peer) => this.sendOwn(peer))
    this.ephemeral.on('message', (message) => this.onMessage(message))
    // Frames a stranger could send are dropped by the extension; nothing to report per frame here.
    this.ephemeral.on('bad-message', () => {})
    this.ephemeral.on('error', () => {})
  }

  attach(stream: any): void {
    try {
      this.ephemeral.attach(stream)
    } catch {
      // The connection closed already.
    }
  }

  /** From now on, tell every peer (and every peer already connected) this database key. */
  answerWith(databaseKey: Uint8Array, proof: Uint8Array): void {
    this.own = { databaseKey, payload: c.encode(answerEncoding, { databaseKey, proof }) }
    for (const peer of this.ephemeral.peers) this.sendOwn(peer)
    // Answers heard while this node was still opening count too.
    for (const { key, peer } of this.heard) if (!b4a.equals(key, databaseKey)) this.emit('conflict', key, peer)
  }

  /**
   * Waits for a proven database key. Resolves with the first one once `settleMs` passed without a
   * different one; rejects `ERR_ACCOUNT_CONFLICT` if two differ, `ERR_NOT_FOUND` after `timeoutMs`.
   * `onFirst` is called with the first proven key as soon as it is heard (the settle window then
   * runs on): the caller may start reading that database meanwhile, but must act on nothing until
   * this promise resolves with the same key.
   */
  find(options: {
    timeoutMs: number
    settleMs: number
    signal?: { aborted: boolean }
    explain?: () => string
    onFirst?: (databaseKey: Uint8Array) => void
  }): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let found: Uint8Array | null = null
      let settle: ReturnType<typeof setTimeout> | null = null
      const done = (err: Error | null, key?: Uint8Array) => {
        clearTimeout(timeout)
        if (settle) clearTimeout(settle)
        this.off('answer', onAnswer)
        this.finds.delete(abort)
        if (err) reject(err)
        else resolve(key!)
      }
      const onAnswer = (key: Uint8Array) => {
        if (found === null) {
          found = key
          settle = setTimeout(() => done(null, found!), options.settleMs)
          options.onFirst?.(key)
        } else if (!b4a.equals(found, key)) {
          done(
            new HyphaNodeError(
              'ERR_ACCOUNT_CONFLICT',
              'peers of this account answered with two different databases (two sign-ups with one passphrase?)'
            )
          )
        }
      }
      const timeout = setTimeout(
        () => {
          const why = options.explain?.()
          done(new HyphaNodeError('ERR_NOT_FOUND', `no peer of this account answered within ${options.timeoutMs} ms${why ? `: ${why}` : ''}`))
        },
        options.timeoutMs
      )
      const abort = (err: Error) => done(err)
      this.finds.add(abort)
      if (this.ephemeral.closed) return abort(new HyphaNodeError('ERR_CLOSED', 'the node was closed'))
      this.on('answer', onAnswer)
      // Answers that came before anyone asked (a connection made while the node was opening).
      for (const { key } of [...this.heard]) onAnswer(key)
    })
  }

  /** Closes the channel on every connection; a `find` in progress rejects with `ERR_CLOSED`. */
  close(): void {
    this.ephemeral.close()
    for (const abort of [...this.finds]) abort(new HyphaNodeError('ERR_CLOSED', 'the node was closed while looking up the database'))
  }

  private sendOwn(peer: EphemeralPeer): void {
    if (!this.own || !peer.opened || this.ephemeral.closed) return
    try {
      this.ephemeral.send(peer, this.own.payload, { contentType: LOOKUP_CONTENT_TYPE })
    } catch {
      // The peer went away meanwhile.
    }
  }

  private onMessage({ peer, contentType, payload }: EphemeralMessage): void {
    // Every 64 bytes decode: the length is the whole check.
    if (contentType !== LOOKUP_CONTENT_TYPE || payload.byteLength !== ANSWER_BYTES || this.lookupKey === null) return
    const { databaseKey, proof } = c.decode(answerEncoding, payload)
    if (!sodium.sodium_memcmp(lookupProof(this.lookupKey, databaseKey), proof)) return
    const key = b4a.from(databaseKey)
    if (!this.heard.some((h) => b4a.equals(h.key, key)) && this.heard.length < 4) this.heard.push({ key, peer })
    this.emit('answer', key, peer)
    if (this.own && !b4a.equals(this.own.databaseKey, key)) this.emit('conflict', key, peer)
  }
}
