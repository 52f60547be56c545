/**
 * The account object on this device: its devices, revocation, and the approver's side of
 * authorisation (answers counted only from current writers, prompts, the registry). Opening one
 * (sign up, sign in) is open-account.ts, its options and events account-options.ts; the
 * requester's side is request.ts, a prompt is prompt.ts, recovery is recover.ts.
 *
 * Over 400 lines on purpose: what is left is one state machine. The maps (open and settled
 * prompts, pending requests, held answers, skewed requests) are read by both the requester's and
 * the approver's paths, and `dispatch` routes every message against both; the parts that stand
 * alone are split out already (the files above, settled.ts, other-account.ts).
 */
import { TypedEmitter } from '@hypha/node-core'
import b4a from 'b4a'
import { coalesced, verifyChannelProof, type Device, type HyphaNode, type Writer } from '@hypha/node-core'
import { randomBytes, type ClockSkew, type SecureMessage } from '@hypha/secure-channel'
import { AuthError, wrapError } from './errors.js'
import {
  AUTH_CONTENT_TYPE,
  AuthMessageError,
  NONCE_BYTES,
  commitment,
  decodeAuthMessage,
  encodeAuthMessage,
  requestDigest,
  type AuthMessage,
  type AuthRequest,
  type RefusalReason
} from './messages.js'
import { checkRequestOptions, type AccountDevice, type AccountEvents, type RequestOptions } from './account-options.js'
import { AuthorisationPrompt } from './prompt.js'
import { SETTLED_FILE, SettledRequests, fresh } from './settled.js'
import { AuthorisationRequest } from './request.js'
import { DEFAULT_OTHER_ACCOUNT_SETTLE_MS, OtherAccountWatch } from './other-account.js'

const DEFAULT_TIMEOUT_MS = 5 * 60_000
const DEFAULT_RETRY_MS = 2_000
const DEFAULT_PROMPT_TIMEOUT_MS = 10 * 60_000
const DEFAULT_MAX_PENDING_PER_DEVICE = 3
const DEFAULT_MAX_OPEN_PROMPTS = 16
/**
 * Settled prompts kept in memory (to answer a re-sent request the same way: an approval again) for
 * promptTimeoutMs, at most this many; the persisted SettledRequests keep only their digests.
 */
const MAX_SETTLED_PROMPTS = 256
/** Answers from keys not (yet) in this replica's registry, kept for a re-check on the next update. */
const MAX_HELD_ANSWERS = 32
/** Requests refused here for clock skew, remembered so that `request-refused` fires once per request. */
const MAX_SKEWED_REQUESTS = 64
/** A requester refused for clock skew is told again at most this often (its re-sends come every `retryMs`). */
const SKEW_REFUSAL_INTERVAL_MS = 1_000

const hex = (bytes: Uint8Array) => b4a.toString(bytes, 'hex')
const sameName = (a: string, b: string) => a.normalize('NFKC').trim().toLowerCase() === b.normalize('NFKC').trim().toLowerCase()

/**
 * One person's database on this device, with the authorisation flow: a read-only device asks with
 * {@link Account.requestAuthorisation}; every writable device gets an `authorisation-request`
 * prompt to approve or deny. Only a current writer's answer counts (checked against the device
 * registry in the database), and the verification code is a SAS with a commitment.
 */
export class Account extends TypedEmitter<AccountEvents> {
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
  /** Keys of settled prompts → when they settled, oldest first: forgotten past MAX_SETTLED_PROMPTS or promptTimeoutMs. */
  private readonly settledKeys = new Map<string, number>()
  /** Digests of the requests settled here, in the device's storage: never shown twice, even after a restart. */
  private readonly settledRequests: SettledRequests
  /** @internal The record of settled requests read (signUp / signIn wait for it). */
  readonly loaded: Promise<void>
  /** 'too-many-requests' was emitted, and not every prompt opened since has settled yet. */
  private floodReported = false
  private readonly prompts = new Map<string, AuthorisationPrompt>()
  private readonly requests = new Map<string, AuthorisationRequest>()
  /** Challenges and denies whose signer this replica does not know as a writer yet. */
  private held: Array<{ message: AuthMessage; sender: Uint8Array; skewMs?: number }> = []
  /** Requests refused here for clock skew (digest → when the requester was last told), most recent last. */
  private readonly skewedRequests = new Map<string, number>()
  private readonly onMessage = (message: SecureMessage) => this.receive(message)
  private readonly onClockSkew = (skew: ClockSkew) => this.receiveSkewed(skew)
  private readonly onUpdate = () => this.recheck()
  private readonly onConflict = (key: Uint8Array) => this.emit('account-conflict', key)
  private readonly onWriterConflict = (key: Uint8Array) => this.emit('writer-conflict', key)
  private isClosed = false
  /** @internal Whether every peer this device reaches refuses it (another account's peers). */
  readonly otherAccount: OtherAccountWatch

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
      otherAccountSettleMs?: number
      /** The watch signIn ran during its lookup (refusals seen then still count). */
      otherAccount?: OtherAccountWatch
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
    this.settledRequests = new SettledRequests(
      {
        read: () => node.readDeviceFile(SETTLED_FILE),
        write: (bytes) => node.writeDeviceFile(SETTLED_FILE, bytes)
      },
      () => node.now()
    )
    this.loaded = this.settledRequests.load()
    this.otherAccount = options.otherAccount ?? new OtherAccountWatch(node, options.otherAccountSettleMs ?? DEFAULT_OTHER_ACCOUNT_SETTLE_MS)
    node.channel.on('message', this.onMessage)
    node.channel.on('clock-skew', this.onClockSkew)
    node.on('update', this.onUpdate)
    node.on('account-conflict', this.onConflict)
    node.on('writer-conflict', this.onWriterConflict)
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
    checkRequestOptions(options)
    const writerKey = this.node.writerKey
    if (!writerKey) throw new AuthError('ERR_INVALID_ARGUMENT', 'an always-on node cannot become a writer')
    const nonce = randomBytes(NONCE_BYTES)
    const request: AuthRequest = {
      type: 'request',
      requestId: randomBytes(16),
      nodeName: this.nodeName,
      writerKey,
      createdAt: this.node.now(),
      commitment: commitment(nonce),
      channelProof: this.node.channelProof()
    }
    const pending = new AuthorisationRequest(this, request, nonce, {
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      retryMs: options.retryMs ?? DEFAULT_RETRY_MS,
      otherAccount: this.otherAccount
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

  /**
   * Null, or why the record of settled requests (device file `auth-settled`) could not be read
   * when the account opened (`AuthError` `ERR_NODE`, the storage's error or the decoding error as
   * `cause`). It was then started empty: a request this device settled before the restart could
   * be shown again (tell the person; the request must still be approved by them).
   */
  get settledRecordError(): AuthError | null {
    const cause = this.settledRequests.loadError
    if (cause === null) return null
    return new AuthError('ERR_NODE', 'the record of settled requests could not be read: it was started empty', { cause })
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    this.node.channel.off('message', this.onMessage)
    this.node.channel.off('clock-skew', this.onClockSkew)
    this.node.off('update', this.onUpdate)
    this.node.off('account-conflict', this.onConflict)
    this.node.off('writer-conflict', this.onWriterConflict)
    for (const request of this.requests.values()) request.fail(new AuthError('ERR_CLOSED', 'the account was closed'), false)
    for (const prompt of this.prompts.values()) prompt.dispose()
    this.otherAccount.close()
    await this.loaded
    await this.settledRequests.flushed()
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
    if (!shown && prompt.status === 'expired') {
      // Never shown, its slot held only until the reveal deadline: forgotten, so its requester (slow,
      // or its reveal lost) may still reveal after a later re-send.
      this.prompts.delete(key)
    } else {
      // Kept a while to answer re-sends the same way (an approval again), and its digest for good
      // (in the storage, until the request is stale): never shown again, also after a restart.
      this.settledKeys.set(key, this.node.now())
      this.pruneSettled()
      this.settledRequests.add(prompt.digest, prompt.createdAt)
    }
    if (this.openPrompts().length === 0) this.floodReported = false
    if (shown) this.emit('authorisation-settled', prompt)
  }

  /** Forgets settled prompts older than promptTimeoutMs, and the oldest past MAX_SETTLED_PROMPTS. */
  private pruneSettled(): void {
    const old = this.node.now() - this.promptTimeoutMs
    for (const [key, at] of this.settledKeys) {
      if (at >= old && this.settledKeys.size <= MAX_SETTLED_PROMPTS) break
      this.settledKeys.delete(key)
      const prompt = this.prompts.get(key)
      if (prompt && prompt.status !== 'pending' && prompt.status !== 'awaiting-reveal') this.prompts.delete(key)
    }
  }

  private openPrompts(): AuthorisationPrompt[] {
    return [...this.prompts.values()].filter((p) => p.status === 'pending' || p.status === 'awaiting-reveal')
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
    // A refusal for clock skew that got through (the two channels accept different windows): its skew, measured here.
    const skewMs = message.type === 'refuse' && message.reason === 'clock-skew' ? envelope.timestamp - this.node.now() : undefined
    this.dispatch(message, envelope.sender, skewMs).catch(() => {}) // failures surface on the prompt or request
  }

  /**
   * An auth message the secure channel refused for its timestamp alone (authentic, for us): the
   * sender's clock and ours differ by more than it accepts. A request: refused here as
   * `clock-skew`, and the requester told. An answer to our own request: that request fails fast.
   */
  private receiveSkewed(skew: ClockSkew): void {
    if (skew.contentType !== AUTH_CONTENT_TYPE || this.isClosed) return
    let message: AuthMessage
    try {
      message = decodeAuthMessage(skew.payload)
    } catch (err) {
      if (err instanceof AuthMessageError) this.emit('bad-message', err, skew.sender)
      return
    }
    if (message.type === 'request') return this.onSkewedRequest(message, skew.sender, skew.skewMs)
    this.dispatch(message, skew.sender, skew.skewMs).catch(() => {})
  }

  private onSkewedRequest(request: AuthRequest, requester: Uint8Array, skewMs: number): void {
    // Only writers answer requests; others stay silent.
    if (!this.node.writable) return
    const digest = requestDigest(request, requester)
    const key = hex(digest)
    // Reported here once per request (a replayed old request too: it is not shown either way); the
    // requester told at most once a second, so re-sent or replayed copies cannot make this device flood.
    const now = this.node.now()
    const told = this.skewedRequests.get(key)
    if (told === undefined) {
      this.emit('request-refused', { reason: 'clock-skew', requester, nodeName: request.nodeName, skewMs })
    } else if (Math.abs(now - told) < SKEW_REFUSAL_INTERVAL_MS) {
      return
    }
    this.skewedRequests.delete(key)
    this.skewedRequests.set(key, now)
    if (this.skewedRequests.size > MAX_SKEWED_REQUESTS) this.skewedRequests.delete(this.skewedRequests.keys().next().value!)
    this.send({ type: 'refuse', requestId: request.requestId, requestDigest: digest, reason: 'clock-skew' }, requester)
  }

  /**
   * `skewMs` (the sender's clock minus ours) is given for a message the channel refused for its
   * timestamp, or a refusal for clock skew: bound to our own request, from a current writer, it
   * fails that request at once (`ERR_CLOCK_SKEW`).
   */
  private async dispatch(message: AuthMessage, sender: Uint8Array, skewMs?: number): Promise<void> {
    if (skewMs !== undefined) {
      if (message.type === 'request') return
      const request = this.requests.get(hex(message.requestDigest))
      if (!request) return
      const approver = await this.writerBehind(sender)
      if (approver) request.skewed(-skewMs, sender, approver.name)
      else this.hold(message, sender, skewMs)
      return
    }
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
      case 'refuse':
        // Only a current writer's refusal is worth telling (anyone else's would be noise).
        if (!request) return
        {
          const approver = await this.writerBehind(sender)
          if (approver) request.refused(message.reason, sender, approver.name)
        }
        return
      case 'cancel':
        // Only the requester itself can withdraw its request; an approval given already stands
        // (the prompt answers with it, so the requester's `done` resolves rather than times out).
        if (prompt && b4a.equals(sender, prompt.requester)) prompt.cancelled()
        return
      case 'approve':
        // Here, counts only once the add-writer op is in the view (checked on every update).
        if (prompt) this.recheck()
        // To the requester: a current writer approved this very request for our writer key; `done`
        // still resolves only once the op is in the view, but the request no longer times out.
        if (request && this.node.writerKey && b4a.equals(message.writerKey, this.node.writerKey)) {
          if (await this.writerBehind(sender)) request.approvedBy(sender)
          else if (!prompt) this.hold(message, sender) // a writer this replica does not know yet
        }
        return
      case 'deny':
        if (!request && !(prompt && prompt.status === 'pending')) return
        if (!(await this.writerBehind(sender))) {
          this.hold(message, sender)
          return
        }
        request?.denied(new AuthError('ERR_DENIED', `denied: ${message.reason}`))
        if (prompt) prompt.settleAs('denied-elsewhere')
    }
  }

  /** An answer whose signer may be a writer this replica does not know yet: looked at again after the next update. */
  private hold(message: AuthMessage, sender: Uint8Array, skewMs?: number): void {
    if (this.held.length < MAX_HELD_ANSWERS) this.held.push({ message, sender, skewMs })
  }

  /**
   * On every view update: prompts approved elsewhere, and held answers whose signer is now known.
   * Coalesced: a burst of updates while one check runs costs one more check, not one each. A
   * failing check (the node closing under it) is dropped.
   */
  private readonly recheck = coalesced(
    async () => {
      for (const prompt of this.pendingPrompts) {
        if (await this.node.isWriter(prompt.writerKey)) prompt.settleAs('approved-elsewhere')
      }
      const held = this.held
      this.held = []
      for (const { message, sender, skewMs } of held) await this.dispatch(message, sender, skewMs)
    },
    { stopped: () => this.isClosed }
  )

  private async onRequest(request: AuthRequest, requester: Uint8Array): Promise<void> {
    // Only writers can add writers; others stay silent.
    if (!this.node.writable) return
    await this.loaded
    const digest = requestDigest(request, requester)
    const key = hex(digest)
    this.pruneSettled()
    const existing = this.prompts.get(key)
    if (existing) {
      // A re-send: the requester is still waiting. Challenge again, approve again, or say it is settled.
      if (!existing.resent()) this.refuseRequest(request, digest, requester, 'settled')
      return
    }
    // Already a writer (approved elsewhere, its view lags): answer without bothering the person.
    if (await this.node.isWriter(request.writerKey)) {
      this.send({ type: 'approve', requestId: request.requestId, requestDigest: digest, writerKey: request.writerKey }, requester)
      return
    }
    if (this.prompts.has(key) || this.isClosed) return // a duplicate raced the await above
    // Settled here before (also before a restart): never shown twice.
    if (this.settledRequests.has(digest)) return this.refuseRequest(request, digest, requester, 'settled')
    // Older than the settled record keeps (or from far ahead): refused by its timestamp.
    if (!fresh(request.createdAt, this.node.now())) return this.refuseRequest(request, digest, requester, 'stale')
    // The registry will bind the requester's channel key to its writer key: its proof must hold.
    if (!verifyChannelProof(request.channelProof, requester, this.node.key, request.writerKey)) {
      return this.refuseRequest(request, digest, requester, 'bad-channel-proof')
    }
    const open = this.openPrompts()
    if (open.filter((p) => b4a.equals(p.requester, requester)).length >= this.maxPendingPerDevice) {
      return this.refuseRequest(request, digest, requester, 'too-many-pending')
    }
    if (open.length >= this.maxOpenPrompts) {
      this.refuseRequest(request, digest, requester, 'too-many-prompts')
      if (!this.floodReported) {
        this.floodReported = true
        this.emit('too-many-requests', { open: open.length, requesters: new Set(open.map((p) => hex(p.requester))).size })
      }
      return
    }
    const prompt = new AuthorisationPrompt(this, request, requester, digest, this.promptTimeoutMs)
    this.prompts.set(key, prompt)
    prompt.resent()
  }

  /** Not shown: tells the app here (`request-refused`) and the requester (a `refuse` message) why. */
  private refuseRequest(request: AuthRequest, digest: Uint8Array, requester: Uint8Array, reason: RefusalReason): void {
    this.emit('request-refused', { reason, requester, nodeName: request.nodeName })
    this.send({ type: 'refuse', requestId: request.requestId, requestDigest: digest, reason }, requester)
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

  /** @internal A prompt whose reveal did not open its commitment: dropped, and its request never shown. */
  refuse(prompt: AuthorisationPrompt, reason: RefusalReason): void {
    this.prompts.delete(hex(prompt.digest))
    this.settledRequests.add(prompt.digest, prompt.createdAt)
    if (this.openPrompts().length === 0) this.floodReported = false
    this.emit('request-refused', { reason, requester: prompt.requester, nodeName: prompt.nodeName })
    this.send({ type: 'refuse', requestId: prompt.requestId, requestDigest: prompt.digest, reason }, prompt.requester)
  }
}
