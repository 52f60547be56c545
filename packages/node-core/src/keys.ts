/**
 * Key derivation from the account's 32-byte root secret: the purpose keys a person's nodes use.
 *
 *   purpose key = BLAKE2b-256(key = root secret, input = context ‖ 0x00)
 *
 * node-core never sees a passphrase: the root secret comes from the caller (@hypha/auth derives
 * it from the passphrase and name with Argon2id; tests use any fixed 32 bytes). The root secret
 * lets a device FIND the database (the lookup topic and the key that proves a lookup answer), READ
 * it (the encryption key) and ASK to join (the secure channel's key, and the member key that proves
 * membership to an always-on node without letting it read anything). Nothing that writes or
 * identifies a device comes from here: writer, Noise and channel-signing key pairs are random and
 * held by each device in its storage (see device.ts), and the database key is the origin's random
 * writer key, learnt from the account's peers.
 */
import sodium from 'sodium-universal'
import { HyphaNodeError } from './engine/errors.js'

/** An ed25519 key pair: 32-byte `publicKey`, 64-byte `secretKey`. */
export interface KeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

/**
 * Context strings, one per purpose. The trailing number is the derivation's version.
 * ('hypha/salt/1' is taken too: @hypha/auth's Argon2id salt.)
 */
export const CONTEXTS = Object.freeze({
  channelKey: 'hypha/channel-key/1',
  encryptionKey: 'hypha/encryption-key/1',
  lookupTopic: 'hypha/lookup-topic/1',
  lookupKey: 'hypha/lookup-key/1',
  accountId: 'hypha/account-id/1',
  memberKey: 'hypha/member-key/1'
})

/** Length of the account's root secret (what `@hypha/auth`'s `deriveRootSecret` gives). */
export const ROOT_SECRET_BYTES = 32

const encoder = new TextEncoder()

/** `context ‖ 0x00 ‖ label` in UTF-8: contexts hold no 0 byte, so distinct pairs never collide. */
function withContext(context: string, label: string): Uint8Array {
  const ctx = encoder.encode(context)
  const lab = encoder.encode(label)
  const input = new Uint8Array(ctx.byteLength + 1 + lab.byteLength)
  input.set(ctx, 0)
  input.set(lab, ctx.byteLength + 1)
  return input
}

function checkRoot(rootSecret: Uint8Array): void {
  if (!(rootSecret instanceof Uint8Array) || rootSecret.byteLength !== ROOT_SECRET_BYTES) {
    throw new HyphaNodeError('ERR_INVALID_ARGUMENT', 'rootSecret must be a 32-byte Uint8Array')
  }
}

/** BLAKE2b-256 keyed with the root secret over `context ‖ 0x00 ‖ label` (the 0 byte keeps it unambiguous). */
export function deriveSubkey(rootSecret: Uint8Array, context: string, label = ''): Uint8Array {
  checkRoot(rootSecret)
  const out = new Uint8Array(32)
  sodium.crypto_generichash(out, withContext(context, label), rootSecret)
  return out
}

/** The 32-byte key of the secure channel (@hypha/secure-channel). */
export function deriveChannelKey(rootSecret: Uint8Array): Uint8Array {
  return deriveSubkey(rootSecret, CONTEXTS.channelKey)
}

/** The 32-byte Autobase encryption key: cores are stored and replicated encrypted with it. */
export function deriveEncryptionKey(rootSecret: Uint8Array): Uint8Array {
  return deriveSubkey(rootSecret, CONTEXTS.encryptionKey)
}

/**
 * The 32-byte member key: what the account's nodes and its always-on nodes share. It tags every
 * secure-channel envelope and authenticates (and encrypts) seed announcements, so an always-on
 * node relays and seeds only what members sent; it decrypts neither the database nor the channel.
 */
export function deriveMemberKey(rootSecret: Uint8Array): Uint8Array {
  return deriveSubkey(rootSecret, CONTEXTS.memberKey)
}

/**
 * What a person's full nodes derive from the root secret: the keys to find, read and ask.
 * - `lookupTopic`: where the account's nodes meet (Hyperswarm topic, WebRTC signalling room) and
 *   the id of the lookup channel that tells a new device the database key.
 * - `lookupKey`: keys the proof that a lookup answer comes from someone holding the root secret.
 * - `accountId`: stored beside a device's keys so a storage is never opened for another account.
 * - `memberKey`: membership, shown to always-on nodes (see {@link deriveMemberKey}); it reads nothing.
 */
export interface AccountKeys {
  channelKey: Uint8Array
  encryptionKey: Uint8Array
  lookupTopic: Uint8Array
  lookupKey: Uint8Array
  accountId: Uint8Array
  memberKey: Uint8Array
}

/** Every account key the root secret gives: channel, encryption, lookup topic and key, account id, member key. */
export function deriveAccountKeys(rootSecret: Uint8Array): AccountKeys {
  return {
    channelKey: deriveChannelKey(rootSecret),
    encryptionKey: deriveEncryptionKey(rootSecret),
    lookupTopic: deriveSubkey(rootSecret, CONTEXTS.lookupTopic),
    lookupKey: deriveSubkey(rootSecret, CONTEXTS.lookupKey),
    accountId: deriveSubkey(rootSecret, CONTEXTS.accountId),
    memberKey: deriveMemberKey(rootSecret)
  }
}
