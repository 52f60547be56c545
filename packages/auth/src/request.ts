/** This device's request to become a writer, and the codes approving devices give it. */
import { TypedEmitter } from '@hypha/node-core'
import b4a from 'b4a'
import type { Account } from './account.js'
import { AuthError } from './errors.js'
import { type OtherAccountWatch, otherAccountError } from './other-account.js'
import { requestDigest, verificationCode, type AuthChallenge, type AuthRequest, type AuthReveal, type RefusalReason } from './messages.js'

const hex = (bytes: Uint8Array) => b4a.toString(bytes, 'hex')

/**
 * Refused as `too-many-prompts` (the approver's open prompts are at its cap: many devices ask at
 * once), the request is sent again after about this long (ms, ±50 % jitter), doubling per such
 * refusal up to `retryMs`: slots free as the person answers, and a burst of genuine devices then
 * gets in without waiting a whole retry interval. The approver's cap itself is unchanged.
 */
const BUSY_RESEND_MS = 250

/** One approving device's code, as the requesting device shows it. */
export interface ApproverCode {
  /** The approving device's name, from the registry. */
  approverName: string
  /** Its channel key. */
  approver: Uint8Array
  code: string
}

/** An approving device did not show this request, and why (see README `request-refused`). */
export interface ApproverRefusal {
  approverName: string
  approver: Uint8Array
  reason: RefusalReason
}

/**
 * Where a request stands (`request.state`). While `done` is open: `waiting` (asking), `in-doubt`
 * (its timeout passed while no peer was connected, after a peer had heard it: a writer may have
 * approved meanwhile, so it waits to reconnect and ask), `confirming` (its timeout passed: it sent
 * its cancel and, for `CONFIRM_MS`, listens for a writer that approved before the cancel came),
 * `approved` (a current writer said it approved: `done` resolves once the add-writer op has
 * replicated here; no timeout any more). Once `done` settled: `writable` (resolved), `denied`,
 * `timed-out`, `cancelled`, `closed`, `other-account` (rejected with that code).
 */
export type RequestState =
  | 'waiting'
  | 'in-doubt'
  | 'confirming'
  | 'approved'
  | 'writable'
  | 'denied'
  | 'timed-out'
  | 'cancelled'
  | 'closed'
  | 'other-account'
  | 'clock-skew'

/** After a timeout, how long a request listens for an approval that crossed its cancel (ms). */
export const CONFIRM_MS = 2_000

/** Events of an `AuthorisationRequest`: codes, refusals, approval, being in doubt. */
export interface AuthorisationRequestEvents {
  /** An approving device (a current writer) sent its challenge: show its name and this code. */
  code: [code: ApproverCode]
  /**
   * An approving device (a current writer) did not show the request. The request keeps waiting
   * and re-sending: `too-many-prompts` / `too-many-pending` may clear; `settled` and `stale` will
   * not on that device (make a new request).
   */
  refused: [refusal: ApproverRefusal]
  /**
   * The timeout passed while this device had no peer, after one had heard the request: a writer
   * may have approved meanwhile. `done` stays open until a peer is back (then the request confirms,
   * see `state`), or `cancel()` / `close()`.
   */
  'in-doubt': []
  /** A current writer approved (`approver`, its channel key): `done` resolves once the add-writer op is here. */
  approved: [approver: Uint8Array]
}

const SETTLED_STATE: Record<string, RequestState> = {
  ERR_DENIED: 'denied',
  ERR_TIMEOUT: 'timed-out',
  ERR_CANCELLED: 'cancelled',
  ERR_CLOSED: 'closed',
  ERR_OTHER_ACCOUNT: 'other-account',
  ERR_CLOCK_SKEW: 'clock-skew'
}

/** This device's pending request to become a writer. */
export class AuthorisationRequest extends TypedEmitter<AuthorisationRequestEvents> {
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
  private current: RequestState = 'waiting'
  /** A peer had the channel open while the request was being sent: someone may have it. */
  private heard = false
  private retry: ReturnType<typeof setInterval> | null = null
  private timeout: ReturnType<typeof setTimeout> | null = null
  private confirmTimer: ReturnType<typeof setTimeout> | null = null
  /** The early re-send after a `too-many-prompts` refusal, and the delay of the next one. */
  private busyTimer: ReturnType<typeof setTimeout> | null = null
  private busyDelayMs = BUSY_RESEND_MS
  private readonly retryMs: number
  private stopWatch: () => void = () => {}
  private readonly timeoutMs: number
  private readonly onWritable = () => this.checkWritable()
  private readonly onPeerOpen = () => this.peerOpened()

  /** @internal */
  constructor(
    private readonly account: Account,
    private readonly request: AuthRequest,
    private readonly nonce: Uint8Array,
    options: { timeoutMs: number; retryMs: number; otherAccount: OtherAccountWatch }
  ) {
    super()
    this.requestId = request.requestId
    this.timeoutMs = options.timeoutMs
    this.retryMs = options.retryMs
    this.digest = requestDigest(request, account.node.channel.publicKey!)
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.done.catch(() => {}) // the caller may only ever look at the codes; no unhandled rejection
    account.node.on('writable', this.onWritable)
    account.node.on('update', this.onWritable)
    if (this.checkWritable()) return
    this.timeout = setTimeout(() => this.expire(), options.timeoutMs)
    this.retry = setInterval(() => this.send(), options.retryMs)
    account.node.ephemeral.on('peer-open', this.onPeerOpen)
    // Every peer it reaches refuses it (another account's), and none heard the request: say so now.
    this.stopWatch = options.otherAccount.watch(() => {
      if (this.current === 'waiting' && !this.heard) this.fail(otherAccountError(), false)
    })
    this.send()
  }

  /** Where the request stands: see {@link RequestState}. */
  get state(): RequestState {
    return this.current
  }

  /** The first approving device's code, or null until one challenged (see `codes` and the `code` event). */
  get code(): string | null {
    return this.codes[0]?.code ?? null
  }

  /**
   * Withdraws the request: prompts close on the other devices; `done` rejects with ERR_CANCELLED.
   * An approval already given stands (state `approved`: nothing is sent, and the node still
   * becomes writable once the add-writer op is here).
   */
  cancel(): void {
    this.fail(new AuthError('ERR_CANCELLED', 'the request was cancelled'), this.current !== 'approved')
  }

  /** @internal A current writer's challenge: reveal our nonce to it; the first one per approver counts. */
  async challenged(message: AuthChallenge, approver: Uint8Array): Promise<void> {
    if (this.isSettled) return
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

  /** @internal A current writer's refusal. */
  refused(reason: RefusalReason, approver: Uint8Array, approverName: string): void {
    if (this.isSettled) return
    if (reason === 'too-many-prompts') this.resendSoon()
    this.emit('refused', { approverName, approver, reason })
  }

  /**
   * @internal An approving device (a current writer) refused us for the clocks' difference
   * (`skewMs`: our clock minus its). Fails the request at once unless another device has
   * challenged already (its clock is fine: keep waiting for the person there).
   */
  skewed(skewMs: number, approver: Uint8Array, approverName: string): void {
    if (this.isSettled || this.current === 'approved') return
    if (this.codes.length > 0) return this.refused('clock-skew', approver, approverName)
    const minutes = Math.round(Math.abs(skewMs) / 60_000)
    const way = skewMs > 0 ? 'ahead of' : 'behind'
    this.fail(
      new AuthError(
        'ERR_CLOCK_SKEW',
        `this device's clock is about ${minutes} min ${way} that of ${approverName || 'the approving device'}: set the clock right and ask again`,
        { skewMs }
      ),
      true
    )
  }

  /** @internal A current writer's approval (also its answer to our cancel when it had approved before). */
  approvedBy(approver: Uint8Array): void {
    if (this.isSettled || this.current === 'approved') return
    this.current = 'approved'
    this.stopTimers()
    if (this.checkWritable()) return
    this.emit('approved', approver)
  }

  /** @internal A current writer's denial: the request's end, unless another writer approved already. */
  denied(error: AuthError): void {
    if (this.current === 'approved') return
    this.fail(error, false)
  }

  /**
   * @internal The timeout passed. Connected: send the cancel and confirm (see CONFIRM_MS). Never
   * heard by a peer: nobody could have approved it, ERR_TIMEOUT now. Heard, but no peer now:
   * in doubt until one is back.
   */
  expire(): void {
    if (this.current !== 'waiting') return
    if (this.timeout) clearTimeout(this.timeout)
    this.timeout = null
    if (this.connected) return this.confirm()
    if (!this.heard) return this.fail(this.timedOut(), false)
    this.inDoubt()
  }

  private inDoubt(): void {
    this.current = 'in-doubt'
    if (this.retry) clearInterval(this.retry)
    this.retry = null
    this.emit('in-doubt')
  }

  /** @internal */
  fail(error: AuthError, announce: boolean): void {
    if (this.isSettled) return
    // A cancel goes to the peers connected now (there is no one to send it to otherwise).
    if (announce && this.connected) this.sendCancel()
    this.finish(SETTLED_STATE[error.code] ?? 'closed')
    this.reject(error)
  }

  private timedOut(): AuthError {
    return new AuthError('ERR_TIMEOUT', `no answer within ${this.timeoutMs} ms`)
  }

  private get isSettled(): boolean {
    return SETTLED_STATE_SET.has(this.current)
  }

  private get connected(): boolean {
    return this.account.node.ephemeral.peers.length > 0
  }

  private send(): void {
    if (this.connected) this.heard = true
    this.account.send(this.request)
  }

  private resendSoon(): void {
    if (this.busyTimer || this.current !== 'waiting') return
    const ms = this.busyDelayMs * (0.5 + Math.random())
    this.busyDelayMs = Math.min(this.busyDelayMs * 2, this.retryMs)
    this.busyTimer = setTimeout(() => {
      this.busyTimer = null
      if (this.current === 'waiting') this.send()
    }, ms)
  }

  private sendCancel(): void {
    this.account.send({ type: 'cancel', requestId: this.requestId, requestDigest: this.digest })
  }

  private peerOpened(): void {
    // A new connection may lead to an approver: send at once rather than at the next retry.
    if (this.current === 'waiting') this.send()
    else if (this.current === 'in-doubt') this.confirm()
    else if (this.current === 'confirming') this.sendCancel()
  }

  /** Cancels, and listens CONFIRM_MS for an approval that came first (an approver answers a late cancel with it). */
  private confirm(): void {
    this.current = 'confirming'
    if (this.retry) clearInterval(this.retry)
    this.retry = null
    this.sendCancel()
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = null
      if (this.current !== 'confirming') return
      // Gone to sleep again meanwhile: the answer may be on its way; in doubt until a peer is back.
      if (!this.connected) return this.inDoubt()
      this.fail(this.timedOut(), false)
    }, CONFIRM_MS)
  }

  private checkWritable(): boolean {
    if (this.isSettled || !this.account.node.writable) return false
    this.finish('writable')
    this.resolve()
    return true
  }

  private stopTimers(): void {
    if (this.retry) clearInterval(this.retry)
    if (this.timeout) clearTimeout(this.timeout)
    if (this.confirmTimer) clearTimeout(this.confirmTimer)
    if (this.busyTimer) clearTimeout(this.busyTimer)
    this.retry = this.timeout = this.confirmTimer = this.busyTimer = null
  }

  private finish(state: RequestState): void {
    this.current = state
    this.stopTimers()
    this.stopWatch()
    this.account.node.off('writable', this.onWritable)
    this.account.node.off('update', this.onWritable)
    this.account.node.ephemeral.off('peer-open', this.onPeerOpen)
  }
}

const SETTLED_STATE_SET = new Set<RequestState>(['writable', ...Object.values(SETTLED_STATE)])

