/** This device's request to become a writer, and the codes approving devices give it. */
import { EventEmitter } from 'events'
import b4a from 'b4a'
import type { Account } from './account.js'
import { AuthError } from './errors.js'
import { requestDigest, verificationCode, type AuthChallenge, type AuthRequest, type AuthReveal, type RefusalReason } from './messages.js'

const hex = (bytes: Uint8Array) => b4a.toString(bytes, 'hex')

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

export interface AuthorisationRequestEvents {
  /** An approving device (a current writer) sent its challenge: show its name and this code. */
  code: [code: ApproverCode]
  /**
   * An approving device (a current writer) did not show the request. The request keeps waiting
   * and re-sending: `too-many-prompts` / `too-many-pending` may clear; `settled` and `stale` will
   * not on that device (make a new request).
   */
  refused: [refusal: ApproverRefusal]
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

  /** @internal A current writer's refusal. */
  refused(reason: RefusalReason, approver: Uint8Array, approverName: string): void {
    if (this.settled) return
    this.emit('refused', { approverName, approver, reason })
  }

  /**
   * @internal An approving device (a current writer) refused us for the clocks' difference
   * (`skewMs`: our clock minus its). Fails the request at once unless another device has
   * challenged already (its clock is fine: keep waiting for the person there).
   */
  skewed(skewMs: number, approver: Uint8Array, approverName: string): void {
    if (this.settled) return
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

