import { EventEmitter } from 'events'
import b4a from 'b4a'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import {
  HyphaNode,
  deriveRootSecret,
  generatePassphrase,
  memoryStorage,
  writerCoreKey,
  verifyChannelProof,
  type Device,
  type KdfParams,
  type StorageAdapter,
  type Transport,
  type Writer
} from '@hypha/node-core'
import { randomBytes, type SecureMessage } from '@hypha/secure-channel'
import { AuthError, wrapError } from './errors.js'
import {
  AUTH_CONTENT_TYPE,
  AuthMessageError,
  NONCE_BYTES,
  commitment,
  decodeAuthMessage,
  encodeAuthMessage,
  requestDigest,
  verificationCode,
  type AuthChallenge,
  type AuthMessage,
  type AuthRequest,
  type AuthReveal
} from './messages.js'
import { checkPassphraseStrength } from './strength.js'
import {
  RECOVERY_CLAIM_CONTENT_TYPE,
  RECOVERY_CLAIM_WINDOW_MS,
  decodeRecoveryClaim,
  decodeRecoveryCode,
  encodeRecoveryClaim,
  generateRecoveryCode,
  recoveryKeyPair
} from './recovery.js'

export interface AccountOptions {
  /** The person's name or domain: the salt of the key derivation, the same on every node. */
  name: string
  /**
   * This device's name, shown in prompts and kept in the device registry: "Firefox on Ubuntu
   * 64-bit". It identifies nothing: two devices may share a name (prompts then say so).
   */
  nodeName: string
  /** Where the device keeps its keys and its replica. Default: memory (a new device each run). */
  storage?: StorageAdapter
  transports?: Transport[]
  /**
   * Argon2id cost `{ iterations?, memoryKiB? }` (Argon2 `t` and `m` in KiB; parallelism is 1).
   * Default t=3, m=64 MiB (@hypha/node-core's DEFAULT_KDF_PARAMS). Lower it only in tests: every
   * node of the account must use the same values.
   */
  kdf?: Partial<KdfParams>
  /** How long a prompt stays open without an answer or a re-sent request. Default 10 minutes. */
  promptTimeoutMs?: number
  /**
   * Most prompts one requesting device may have open at once here; its further requests are
   * refused (`request-refused`), so a device that has the passphrase cannot flood the person.
   * Default 3.
   */
  maxPendingPerDevice?: number
  /**
   * Most prompts open here at once, from all devices (a holder of the passphrase can sign with
   * as many keys as it likes, so the per-device cap alone does not bound them); further requests
   * are refused (`request-refused`, `too-many-pending`). Default 16.
   */
  maxOpenPrompts?: number
}

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

export interface SignInOptions extends AccountOptions {
  passphrase: string
  /** On a fresh storage: how long to look for the database among peers (ms). Default 60 000. */
  lookupTimeoutMs?: number
  /**
   * On a fresh storage: after the first peer's answer, how long to listen for a different one
   * (two databases for one account: `ERR_ACCOUNT_CONFLICT`) before opening (ms). Default 250.
   */
  lookupSettleMs?: number
}

export interface RecoverOptions extends SignInOptions {
  /** The recovery code `signUp` gave (or the last `recover` gave). */
  recoveryCode: string
  /** How long to wait for the database to show the recovery key (ms). Default 30 000. */
  recoveryTimeoutMs?: number
}

export interface RequestOptions {
  /** Give up (ERR_TIMEOUT) after this long. Default 5 minutes. */
  timeoutMs?: number
  /** Re-send the request this often while waiting (a relay may come and go). Default 2 s. */
  retryMs?: number
}

export type PromptStatus =
  | 'pending'
  | 'approved'
  | 'denied'
  | 'approved-elsewhere'
  | 'denied-elsewhere'
  | 'cancelled'
  | 'expired'

/** Why a prompt deserves a second look. */
export type PromptWarning =
  /** The requesting device (its writer or channel key) was revoked: see `prompt.revokedDevice`. */
  | 'revoked'
  /** A device in the registry already has this name: see `prompt.sameNameDevices`. */
  | 'name-in-use'
  /** Another prompt with this name is pending here: two devices ask under one name. */
  | 'duplicate-pending-name'

export type RefusalReason = 'too-many-pending' | 'bad-reveal' | 'bad-channel-proof'

export interface AccountEvents {
  /** On a writable node: a device asks to be authorised. Show `prompt.nodeName` and `prompt.code`. */
  'authorisation-request': [prompt: AuthorisationPrompt]
  /** A prompt left `pending`: answered here or on another node, cancelled, or expired. */
  'authorisation-settled': [prompt: AuthorisationPrompt]
  /** An auth message that could not be decoded was dropped. */
  'bad-message': [error: AuthMessageError, sender: Uint8Array]
  /**
   * A request was not shown: its device already has `maxPendingPerDevice` prompts open, its
   * reveal did not match its commitment (someone tried to choose the code), or its channel-key
   * proof did not hold.
   */
  'request-refused': [refusal: { reason: RefusalReason; requester: Uint8Array; nodeName: string }]
  /** A peer proved another database for this account (two sign-ups with one passphrase). */
  'account-conflict': [databaseKey: Uint8Array]
}

/** A device of the registry, and whether it is this one. */
export type AccountDevice = Device & { current: boolean }

const DEFAULT_TIMEOUT_MS = 5 * 60_000
const DEFAULT_RETRY_MS = 2_000
const DEFAULT_PROMPT_TIMEOUT_MS = 10 * 60_000
const DEFAULT_MAX_PENDING_PER_DEVICE = 3
const DEFAULT_MAX_OPEN_PROMPTS = 16
/** Settled prompts kept (to answer re-sent requests the same way), newest first; older ones are forgotten. */
const MAX_SETTLED_PROMPTS = 256
const DEFAULT_EXISTING_CHECK_MS = 1_500
const DEFAULT_RECOVERY_TIMEOUT_MS = 30_000
/** Answers from keys not (yet) in this replica's registry, kept for a re-check on the next update. */
const MAX_HELD_ANSWERS = 32

const hex = (bytes: Uint8Array) => b4a.toString(bytes, 'hex')
const sameName = (a: string, b: string) => a.normalize('NFKC').trim().toLowerCase() === b.normalize('NFKC').trim().toLowerCase()

/**
 * One person's database on this device, with the authorisation flow: a read-only device asks with
 * {@link Account.requestAuthorisation}; every writable device gets an `authorisation-request`
 * prompt to approve or deny. Only a current writer's answer counts (checked against the device
 * registry in the database), and the verification code is a SAS with a commitment.
 */
export class Account extends EventEmitter<AccountEvents> {
  readonly node: HyphaNode
  /** The generated passphrase after a sign-up without one (show it once, for safe keeping); else null. */
  readonly passphrase: string | null
  /**
   * After `signUp` or `recover`: the recovery code (128 bits). Show it once; with the passphrase
   * it makes a new device a writer when no other device is left, once. Else null.
   */
  recoveryCode: string | null
  /** This device's name, sent in its requests. */
  readonly nodeName: string
  private readonly promptTimeoutMs: number
  private readonly maxPendingPerDevice: number
  private readonly maxOpenPrompts: number
  /** Keys of settled prompts, oldest first: forgotten past MAX_SETTLED_PROMPTS or promptTimeoutMs. */
  private readonly settledKeys: string[] = []
  private readonly prompts = new Map<string, AuthorisationPrompt>()
  private readonly requests = new Map<string, AuthorisationRequest>()
  /** Challenges and denies whose signer this replica does not know as a writer yet. */
  private held: Array<{ message: AuthMessage; sender: Uint8Array }> = []
  private readonly onMessage = (message: SecureMessage) => this.receive(message)
  private readonly onUpdate = () => this.recheck()
  private readonly onConflict = (key: Uint8Array) => this.emit('account-conflict', key)
  private rechecking = false
  private recheckAgain = false
  private isClosed = false

  /** Use {@link signUp}, {@link signIn} or {@link recover}. */
  constructor(
    node: HyphaNode,
    options: {
      nodeName: string
      passphrase?: string | null
      recoveryCode?: string | null
      promptTimeoutMs?: number
      maxPendingPerDevice?: number
      maxOpenPrompts?: number
    }
  ) {
    super()
    this.node = node
    this.nodeName = options.nodeName
    this.passphrase = options.passphrase ?? null
    this.recoveryCode = options.recoveryCode ?? null
    this.promptTimeoutMs = options.promptTimeoutMs ?? DEFAULT_PROMPT_TIMEOUT_MS
    this.maxPendingPerDevice = options.maxPendingPerDevice ?? DEFAULT_MAX_PENDING_PER_DEVICE
    this.maxOpenPrompts = options.maxOpenPrompts ?? DEFAULT_MAX_OPEN_PROMPTS
    node.channel.on('message', this.onMessage)
    node.on('update', this.onUpdate)
    node.on('account-conflict', this.onConflict)
  }

  get writable(): boolean {
    return this.node.writable
  }

  /** What an always-on node is given (hex): it can then tell new devices where the database is. */
  get locator(): string {
    return hex(this.node.locator)
  }

  /** Prompts still waiting for an answer on this device. */
  get pendingPrompts(): AuthorisationPrompt[] {
    return [...this.prompts.values()].filter((p) => p.status === 'pending')
  }

  /**
   * Asks the person's writable devices to make this one a writer. Resolves (`request.done`) once
   * this node really is writable; rejects with AuthError ERR_DENIED, ERR_TIMEOUT or ERR_CANCELLED.
   * Each approving device's code arrives as a `code` event on the request.
   */
  requestAuthorisation(options: RequestOptions = {}): AuthorisationRequest {
    this.checkOpen()
    const writerKey = this.node.writerKey
    if (!writerKey) throw new AuthError('ERR_INVALID_ARGUMENT', 'an always-on node cannot become a writer')
    const nonce = randomBytes(NONCE_BYTES)
    const request: AuthRequest = {
      type: 'request',
      requestId: randomBytes(16),
      nodeName: this.nodeName,
      writerKey,
      createdAt: Date.now(),
      commitment: commitment(nonce),
      channelProof: this.node.channelProof()
    }
    const pending = new AuthorisationRequest(this, request, nonce, {
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      retryMs: options.retryMs ?? DEFAULT_RETRY_MS
    })
    this.requests.set(hex(pending.digest), pending)
    pending.done.then(
      () => this.requests.delete(hex(pending.digest)),
      () => this.requests.delete(hex(pending.digest))
    )
    return pending
  }

  /**
   * Takes a device's write access away (its writer key, from `devices()`); the registry records
   * who revoked it and when. Its ops ordered after the removal are not applied: see README
   * "When a revoke takes effect".
   */
  async revoke(writerKey: Uint8Array): Promise<void> {
    this.checkOpen()
    if (!this.node.writable) throw new AuthError('ERR_NOT_WRITABLE', 'only a writable node can revoke')
    try {
      await this.node.removeWriter(writerKey)
    } catch (err) {
      throw wrapError(err)
    }
  }

  writers(): Promise<Writer[]> {
    return this.node.writers()
  }

  /** The device registry as this replica knows it (revoked devices too), marking this device. */
  async devices(): Promise<AccountDevice[]> {
    const own = this.node.writerKey
    const devices = await this.node.devices()
    return devices.map((d) => ({ ...d, current: own !== null && b4a.equals(d.writerKey, own) }))
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    this.node.channel.off('message', this.onMessage)
    this.node.off('update', this.onUpdate)
    this.node.off('account-conflict', this.onConflict)
    for (const request of this.requests.values()) request.fail(new AuthError('ERR_CLOSED', 'the account was closed'), false)
    for (const prompt of this.prompts.values()) prompt.dispose()
    await this.node.close()
  }

  /** @internal */
  send(message: AuthMessage, to?: Uint8Array): void {
    if (this.isClosed) return
    try {
      this.node.channel.send(encodeAuthMessage(message), { contentType: AUTH_CONTENT_TYPE, to })
    } catch {
      // Closing; the request re-sends and the prompt answers again when asked.
    }
  }

  /** @internal A prompt left 'pending' or 'awaiting-reveal'; `shown` if the person saw it. */
  settle(prompt: AuthorisationPrompt, shown: boolean): void {
    const key = hex(prompt.digest)
    this.settledKeys.push(key)
    // Kept a while to answer re-sends the same way (an approval again, a denial not re-prompted).
    const forget = setTimeout(() => this.forget(key), this.promptTimeoutMs)
    ;(forget as { unref?: () => void }).unref?.()
    while (this.settledKeys.length > MAX_SETTLED_PROMPTS) this.forget(this.settledKeys[0]!)
    if (shown) this.emit('authorisation-settled', prompt)
  }

  private forget(key: string): void {
    const i = this.settledKeys.indexOf(key)
    if (i === -1) return
    this.settledKeys.splice(i, 1)
    const prompt = this.prompts.get(key)
    if (prompt && prompt.status !== 'pending' && prompt.status !== 'awaiting-reveal') this.prompts.delete(key)
  }

  /** @internal */
  get closed(): boolean {
    return this.isClosed
  }

  /** @internal Whether `channelKey` signs for a current writer, by this replica's registry; its name. */
  async writerBehind(channelKey: Uint8Array): Promise<Device | null> {
    try {
      const device = await this.node.deviceByChannelKey(channelKey)
      return device && device.active && !device.recovery ? device : null
    } catch {
      return null
    }
  }

  private checkOpen(): void {
    if (this.isClosed) throw new AuthError('ERR_CLOSED', 'the account is closed')
  }

  private receive(envelope: SecureMessage): void {
    if (envelope.contentType !== AUTH_CONTENT_TYPE || this.isClosed) return
    let message: AuthMessage
    try {
      message = decodeAuthMessage(envelope.payload)
    } catch (err) {
      if (err instanceof AuthMessageError) this.emit('bad-message', err, envelope.sender)
      return
    }
    this.dispatch(message, envelope.sender).catch(() => {}) // failures surface on the prompt or request
  }

  private async dispatch(message: AuthMessage, sender: Uint8Array): Promise<void> {
    if (message.type === 'request') return this.onRequest(message, sender)
    const key = hex(message.requestDigest)
    const request = this.requests.get(key)
    const prompt = this.prompts.get(key)
    switch (message.type) {
      case 'challenge':
        // Only a current writer's challenge leads to a code (a reader could not add us anyway).
        if (!request) return
        if (await this.writerBehind(sender)) await request.challenged(message, sender)
        else this.hold(message, sender)
        return
      case 'reveal':
        if (prompt) prompt.revealed(message, sender)
        return
      case 'cancel':
        // Only the requester itself can withdraw its request.
        if (prompt && b4a.equals(sender, prompt.requester)) prompt.settleAs('cancelled')
        return
      case 'approve':
        // Counts only once the add-writer op is in the view (checked on every update).
        if (prompt) this.recheck()
        return
      case 'deny':
        if (!request && !(prompt && prompt.status === 'pending')) return
        if (!(await this.writerBehind(sender))) {
          this.hold(message, sender)
          return
        }
        request?.fail(new AuthError('ERR_DENIED', `denied: ${message.reason}`), false)
        if (prompt) prompt.settleAs('denied-elsewhere')
    }
  }

  /** An answer whose signer may be a writer this replica does not know yet: looked at again after the next update. */
  private hold(message: AuthMessage, sender: Uint8Array): void {
    if (this.held.length < MAX_HELD_ANSWERS) this.held.push({ message, sender })
  }

  /** On every view update: prompts approved elsewhere, and held answers whose signer is now known. */
  private recheck(): void {
    if (this.rechecking) {
      this.recheckAgain = true
      return
    }
    this.rechecking = true
    void (async () => {
      do {
        this.recheckAgain = false
        try {
          for (const prompt of this.pendingPrompts) {
            if (await this.node.isWriter(prompt.writerKey)) prompt.settleAs('approved-elsewhere')
          }
          const held = this.held
          this.held = []
          for (const { message, sender } of held) await this.dispatch(message, sender)
        } catch {
          // Closing.
        }
      } while (this.recheckAgain && !this.isClosed)
      this.rechecking = false
    })()
  }

  private async onRequest(request: AuthRequest, requester: Uint8Array): Promise<void> {
    // Only writers can add writers; others stay silent.
    if (!this.node.writable) return
    const digest = requestDigest(request, requester)
    const key = hex(digest)
    const existing = this.prompts.get(key)
    if (existing) {
      existing.resent() // a re-send: the requester is still waiting
      return
    }
    // Already a writer (approved elsewhere, its view lags): answer without bothering the person.
    if (await this.node.isWriter(request.writerKey)) {
      this.send({ type: 'approve', requestId: request.requestId, requestDigest: digest, writerKey: request.writerKey }, requester)
      return
    }
    if (this.prompts.has(key) || this.isClosed) return // a duplicate raced the await above
    // The registry will bind the requester's channel key to its writer key: its proof must hold.
    if (!verifyChannelProof(request.channelProof, requester, this.node.key, request.writerKey)) {
      this.emit('request-refused', { reason: 'bad-channel-proof', requester, nodeName: request.nodeName })
      return
    }
    const open = [...this.prompts.values()].filter((p) => p.status === 'pending' || p.status === 'awaiting-reveal')
    if (open.filter((p) => b4a.equals(p.requester, requester)).length >= this.maxPendingPerDevice || open.length >= this.maxOpenPrompts) {
      this.emit('request-refused', { reason: 'too-many-pending', requester, nodeName: request.nodeName })
      return
    }
    const prompt = new AuthorisationPrompt(this, request, requester, digest, this.promptTimeoutMs)
    this.prompts.set(key, prompt)
    prompt.resent()
  }

  /** @internal Called by a prompt whose reveal checked out: look it up in the registry, then show it. */
  async show(prompt: AuthorisationPrompt): Promise<void> {
    let devices: Device[] = []
    try {
      devices = await this.node.devices()
    } catch {
      // Closing.
    }
    prompt.sameNameDevices = devices.filter((d) => !d.recovery && sameName(d.name, prompt.nodeName))
    prompt.revokedDevice =
      devices.find(
        (d) =>
          !d.active &&
          d.revokedBy !== null &&
          (b4a.equals(d.writerKey, prompt.writerKey) || (d.channelKey !== null && b4a.equals(d.channelKey, prompt.requester)))
      ) ?? null
    if (this.isClosed || prompt.status !== 'pending') return
    this.emit('authorisation-request', prompt)
  }

  /** @internal Other pending prompts here with the same device name. */
  samePendingName(prompt: AuthorisationPrompt): AuthorisationPrompt[] {
    return this.pendingPrompts.filter((p) => p !== prompt && sameName(p.nodeName, prompt.nodeName))
  }

  /** @internal */
  refuse(prompt: AuthorisationPrompt, reason: RefusalReason): void {
    this.prompts.delete(hex(prompt.digest))
    this.emit('request-refused', { reason, requester: prompt.requester, nodeName: prompt.nodeName })
  }
}

/**
 * A prompt on a writable device: "Authorise node *name*?" It is created when a request arrives
 * (status 'awaiting-reveal', not shown) and shown (`authorisation-request`, status 'pending') once
 * the requester revealed the nonce it committed to, so `code` is known.
 */
export class AuthorisationPrompt {
  readonly nodeName: string
  /** Six digits the requesting device shows beside this device's name: they must match. */
  code = ''
  /** The writer key approving adds. */
  readonly writerKey: Uint8Array
  /** The requesting device's channel key (it signed the request); recorded in the registry. */
  readonly requester: Uint8Array
  readonly requestId: Uint8Array
  /** The requesting device's clock when it made the request. */
  readonly createdAt: number
  readonly receivedAt = Date.now()
  /** The revoked registry device this request comes from (same writer or channel key), if any. */
  revokedDevice: Device | null = null
  /** Registry devices (active or revoked) with this name, compared case-insensitively. */
  sameNameDevices: Device[] = []
  /** @internal */ readonly digest: Uint8Array
  private state: PromptStatus | 'awaiting-reveal' = 'awaiting-reveal'
  private timer: ReturnType<typeof setTimeout> | null = null
  private readonly nonce = randomBytes(NONCE_BYTES)
  private readonly commitment: Uint8Array
  private readonly channelProof: Uint8Array

  /** @internal */
  constructor(
    private readonly account: Account,
    request: AuthRequest,
    requester: Uint8Array,
    digest: Uint8Array,
    private readonly timeoutMs: number
  ) {
    this.nodeName = request.nodeName
    this.writerKey = request.writerKey
    this.requestId = request.requestId
    this.createdAt = request.createdAt
    this.commitment = request.commitment
    this.channelProof = request.channelProof
    this.requester = requester
    this.digest = digest
  }

  /** 'pending' while shown and unanswered; how it ended after. */
  get status(): PromptStatus | 'awaiting-reveal' {
    return this.state
  }

  /** What deserves the person's attention before approving. */
  get warnings(): PromptWarning[] {
    const out: PromptWarning[] = []
    if (this.revokedDevice) out.push('revoked')
    if (this.sameNameDevices.length > 0) out.push('name-in-use')
    if (this.account.samePendingName(this).length > 0) out.push('duplicate-pending-name')
    return out
  }

  /** Adds the writer and records the device; resolves once the add-writer op is in the database. */
  async approve(): Promise<void> {
    this.checkPending()
    if (!this.account.node.writable) throw new AuthError('ERR_NOT_WRITABLE', 'this node is no longer a writer')
    this.settleAs('approved')
    try {
      await this.account.node.addWriter(this.writerKey, {
        name: this.nodeName,
        channelKey: this.requester,
        channelProof: this.channelProof
      })
    } catch (err) {
      throw wrapError(err)
    }
    this.account.send(this.approval(), this.requester)
  }

  /** Refuses the request; the requesting device's promise rejects with ERR_DENIED. */
  deny(reason = 'denied'): void {
    this.checkPending()
    this.settleAs('denied')
    this.account.send({ type: 'deny', requestId: this.requestId, requestDigest: this.digest, reason })
  }

  /** @internal The request came (again): send our challenge, or the answer we gave. */
  resent(): void {
    if (this.state === 'awaiting-reveal' || this.state === 'pending') {
      this.account.send(this.challenge(), this.requester)
      this.refresh()
    } else if (this.state === 'approved') {
      this.account.send(this.approval(), this.requester)
    }
  }

  /** @internal */
  revealed(message: AuthReveal, sender: Uint8Array): void {
    if (this.state !== 'awaiting-reveal' || !b4a.equals(sender, this.requester)) return
    const own = this.account.node.channel.publicKey
    if (!own || !b4a.equals(message.approver, own)) return // a reveal for another approver
    if (!b4a.equals(commitment(message.nonce), this.commitment)) {
      this.state = 'denied'
      this.dispose()
      this.account.refuse(this, 'bad-reveal')
      return
    }
    this.code = verificationCode(this.digest, own, this.nonce, message.nonce)
    this.state = 'pending'
    this.refresh()
    void this.account.show(this)
  }

  /** @internal */
  approval(): AuthMessage {
    return { type: 'approve', requestId: this.requestId, requestDigest: this.digest, writerKey: this.writerKey }
  }

  private challenge(): AuthChallenge {
    return { type: 'challenge', requestId: this.requestId, requestDigest: this.digest, nonce: this.nonce }
  }

  /** @internal */
  refresh(): void {
    if ((this.state !== 'pending' && this.state !== 'awaiting-reveal') || this.account.closed) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.settleAs('expired'), this.timeoutMs)
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  /** @internal */
  settleAs(status: Exclude<PromptStatus, 'pending'>): void {
    if (this.state !== 'pending' && this.state !== 'awaiting-reveal') return
    const shown = this.state === 'pending'
    this.state = status
    this.dispose()
    this.account.settle(this, shown)
  }

  /** @internal */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private checkPending(): void {
    if (this.state !== 'pending') throw new AuthError('ERR_ALREADY_SETTLED', `the request is ${this.state}`)
  }
}

/** One approving device's code, as the requesting device shows it. */
export interface ApproverCode {
  /** The approving device's name, from the registry. */
  approverName: string
  /** Its channel key. */
  approver: Uint8Array
  code: string
}

export interface AuthorisationRequestEvents {
  /** An approving device (a current writer) sent its challenge: show its name and this code. */
  code: [code: ApproverCode]
}

/** This device's pending request to become a writer. */
export class AuthorisationRequest extends EventEmitter<AuthorisationRequestEvents> {
  readonly requestId: Uint8Array
  /** Resolves once this node is writable; rejects with an AuthError. */
  readonly done: Promise<void>
  /** The request's digest (BLAKE2b of the request and this device's channel key): what every answer is bound to. */
  readonly digest: Uint8Array
  /** One code per approving device, in the order their challenges came. */
  readonly codes: ApproverCode[] = []
  private readonly challenges = new Map<string, Uint8Array>()
  private resolve!: () => void
  private reject!: (err: AuthError) => void
  private settled = false
  private retry: ReturnType<typeof setInterval> | null = null
  private timeout: ReturnType<typeof setTimeout> | null = null
  private readonly onWritable = () => this.checkWritable()
  // A new connection may lead to an approver: send at once rather than at the next retry.
  private readonly onPeerOpen = () => this.account.send(this.request)

  /** @internal */
  constructor(
    private readonly account: Account,
    private readonly request: AuthRequest,
    private readonly nonce: Uint8Array,
    options: { timeoutMs: number; retryMs: number }
  ) {
    super()
    this.requestId = request.requestId
    this.digest = requestDigest(request, account.node.channel.publicKey!)
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.done.catch(() => {}) // the caller may only ever look at the codes; no unhandled rejection
    account.node.on('writable', this.onWritable)
    account.node.on('update', this.onWritable)
    if (this.checkWritable()) return
    this.timeout = setTimeout(
      () => this.fail(new AuthError('ERR_TIMEOUT', `no answer within ${options.timeoutMs} ms`), true),
      options.timeoutMs
    )
    this.retry = setInterval(() => this.account.send(this.request), options.retryMs)
    account.node.ephemeral.on('peer-open', this.onPeerOpen)
    this.account.send(this.request)
  }

  /** The first approving device's code, or null until one challenged (see `codes` and the `code` event). */
  get code(): string | null {
    return this.codes[0]?.code ?? null
  }

  /** Withdraws the request: prompts close on the other devices; `done` rejects with ERR_CANCELLED. */
  cancel(): void {
    this.fail(new AuthError('ERR_CANCELLED', 'the request was cancelled'), true)
  }

  /** @internal A current writer's challenge: reveal our nonce to it; the first one per approver counts. */
  async challenged(message: AuthChallenge, approver: Uint8Array): Promise<void> {
    if (this.settled) return
    const id = hex(approver)
    const first = this.challenges.get(id)
    if (first && !b4a.equals(first, message.nonce)) return
    const reveal: AuthReveal = {
      type: 'reveal',
      requestId: this.requestId,
      requestDigest: this.digest,
      approver,
      nonce: this.nonce
    }
    if (!first) {
      this.challenges.set(id, message.nonce)
      const device = await this.account.writerBehind(approver)
      const code: ApproverCode = {
        approverName: device?.name ?? '',
        approver,
        code: verificationCode(this.digest, approver, message.nonce, this.nonce)
      }
      this.codes.push(code)
      this.emit('code', code)
    }
    this.account.send(reveal, approver)
  }

  /** @internal */
  fail(error: AuthError, announce: boolean): void {
    if (this.settled) return
    if (announce) this.account.send({ type: 'cancel', requestId: this.requestId, requestDigest: this.digest })
    this.finish()
    this.reject(error)
  }

  private checkWritable(): boolean {
    if (this.settled || !this.account.node.writable) return false
    this.finish()
    this.resolve()
    return true
  }

  private finish(): void {
    this.settled = true
    if (this.retry) clearInterval(this.retry)
    if (this.timeout) clearTimeout(this.timeout)
    this.account.node.off('writable', this.onWritable)
    this.account.node.off('update', this.onWritable)
    this.account.node.ephemeral.off('peer-open', this.onPeerOpen)
  }
}

/**
 * Creates a new database on this device: it becomes the origin, its first writer. Also makes a
 * recovery key (`account.recoveryCode`). Rejects with AuthError `ERR_WEAK_PASSPHRASE` (a chosen
 * passphrase under 60 bits), `ERR_ACCOUNT_EXISTS` (this storage, or a peer, holds this account
 * already: use signIn), or a wrapped node error.
 */
export async function signUp(options: SignUpOptions): Promise<Account> {
  checkCommon(options)
  if (options.passphrase !== undefined) checkPassphraseStrength(options.passphrase, [options.name, options.nodeName])
  const passphrase = options.passphrase ?? generatePassphrase()
  const checkMs = options.existingAccountCheckMs ?? ((options.transports?.length ?? 0) > 0 ? DEFAULT_EXISTING_CHECK_MS : 0)
  const node = await openNode(
    { ...options, passphrase },
    { role: 'origin', existingAccountCheckMs: checkMs }
  )
  if (node.reopened) {
    await node.close()
    throw new AuthError('ERR_ACCOUNT_EXISTS', 'this storage holds a device of this account already: use signIn to reopen it')
  }
  try {
    await node.registerDevice(options.nodeName)
    const recoveryCode = generateRecoveryCode()
    await addRecoveryKey(node, recoveryCode)
    return new Account(node, {
      nodeName: options.nodeName,
      passphrase: options.passphrase === undefined ? passphrase : null,
      recoveryCode,
      promptTimeoutMs: options.promptTimeoutMs,
      maxPendingPerDevice: options.maxPendingPerDevice,
      maxOpenPrompts: options.maxOpenPrompts
    })
  } catch (err) {
    await node.close()
    throw wrapError(err)
  }
}

/**
 * Opens the person's database on this device. On a storage that holds this account's device it
 * reopens it as it was (the origin stays the origin, a writer stays a writer). On a fresh storage
 * it looks the database up among the transports' peers and opens it read-only: a new device,
 * whatever its name, that becomes a writer only when a current writer approves
 * ({@link Account.requestAuthorisation}). Rejects with AuthError: `ERR_NOT_FOUND`,
 * `ERR_ACCOUNT_CONFLICT`, `ERR_OTHER_ACCOUNT` (wrong passphrase or name for this storage), …
 */
export async function signIn(options: SignInOptions): Promise<Account> {
  checkCommon(options)
  if (typeof options.passphrase !== 'string' || options.passphrase.length === 0) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'signIn needs the passphrase')
  }
  const node = await openNode(options, {
    role: 'read-only',
    lookupTimeoutMs: options.lookupTimeoutMs,
    lookupSettleMs: options.lookupSettleMs
  })
  return new Account(node, {
    nodeName: options.nodeName,
    promptTimeoutMs: options.promptTimeoutMs,
    maxPendingPerDevice: options.maxPendingPerDevice,
    maxOpenPrompts: options.maxOpenPrompts
  })
}

/**
 * Signs in and makes this device a writer with the recovery code, with no other device online
 * (the database must still be reachable, from an always-on node for example). The code works
 * once: a new one replaces it (`account.recoveryCode`, show it once). Rejects with AuthError
 * `ERR_RECOVERY_CODE_INVALID` (not this account's, or already used) after `recoveryTimeoutMs`.
 */
export async function recover(options: RecoverOptions): Promise<Account> {
  const codeBytes = decodeRecoveryCode(options.recoveryCode)
  const account = await signIn(options)
  try {
    if (!account.writable) await recoverWith(account, codeBytes, options.recoveryTimeoutMs ?? DEFAULT_RECOVERY_TIMEOUT_MS)
    return account
  } catch (err) {
    await account.close()
    throw wrapError(err)
  }
}

async function recoverWith(account: Account, codeBytes: Uint8Array, timeoutMs: number): Promise<void> {
  const node = account.node
  const keyPair = recoveryKeyPair(codeBytes)
  const recoveryWriter = writerCoreKey(keyPair.publicKey)
  // The recovery key writes through a node of its own (its own writer core, in memory), joined
  // to this device's node by an in-process connection: it adds this device, adds a new recovery
  // key and removes itself, and this device's node replicates those ops like any other writer's.
  const helper = new HyphaNode({
    role: 'read-only',
    rootSecret: rootSecrets.get(node)!,
    databaseKey: node.key,
    writerKeyPair: keyPair,
    storage: memoryStorage()
  })
  let disconnect = () => {}
  const claim = new ClaimContest(node, keyPair)
  try {
    // A recovery key writes once. Its core holds blocks only if it was used: ask the peers.
    if ((await node.writerCoreLength(recoveryWriter, { waitMs: 1000 })).length > 0) {
      throw new AuthError('ERR_RECOVERY_CODE_INVALID', 'this recovery code was used already')
    }
    await helper.ready()
    disconnect = connectInProcess(node, helper)
    const deadline = Date.now() + timeoutMs
    while (!helper.writable) {
      const known = (await helper.devices().catch(() => [])).find((d) => b4a.equals(d.writerKey, recoveryWriter))
      if (known && !known.active) throw new AuthError('ERR_RECOVERY_CODE_INVALID', 'this recovery code was used already')
      if (Date.now() > deadline) {
        throw new AuthError('ERR_RECOVERY_CODE_INVALID', 'this recovery code is not one of this account’s (or the database did not sync in time)')
      }
      await helper.update().catch(() => {})
      await sleep(50)
    }
    // Claim the code: stop if another device is using it at the same time (see recovery.ts).
    await claim.contest()
    const next = generateRecoveryCode()
    await helper.addWriter(node.writerKey!, {
      name: account.nodeName,
      channelKey: node.channel.publicKey,
      channelProof: node.channelProof()
    })
    await addRecoveryKey(helper, next)
    await helper.removeWriter(recoveryWriter)
    while (!node.writable || (await node.isWriter(recoveryWriter))) {
      if (Date.now() > deadline + timeoutMs) throw new AuthError('ERR_TIMEOUT', 'the recovery did not replicate to this device')
      await node.update().catch(() => {})
      await sleep(20)
    }
    account.recoveryCode = next
    // Let a peer (an always-on node) hold the spent recovery core before the claim stops, so the
    // code is seen as used by the next device that tries it; bounded, there may be no peer at all.
    const until = Date.now() + Math.min(timeoutMs, 5000)
    while (node.peerCount > 0 && Date.now() < until) {
      const { held, peerHeld } = await node.writerCoreLength(recoveryWriter)
      if (peerHeld >= held) break
      await sleep(20)
    }
  } finally {
    claim.stop()
    disconnect()
    await helper.close()
  }
}

/** One device's claim on a recovery code, broadcast on the secure channel (see recovery.ts). */
class ClaimContest {
  private readonly nonce = randomBytes(32)
  private committed = false
  private conflict: AuthError | null = null
  private timer: ReturnType<typeof setInterval> | null = null
  private readonly onMessage = (message: SecureMessage) => {
    if (message.contentType !== RECOVERY_CLAIM_CONTENT_TYPE) return
    const other = decodeRecoveryClaim(message.payload, this.node.key)
    if (!other || !b4a.equals(other.publicKey, this.keyPair.publicKey) || b4a.equals(other.nonce, this.nonce)) return
    if (this.committed) return // ours is being written: the other device stops when it hears ours
    if (other.committed || b4a.compare(other.nonce, this.nonce) < 0) {
      this.conflict = new AuthError('ERR_RECOVERY_CONFLICT', 'another device is using this recovery code right now')
    }
  }

  constructor(
    private readonly node: HyphaNode,
    private readonly keyPair: { publicKey: Uint8Array; secretKey: Uint8Array }
  ) {
    node.channel.on('message', this.onMessage)
  }

  /** Broadcasts the claim for the window; throws ERR_RECOVERY_CONFLICT, else marks it committed. */
  async contest(): Promise<void> {
    this.timer = setInterval(() => this.broadcast(), 200)
    this.broadcast()
    const end = Date.now() + RECOVERY_CLAIM_WINDOW_MS
    while (Date.now() < end && !this.conflict) await sleep(25)
    if (this.conflict) throw this.conflict
    this.committed = true
    this.broadcast()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.node.channel.off('message', this.onMessage)
  }

  private broadcast(): void {
    try {
      this.node.channel.send(encodeRecoveryClaim(this.keyPair, this.node.key, this.nonce, this.committed), {
        contentType: RECOVERY_CLAIM_CONTENT_TYPE
      })
    } catch {
      // Closing.
    }
  }
}

async function addRecoveryKey(node: HyphaNode, code: string): Promise<void> {
  const keyPair = recoveryKeyPair(decodeRecoveryCode(code))
  await node.addWriter(writerCoreKey(keyPair.publicKey), { name: 'recovery key', recovery: true })
}

function connectInProcess(a: HyphaNode, b: HyphaNode): () => void {
  const x = new NoiseSecretStream(true, undefined, { keyPair: a.noiseKeyPair })
  const y = new NoiseSecretStream(false, undefined, { keyPair: b.noiseKeyPair })
  x.rawStream.pipe(y.rawStream).pipe(x.rawStream)
  a.addConnection(x, { transport: 'in-process', isInitiator: true })
  b.addConnection(y, { transport: 'in-process', isInitiator: false })
  return () => {
    x.destroy()
    y.destroy()
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Root secrets of the nodes opened here, for recovery only (kept off the public objects). */
const rootSecrets = new WeakMap<HyphaNode, Uint8Array>()

function checkCommon(options: AccountOptions): void {
  if (!options || typeof options !== 'object') throw new AuthError('ERR_INVALID_ARGUMENT', 'options are required')
  if (typeof options.name !== 'string' || options.name.trim().length === 0) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'name (the person’s name or domain) is required')
  }
  if (typeof options.nodeName !== 'string' || options.nodeName.trim().length === 0) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'nodeName (this device’s name) is required')
  }
}

async function openNode(
  options: SignInOptions,
  extra: { role: 'origin' | 'read-only'; existingAccountCheckMs?: number; lookupTimeoutMs?: number; lookupSettleMs?: number }
): Promise<HyphaNode> {
  try {
    const rootSecret = await deriveRootSecret(options.passphrase, options.name, options.kdf)
    const node = new HyphaNode({
      role: extra.role,
      rootSecret,
      storage: options.storage,
      transports: options.transports,
      existingAccountCheckMs: extra.existingAccountCheckMs,
      lookupTimeoutMs: extra.lookupTimeoutMs,
      lookupSettleMs: extra.lookupSettleMs
    })
    await node.ready()
    rootSecrets.set(node, rootSecret)
    return node
  } catch (err) {
    throw wrapError(err)
  }
}
