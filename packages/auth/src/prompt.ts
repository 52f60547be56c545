/** A prompt on a writable device: "Authorise node *name*?" with its code and warnings. */
import b4a from 'b4a'
import { randomBytes } from '@hypha/secure-channel'
import { isWellFormed, type Device } from '@hypha/node-core'
import type { Account } from './account.js'
import { AuthError, wrapError } from './errors.js'
import { MAX_REASON_BYTES, NONCE_BYTES, commitment, verificationCode, type AuthChallenge, type AuthMessage, type AuthRequest, type AuthReveal } from './messages.js'

/** How long a request may take to reveal its nonce before its slot is freed (at most the prompt timeout). */
const REVEAL_TIMEOUT_MS = 30_000

/** Where a prompt stands: `pending`, or how it settled. */
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
  /** approve() wrote the add-writer op (and sent the approval). */
  private approvalWritten = false

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
    this.approvalWritten = true
    this.account.send(this.approval(), this.requester)
  }

  /**
   * @internal The requester withdrew its request (its timeout, or `cancel()`). Still open: settled
   * as `cancelled`. Approved already: the approval stands and is sent again, so the requester
   * learns it (approve() sends it itself once its op is written, if that is still under way).
   */
  cancelled(): void {
    if (this.state === 'approved') {
      if (this.approvalWritten) this.account.send(this.approval(), this.requester)
      return
    }
    if (this.state === 'approved-elsewhere') {
      this.account.send(this.approval(), this.requester)
      return
    }
    this.settleAs('cancelled')
  }

  /**
   * Refuses the request; the requesting device's promise rejects with ERR_DENIED. Throws
   * ERR_INVALID_ARGUMENT, settling nothing, for a `reason` that could not be sent: not a string,
   * not well-formed text (a lone surrogate) or over MAX_REASON_BYTES UTF-8 bytes.
   */
  deny(reason = 'denied'): void {
    checkReason(reason)
    this.checkPending()
    this.settleAs('denied')
    this.account.send({ type: 'deny', requestId: this.requestId, requestDigest: this.digest, reason })
  }

  /**
   * @internal The request came (again): send our challenge, or the approval we gave. False when
   * it settled otherwise (denied, cancelled, expired): nothing to send but a refusal.
   */
  resent(): boolean {
    if (this.state === 'awaiting-reveal' || this.state === 'pending') {
      this.account.send(this.challenge(), this.requester)
      this.refresh()
      return true
    }
    if (this.state === 'approved' || this.state === 'approved-elsewhere') {
      this.account.send(this.approval(), this.requester)
      return true
    }
    return false
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
    this.dispose() // the reveal deadline: now open for the prompt timeout
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

  /**
   * @internal Shown: open for `timeoutMs` from the last re-send. Awaiting its reveal: for
   * `min(timeoutMs, 30 s)` from the first request, however often it is re-sent, so requests that
   * never reveal (a flood) hold their slots briefly.
   */
  refresh(): void {
    if ((this.state !== 'pending' && this.state !== 'awaiting-reveal') || this.account.closed) return
    if (this.state === 'awaiting-reveal' && this.timer) return
    if (this.timer) clearTimeout(this.timer)
    const ms = this.state === 'pending' ? this.timeoutMs : Math.min(this.timeoutMs, REVEAL_TIMEOUT_MS)
    this.timer = setTimeout(() => this.settleAs('expired'), ms)
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

const utf8 = new TextEncoder()

function checkReason(reason: unknown): void {
  if (typeof reason !== 'string' || !isWellFormed(reason) || utf8.encode(reason).byteLength > MAX_REASON_BYTES) {
    throw new AuthError(
      'ERR_INVALID_ARGUMENT',
      `reason must be well-formed text (no lone surrogates) of at most ${MAX_REASON_BYTES} UTF-8 bytes`
    )
  }
}
