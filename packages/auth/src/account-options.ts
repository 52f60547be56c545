/**
 * What an account takes and emits: the options of signUp, signIn and requestAuthorisation, the
 * account's events, and the checks of those options (auth's own, so a bad one is an AuthError
 * naming auth's option, not an error from the node below).
 */
import { MAX_DEVICE_NAME_BYTES, isWellFormed, type Device, type StorageAdapter, type Transport } from '@hypha/node-core'
import { AuthError } from './errors.js'
import type { AuthMessageError, RefusalReason } from './messages.js'
import type { KdfParams } from './passphrase.js'
import type { AuthorisationPrompt } from './prompt.js'

/** What `signUp`, `signIn` and `recover` share: the account, this device, its storage and transports, the KDF cost and the prompt limits. */
export interface AccountOptions {
  /** The person's name or domain: the salt of the key derivation, the same on every node. */
  name: string
  /**
   * This device's name, shown in prompts and kept in the device registry: "Firefox on Ubuntu
   * 64-bit". It identifies nothing: two devices may share a name (prompts then say so). Not blank,
   * well-formed text (no lone surrogates), at most MAX_DEVICE_NAME_BYTES (128) UTF-8 bytes.
   */
  nodeName: string
  /** Where the device keeps its keys and its replica. Default: memory (a new device each run). */
  storage?: StorageAdapter
  transports?: Transport[]
  /**
   * Argon2id cost `{ iterations?, memoryKiB? }` (Argon2 `t` and `m` in KiB; parallelism is 1).
   * Default t=3, m=64 MiB (DEFAULT_KDF_PARAMS). Lower it only in tests: every
   * node of the account must use the same values.
   */
  kdf?: Partial<KdfParams>
  /** How long a prompt stays open without an answer or a re-sent request. Default 10 minutes. */
  promptTimeoutMs?: number
  /**
   * Most prompts one requesting device (channel key) may have open at once here; its further
   * requests are refused (`request-refused`, `too-many-pending`; the requester is told). Keys cost
   * nothing to make: `maxOpenPrompts` is what bounds a flood. Default 3.
   */
  maxPendingPerDevice?: number
  /**
   * Most prompts open here at once, from all devices (a holder of the passphrase can sign with
   * as many keys as it likes, so the per-device cap alone does not bound them); further requests
   * are refused (`request-refused`, `too-many-prompts`; the requester is told) and the first such
   * refusal emits `too-many-requests`. Default 16.
   */
  maxOpenPrompts?: number
  /**
   * This device's clock (ms since the epoch), for tests: a device whose clock is off. It stamps the
   * secure channel's envelopes and requests' `createdAt`, and judges theirs. Default `Date.now`.
   */
  now?: () => number
  /**
   * How long after the first connection this device dialled was refused as not a member (another
   * account's peer) to wait for a member peer before deciding that every peer it reaches belongs
   * to another account: signIn's lookup and a request no member peer heard then fail with
   * `ERR_OTHER_ACCOUNT` (ms). Default 2000. See README "Another account's peers".
   */
  otherAccountSettleMs?: number
}

/** Options of `signUp`: the shared ones, a chosen passphrase (or none: one is generated) and the existing-account check. */
export interface SignUpOptions extends AccountOptions {
  /**
   * Leave out to get a generated diceware-style passphrase (80 bits) in `account.passphrase`. A
   * chosen one must be estimated at 60 bits or more (zxcvbn), else `ERR_WEAK_PASSPHRASE`.
   */
  passphrase?: string
  /**
   * Before creating, listen this long (ms) for an existing database of this account among the
   * transports' peers; one found fails with `ERR_ACCOUNT_EXISTS`. Default 1500 with transports,
   * 0 without.
   */
  existingAccountCheckMs?: number
}

/** Options of `signIn`: the shared ones, the passphrase, and how long to look the database up on a fresh storage. */
export interface SignInOptions extends AccountOptions {
  passphrase: string
  /** On a fresh storage: how long to look for the database among peers (ms). Default 60 000. */
  lookupTimeoutMs?: number
  /**
   * On a fresh storage: after the first peer's answer, how long to listen for a different one
   * (two databases for one account: `ERR_ACCOUNT_CONFLICT`) before signIn resolves (ms). Default
   * 250. The answered database is read (replicated) meanwhile, so the first sync overlaps this
   * wait; nothing is sent to its peers, asked or recorded in the storage until it passed.
   */
  lookupSettleMs?: number
}

/** Options of `account.requestAuthorisation`: its timeout and how often it is re-sent. */
export interface RequestOptions {
  /**
   * Give up after this long (ms; default 5 minutes): the request is cancelled and `done` rejects
   * with ERR_TIMEOUT, unless an approval given before the cancel arrived comes back, or the
   * device was offline when it passed (then it waits to reconnect): see README.
   */
  timeoutMs?: number
  /** Re-send the request this often while waiting (a relay may come and go). Default 2 s. */
  retryMs?: number
}

export type { RefusalReason }

/** Events of an `Account`: prompts, their settling, refused requests, floods and conflicts. */
export interface AccountEvents {
  /** On a writable node: a device asks to be authorised. Show `prompt.nodeName` and `prompt.code`. */
  'authorisation-request': [prompt: AuthorisationPrompt]
  /** A prompt left `pending`: answered here or on another node, cancelled, or expired. */
  'authorisation-settled': [prompt: AuthorisationPrompt]
  /** An auth message that could not be decoded was dropped. */
  'bad-message': [error: AuthMessageError, sender: Uint8Array]
  /**
   * A request was not shown (its requester is told why with a `refuse` message): its device
   * already has `maxPendingPerDevice` prompts open (`too-many-pending`), `maxOpenPrompts` are open
   * from all devices (`too-many-prompts`), its reveal did not match its commitment (`bad-reveal`:
   * someone tried to choose the code), its channel-key proof did not hold (`bad-channel-proof`),
   * this device settled that very request before (`settled`, also across restarts), its
   * `createdAt` is over a day old or over 10 minutes ahead (`stale`), or its envelope was refused
   * by the secure channel for its timestamp (`clock-skew`: the clocks differ by more than it accepts;
   * `skewMs` is the requester's clock minus this device's, emitted once per request).
   */
  'request-refused': [refusal: { reason: RefusalReason; requester: Uint8Array; nodeName: string; skewMs?: number }]
  /**
   * The first request refused because `maxOpenPrompts` are open (emitted again only once every
   * prompt open by then settled): many devices are asking at once, so someone else may have the
   * passphrase. `open`: prompts open (shown or awaiting their reveal), `requesters`: their
   * distinct devices (channel keys, which cost nothing to make).
   */
  'too-many-requests': [flood: { open: number; requesters: number }]
  /** A peer proved another database for this account (two sign-ups with one passphrase). */
  'account-conflict': [databaseKey: Uint8Array]
  /**
   * A writer's history here differs from a peer's: one writer key was used on two devices apart
   * (a recovery code used twice across a partition). That writer's later ops are not shared.
   */
  'writer-conflict': [writerKey: Uint8Array]
}

/** A device of the registry, and whether it is this one. */
export type AccountDevice = Device & { current: boolean }

/** Longest delay a timer takes (2^31 − 1 ms, about 24.8 days): a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

const utf8 = new TextEncoder()

function invalid(message: string): AuthError {
  return new AuthError('ERR_INVALID_ARGUMENT', message)
}

/** Left out, or a whole number of ms a timer can wait (from 1 ms). */
export function checkTimerMs(value: unknown, what: string): void {
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw invalid(`${what} must be an integer from 1 to ${MAX_TIMER_MS} (ms)`)
  }
}

function checkCount(value: unknown, what: string): void {
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid(`${what} must be an integer ≥ 1`)
}

/** The options every way of opening an account shares. The rest (storage, transports, …) the node checks. */
export function checkAccountOptions(options: AccountOptions): void {
  if (!options || typeof options !== 'object') throw invalid('options are required')
  if (typeof options.name !== 'string' || options.name.trim().length === 0) {
    throw invalid('name (the person’s name or domain) is required')
  }
  if (typeof options.nodeName !== 'string' || options.nodeName.trim().length === 0) {
    throw invalid('nodeName (this device’s name) is required')
  }
  // It goes out in the request and into the registry: refused here, not when requestAuthorisation sends it.
  if (!isWellFormed(options.nodeName) || utf8.encode(options.nodeName).byteLength > MAX_DEVICE_NAME_BYTES) {
    throw invalid(`nodeName must be well-formed text (no lone surrogates) of at most ${MAX_DEVICE_NAME_BYTES} UTF-8 bytes`)
  }
  if (options.kdf !== undefined && (options.kdf === null || typeof options.kdf !== 'object')) {
    throw invalid('kdf must be an object { iterations?, memoryKiB? }')
  }
  checkTimerMs(options.promptTimeoutMs, 'promptTimeoutMs')
  checkTimerMs(options.otherAccountSettleMs, 'otherAccountSettleMs')
  checkCount(options.maxPendingPerDevice, 'maxPendingPerDevice')
  checkCount(options.maxOpenPrompts, 'maxOpenPrompts')
  if (options.now !== undefined && typeof options.now !== 'function') throw invalid('now must be a function giving ms since the epoch')
}

export function checkRequestOptions(options: RequestOptions): void {
  if (!options || typeof options !== 'object') throw invalid('options must be an object')
  checkTimerMs(options.timeoutMs, 'timeoutMs')
  checkTimerMs(options.retryMs, 'retryMs')
}
