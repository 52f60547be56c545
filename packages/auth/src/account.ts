import { EventEmitter } from 'events'
import b4a from 'b4a'
import {
  HyphaNode,
  deriveRootSecret,
  generatePassphrase,
  type KdfParams,
  type StorageAdapter,
  type Transport,
  type Writer
} from '@hypha/node-core'
import { randomBytes, type SecureMessage } from '@hypha/secure-channel'
import { AuthError } from './errors.js'
import {
  AUTH_CONTENT_TYPE,
  AuthMessageError,
  decodeAuthMessage,
  encodeAuthMessage,
  requestDigest,
  verificationCode,
  type AuthMessage,
  type AuthRequest
} from './messages.js'

export interface AccountOptions {
  /** The person's name or domain: the salt of the key derivation, the same on every node. */
  name: string
  /** This device's name, shown in prompts: "Firefox on Ubuntu 64-bit". Derives its writer key. */
  nodeName: string
  storage?: StorageAdapter
  transports?: Transport[]
  /** Argon2id cost; lower it only in tests. Default: @hypha/node-core's DEFAULT_KDF_PARAMS. */
  kdf?: Partial<KdfParams>
  /** How long a prompt stays open without an answer or a re-sent request. Default 10 minutes. */
  promptTimeoutMs?: number
  /**
   * Most prompts one requesting device may have open at once here; its further requests are
   * refused (`request-refused`), so a device that has the passphrase cannot flood the person.
   * Default 3.
   */
  maxPendingPerDevice?: number
}

export interface SignUpOptions extends AccountOptions {
  /** Leave out to get a generated diceware-style passphrase in `account.passphrase`. */
  passphrase?: string
}

export interface SignInOptions extends AccountOptions {
  passphrase: string
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

export interface AccountEvents {
  /** On a writable node: a device asks to be authorised. Show `prompt.nodeName` and `prompt.code`. */
  'authorisation-request': [prompt: AuthorisationPrompt]
  /** A prompt left `pending`: answered here or on another node, cancelled, or expired. */
  'authorisation-settled': [prompt: AuthorisationPrompt]
  /** An auth message that could not be decoded was dropped. */
  'bad-message': [error: AuthMessageError, sender: Uint8Array]
  /** A request was not shown: its device already has `maxPendingPerDevice` prompts open. */
  'request-refused': [refusal: { reason: 'too-many-pending'; requester: Uint8Array; nodeName: string }]
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000
const DEFAULT_RETRY_MS = 2_000
const DEFAULT_PROMPT_TIMEOUT_MS = 10 * 60_000
const DEFAULT_MAX_PENDING_PER_DEVICE = 3

const hex = (bytes: Uint8Array) => b4a.toString(bytes, 'hex')

/**
 * One person's database on this device, with the authorisation flow: a read-only device asks with
 * {@link Account.requestAuthorisation}; every writable device gets an `authorisation-request`
 * prompt to approve or deny.
 */
export class Account extends EventEmitter<AccountEvents> {
  readonly node: HyphaNode
  /** The generated passphrase after a sign-up without one (show it once, for safe keeping); else null. */
  readonly passphrase: string | null
  private readonly promptTimeoutMs: number
  private readonly maxPendingPerDevice: number
  private readonly prompts = new Map<string, AuthorisationPrompt>()
  private readonly requests = new Map<string, AuthorisationRequest>()
  private readonly onMessage = (message: SecureMessage) => this.receive(message)
  private isClosed = false

  /** This device's name, sent in its requests. */
  readonly nodeName: string

  /** Use {@link signUp} or {@link signIn}. */
  constructor(
    node: HyphaNode,
    options: { nodeName: string; passphrase?: string | null; promptTimeoutMs?: number; maxPendingPerDevice?: number }
  ) {
    super()
    this.node = node
    this.nodeName = options.nodeName
    this.passphrase = options.passphrase ?? null
    this.promptTimeoutMs = options.promptTimeoutMs ?? DEFAULT_PROMPT_TIMEOUT_MS
    this.maxPendingPerDevice = options.maxPendingPerDevice ?? DEFAULT_MAX_PENDING_PER_DEVICE
    node.channel.on('message', this.onMessage)
  }

  get writable(): boolean {
    return this.node.writable
  }

  /** Prompts still waiting for an answer on this device. */
  get pendingPrompts(): AuthorisationPrompt[] {
    return [...this.prompts.values()].filter((p) => p.status === 'pending')
  }

  /**
   * Asks the person's writable devices to make this one a writer. Resolves (`request.done`) once
   * this node really is writable; rejects with AuthError ERR_DENIED, ERR_TIMEOUT or ERR_CANCELLED.
   */
  requestAuthorisation(options: RequestOptions = {}): AuthorisationRequest {
    this.checkOpen()
    const writerKey = this.node.writerKey
    if (!writerKey) throw new AuthError('ERR_INVALID_ARGUMENT', 'an always-on node cannot become a writer')
    const request: AuthRequest = {
      type: 'request',
      requestId: randomBytes(16),
      nodeName: this.nodeName,
      writerKey,
      createdAt: Date.now()
    }
    const pending = new AuthorisationRequest(this, request, {
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

  /** Takes a device's write access away; its later writes are not applied. */
  async revoke(writerKey: Uint8Array): Promise<void> {
    this.checkOpen()
    if (!this.node.writable) throw new AuthError('ERR_NOT_WRITABLE', 'only a writable node can revoke')
    await this.node.removeWriter(writerKey)
  }

  writers(): Promise<Writer[]> {
    return this.node.writers()
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    this.node.channel.off('message', this.onMessage)
    for (const request of this.requests.values()) request.fail(new AuthError('ERR_CLOSED', 'the account was closed'), false)
    for (const prompt of this.prompts.values()) prompt.dispose()
    await this.node.close()
  }

  /** @internal */
  send(message: AuthMessage, to?: Uint8Array): void {
    if (this.isClosed) return
    this.node.channel.send(encodeAuthMessage(message), { contentType: AUTH_CONTENT_TYPE, to })
  }

  /** @internal */
  settle(prompt: AuthorisationPrompt): void {
    this.emit('authorisation-settled', prompt)
  }

  /** @internal */
  get closed(): boolean {
    return this.isClosed
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
    if (message.type === 'request') {
      this.onRequest(message, envelope.sender).catch(() => {}) // failures surface on the prompt
      return
    }
    const key = hex(message.requestDigest)
    // Answers to our own request.
    this.requests.get(key)?.answer(message)
    // Answers seen by other approvers, and the requester's cancel.
    const prompt = this.prompts.get(key)
    if (!prompt || prompt.status !== 'pending') return
    if (message.type === 'approve') prompt.settleAs('approved-elsewhere')
    else if (message.type === 'deny') prompt.settleAs('denied-elsewhere')
    else if (message.type === 'cancel' && b4a.equals(envelope.sender, prompt.requester)) prompt.settleAs('cancelled')
  }

  private async onRequest(request: AuthRequest, requester: Uint8Array): Promise<void> {
    // Only writers can add writers; others stay silent.
    if (!this.node.writable) return
    const digest = requestDigest(request, requester)
    const key = hex(digest)
    const existing = this.prompts.get(key)
    if (existing) {
      existing.refresh() // a re-send: the requester is still waiting
      if (existing.status === 'approved') this.send(existing.approval(), requester)
      return
    }
    // Already a writer (approved elsewhere, its view lags): answer without bothering the person.
    if (await this.node.isWriter(request.writerKey)) {
      this.send({ type: 'approve', requestId: request.requestId, requestDigest: digest, writerKey: request.writerKey })
      return
    }
    if (this.prompts.has(key) || this.isClosed) return // a duplicate raced the await above
    const open = this.pendingPrompts.filter((p) => b4a.equals(p.requester, requester)).length
    if (open >= this.maxPendingPerDevice) {
      this.emit('request-refused', { reason: 'too-many-pending', requester, nodeName: request.nodeName })
      return
    }
    const prompt = new AuthorisationPrompt(this, request, requester, digest, this.promptTimeoutMs)
    this.prompts.set(key, prompt)
    this.emit('authorisation-request', prompt)
  }
}

/** A prompt on a writable device: "Authorise node *name*?" */
export class AuthorisationPrompt {
  readonly nodeName: string
  /** Six digits the requesting device shows too: they must match. */
  readonly code: string
  /** The writer key approving adds. */
  readonly writerKey: Uint8Array
  /** The requesting node's public key (it signed the request). */
  readonly requester: Uint8Array
  readonly requestId: Uint8Array
  /** The requesting device's clock when it made the request. */
  readonly createdAt: number
  readonly receivedAt = Date.now()
  private state: PromptStatus = 'pending'
  private timer: ReturnType<typeof setTimeout> | null = null

  /** @internal */
  constructor(
    private readonly account: Account,
    request: AuthRequest,
    requester: Uint8Array,
    private readonly digest: Uint8Array,
    private readonly timeoutMs: number
  ) {
    this.nodeName = request.nodeName
    this.writerKey = request.writerKey
    this.requestId = request.requestId
    this.createdAt = request.createdAt
    this.requester = requester
    this.code = verificationCode(digest)
    this.refresh()
  }

  get status(): PromptStatus {
    return this.state
  }

  /** Adds the writer; resolves once the add-writer op is in the database. */
  async approve(): Promise<void> {
    this.checkPending()
    if (!this.account.node.writable) throw new AuthError('ERR_NOT_WRITABLE', 'this node is no longer a writer')
    this.settleAs('approved')
    await this.account.node.addWriter(this.writerKey)
    this.account.send(this.approval())
  }

  /** Refuses the request; the requesting device's promise rejects with ERR_DENIED. */
  deny(reason = 'denied'): void {
    this.checkPending()
    this.settleAs('denied')
    this.account.send({ type: 'deny', requestId: this.requestId, requestDigest: this.digest, reason })
  }

  /** @internal */
  approval(): AuthMessage {
    return { type: 'approve', requestId: this.requestId, requestDigest: this.digest, writerKey: this.writerKey }
  }

  /** @internal */
  refresh(): void {
    if (this.state !== 'pending' || this.account.closed) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.settleAs('expired'), this.timeoutMs)
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  /** @internal */
  settleAs(status: Exclude<PromptStatus, 'pending'>): void {
    if (this.state !== 'pending') return
    this.state = status
    this.dispose()
    this.account.settle(this)
  }

  /** @internal */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private checkPending(): void {
    if (this.state !== 'pending') throw new AuthError('ERR_ALREADY_SETTLED', `the request is already ${this.state}`)
  }
}

/** This device's pending request to become a writer. */
export class AuthorisationRequest {
  /** Show this to the person: the prompt on their other device shows the same six digits. */
  readonly code: string
  readonly requestId: Uint8Array
  /** Resolves once this node is writable; rejects with an AuthError. */
  readonly done: Promise<void>
  /** @internal */ readonly digest: Uint8Array
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
    options: { timeoutMs: number; retryMs: number }
  ) {
    this.requestId = request.requestId
    this.digest = requestDigest(request, account.node.channel.publicKey!)
    this.code = verificationCode(this.digest)
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.done.catch(() => {}) // the caller may only ever look at `code`; no unhandled rejection
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

  /** Withdraws the request: prompts close on the other devices; `done` rejects with ERR_CANCELLED. */
  cancel(): void {
    this.fail(new AuthError('ERR_CANCELLED', 'the request was cancelled'), true)
  }

  /** @internal */
  answer(message: AuthMessage): void {
    if (message.type === 'deny') {
      this.fail(new AuthError('ERR_DENIED', `denied: ${message.reason}`), false)
    }
    // An approval only says the op was written: `done` waits until it has replicated here.
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

/** Creates the origin node of a new database. */
export async function signUp(options: SignUpOptions): Promise<Account> {
  const passphrase = options.passphrase ?? generatePassphrase()
  return open('origin', { ...options, passphrase }, options.passphrase === undefined ? passphrase : null)
}

/**
 * Opens the person's database on another device, read-only until another device approves it
 * (see {@link Account.requestAuthorisation}). A device that was authorised before under the same
 * name is a writer again at once.
 */
export async function signIn(options: SignInOptions): Promise<Account> {
  if (typeof options.passphrase !== 'string' || options.passphrase.length === 0) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'signIn needs the passphrase')
  }
  return open('read-only', options, null)
}

async function open(role: 'origin' | 'read-only', options: SignInOptions, generated: string | null): Promise<Account> {
  if (typeof options.name !== 'string' || options.name.length === 0) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'name (the person’s name or domain) is required')
  }
  if (typeof options.nodeName !== 'string' || options.nodeName.length === 0) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'nodeName (this device’s name) is required')
  }
  const rootSecret = await deriveRootSecret(options.passphrase, options.name, options.kdf)
  const node = new HyphaNode({
    role,
    rootSecret,
    name: options.nodeName,
    storage: options.storage,
    transports: options.transports
  })
  await node.ready()
  return new Account(node, {
    nodeName: options.nodeName,
    passphrase: generated,
    promptTimeoutMs: options.promptTimeoutMs,
    maxPendingPerDevice: options.maxPendingPerDevice
  })
}
