/**
 * Whether every peer this device reached refused it as not a member: the peers at the addresses
 * it dials belong to another account, so the passphrase or the name is (most likely) wrong. The
 * membership gate (node-core member-gate.ts) refuses a connection between two accounts at once on
 * both sides; this device sees it as `peer-refused` `ERR_NOT_A_MEMBER`.
 *
 * The rule (README "Another account's peers"): a connection this device dialled was refused as
 * not a member, and `settleMs` after the first such refusal no connection has passed the gate (no
 * member peer). Refusals of connections others dialled to this device do not count: a stranger may
 * dial anyone. A member connection ends the streak; the next refusal starts a new one.
 */
import type { HyphaNode, HyphaNodeError } from '@hypha/node-core'
import { AuthError } from './errors.js'

/** How long after the first refusal a member peer may still come before it is decided. */
export const DEFAULT_OTHER_ACCOUNT_SETTLE_MS = 2_000

export const OTHER_ACCOUNT_MESSAGE =
  "the peers at this address belong to another account: check the passphrase and name (or, if they are yours, that the always-on node there was given this account's member credential)"

export function otherAccountError(): AuthError {
  return new AuthError('ERR_OTHER_ACCOUNT', OTHER_ACCOUNT_MESSAGE)
}

export class OtherAccountWatch {
  /** When the current streak of refusals (with no member peer) began, or null. */
  private streakStart: number | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private readonly listeners = new Set<() => void>()
  private closed = false
  private readonly onRefused = (error: HyphaNodeError, info: { isInitiator: boolean }) => {
    if (error.code !== 'ERR_NOT_A_MEMBER' || !info.isInitiator || this.closed) return
    if (this.node.memberPeerCount > 0) return
    if (this.streakStart === null) {
      this.streakStart = Date.now()
      this.arm(this.settleMs)
    }
  }
  private readonly onConnection = () => this.reset()

  constructor(
    private readonly node: HyphaNode,
    private readonly settleMs: number
  ) {
    node.on('peer-refused', this.onRefused)
    node.on('connection', this.onConnection)
  }

  /** True when the rule holds now. */
  get refusedOnly(): boolean {
    if (this.closed || this.streakStart === null) return false
    if (this.node.memberPeerCount > 0) {
      this.reset()
      return false
    }
    return Date.now() - this.streakStart >= this.settleMs
  }

  /** Calls `listener` once the rule holds (on a later tick if it holds already); returns the unsubscribe. */
  watch(listener: () => void): () => void {
    const once = () => {
      this.listeners.delete(once)
      listener()
    }
    this.listeners.add(once)
    if (this.refusedOnly) queueMicrotask(() => this.listeners.has(once) && once())
    return () => this.listeners.delete(once)
  }

  close(): void {
    this.closed = true
    this.reset()
    this.listeners.clear()
    this.node.off('peer-refused', this.onRefused)
    this.node.off('connection', this.onConnection)
  }

  private reset(): void {
    this.streakStart = null
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private arm(ms: number): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.check(), ms)
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  private check(): void {
    this.timer = null
    if (this.streakStart === null || this.closed) return
    const wait = this.streakStart + this.settleMs - Date.now()
    if (wait > 0) return this.arm(wait)
    if (!this.refusedOnly) return
    for (const listener of [...this.listeners]) listener()
  }
}
