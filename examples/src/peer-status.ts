// native.js's view of each peer it dials (--connect, the REPL's "connect"): the client transport
// re-dials by itself with a back-off; this says so on the terminal, one line per failed attempt
// with the reason and when the next one is, a line when it connects after failing, and one when a
// connection is lost. Without it an unreachable always-on node is silent while the device waits.
import {
  ReconnectSchedule,
  resolveReconnect,
  type ConnectionInfo,
  type ReconnectOptions,
  type Transport,
  type TransportError
} from '@hypha/node-core/transport'
import { findCode } from './error-codes.js'

/**
 * native.js's re-dial schedule: the transports' default back-off (250 ms doubling to 30 s) without
 * jitter, so that the status line can say exactly when the next attempt is. Jitter spreads many
 * clients re-dialling one restarted server; one person's few devices are no such herd.
 */
export const REDIAL: ReconnectOptions = { jitter: 0 }

/** Where a dialled peer stands, for "status". */
export interface DialState {
  url: string
  state: 'dialling' | 'connected' | 'unreachable'
  /** Why the last attempt failed or the last connection ended (an errno code such as ECONNREFUSED, or the message). */
  reason: string | null
  /** When the transport dials again (ms since 1970), while not connected. */
  nextAttemptAt: number | null
  /** Failed attempts in a row. */
  failures: number
}

/**
 * Follows one client transport made with {@link REDIAL}: it keeps a copy of the transport's
 * re-dial schedule, advanced by the same events that advance the transport's (an attempt that
 * failed, a connection that ended), so the delay it prints is the one the transport sleeps.
 * Attach it before the transport starts; `close()` before stopping the transport (what stopping
 * breaks is not news).
 */
export class DialWatch {
  private readonly schedule = new ReconnectSchedule(resolveReconnect(REDIAL) as Required<ReconnectOptions>)
  private up = false
  private lostReason: string | null = null
  private closed = false
  private current: DialState

  constructor(
    transport: Transport,
    readonly url: string,
    private readonly print: (text: string) => void
  ) {
    this.current = { url, state: 'dialling', reason: null, nextAttemptAt: null, failures: 0 }
    transport.on('connection', () => this.onConnection())
    transport.on('connection-error', (err: TransportError, info: ConnectionInfo) => this.onError(err, info))
    transport.on('disconnect', () => this.onDisconnect())
  }

  get state(): DialState {
    return { ...this.current }
  }

  close(): void {
    this.closed = true
  }

  private onConnection(): void {
    this.schedule.connected()
    this.up = true
    this.lostReason = null
    const failures = this.current.failures
    this.current = { url: this.url, state: 'connected', reason: null, nextAttemptAt: null, failures: 0 }
    if (failures > 0 && !this.closed) {
      this.print(`[peer] connected to ${this.url} (after ${failures} failed ${failures === 1 ? 'attempt' : 'attempts'})`)
    }
  }

  private onError(err: TransportError, info: ConnectionInfo): void {
    if (!info.isInitiator) return
    const reason = errorReason(err)
    if (this.up) {
      this.lostReason = reason // the 'disconnect' that follows says it
      return
    }
    // An attempt that never connected: the transport sleeps schedule.next() before the next one.
    const delay = this.schedule.next()
    const at = Date.now() + delay
    this.current = { url: this.url, state: 'unreachable', reason, nextAttemptAt: at, failures: this.current.failures + 1 }
    if (!this.closed) this.print(`[peer] ${this.url} unreachable (${reason}); next attempt ${when(at, delay)}`)
  }

  private onDisconnect(): void {
    this.up = false
    const delay = this.schedule.next()
    const at = Date.now() + delay
    const reason = this.lostReason
    this.current = { url: this.url, state: 'dialling', reason, nextAttemptAt: at, failures: 0 }
    if (!this.closed) this.print(`[peer] lost ${this.url}${reason ? ` (${reason})` : ''}; next attempt ${when(at, delay)}`)
  }
}

/** One line for `status`: "tcp://…: connected" or "tcp://…: unreachable (ECONNREFUSED), 3 failed attempts; next attempt at …". */
export function describeDial(state: DialState): string {
  if (state.state === 'connected') return `${state.url}: connected`
  const failures = state.failures ? `, ${state.failures} failed ${state.failures === 1 ? 'attempt' : 'attempts'}` : ''
  const reason = state.reason ? ` (${state.reason})` : ''
  const next = state.nextAttemptAt === null ? '' : `; next attempt ${when(state.nextAttemptAt)}`
  return `${state.url}: ${state.state}${reason}${failures}${next}`
}

/** "at 12:03:05 (in 4 s)", local time; `delay` is how far off `at` is (default: from now). */
export function when(at: number, delay = at - Date.now()): string {
  const ms = Math.max(0, delay)
  const text = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`
  return `at ${new Date(at).toTimeString().slice(0, 8)} (in ${text})`
}

/** The errno code under a transport error (ECONNREFUSED, ENOTFOUND, …), else its message. */
export function errorReason(err: Error): string {
  return findCode(err, (code) => /^E[A-Z0-9]+$/.test(code)) ?? err.message
}
