// Shared helpers of the command-line examples (always-on.ts, native.ts): argument checking with
// one-line messages naming the option, expected failures (a port or folder in use) said as what
// to do, runMain and --verbose, connect URLs, key formatting, the test-only fast KDF switch.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import b4a from 'b4a'
import { WebSocket } from 'ws'
import { webSocketClient } from '@hypha/transport-websocket'
import { type Transport } from '@hypha/node-core'
import { type KdfParams } from '@hypha/auth'
import { tcpClient } from '@hypha/transport-tcp'
import { findCode } from './error-codes.js'
import { REDIAL } from './peer-status.js'

/** A bad command line: the program prints one line naming the option at fault and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  readonly code = 'ERR_USAGE'
}

export const EXIT_USAGE = 2

/**
 * An expected failure the person can act on (a port in use, a folder in use, wrong passphrase,
 * account exists, …): one line saying what happened and what to do, exit code 1. `cause` is what
 * went wrong underneath, printed (with the stacks) only with --verbose.
 */
export class Failure extends Error {
  override readonly name = 'Failure'
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown }
  ) {
    super(message, options)
  }
}

type Options = NonNullable<ParseArgsConfig['options']>

/**
 * node:util parseArgs, strict, except that every mistake becomes a UsageError naming the option
 * at fault in our words (Node's own messages advise about `--`, which is no help here).
 */
export function parseCommandLine<T extends Options>(
  argv: string[],
  options: T,
  allowPositionals = false
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>> {
  // A lenient pass first, for the tokens: which option, with or without a value.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true })
  for (const token of tokens) {
    if (token.kind === 'positional' && !allowPositionals) throw new UsageError(`unexpected argument "${token.value}"`)
    if (token.kind !== 'option') continue
    const known = Object.hasOwn(options, token.name) ? options[token.name] : undefined
    if (!known) {
      const guess = closest(token.name, Object.keys(options))
      throw new UsageError(`unknown option ${token.rawName}${guess ? `; did you mean --${guess}?` : ''}`)
    }
    if (known.type === 'boolean' && token.inlineValue) throw new UsageError(`${token.rawName} takes no value`)
    if (known.type === 'string') {
      // strict parseArgs refuses `--a --b` as ambiguous; say which option lacks its value.
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) {
        throw new UsageError(`${token.rawName} needs a value${token.value === undefined ? '' : ` (for one starting with "-", write ${token.rawName}=${token.value})`}`)
      }
    }
  }
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals })
  } catch (err) {
    // Not reached for the mistakes above; the first sentence of Node's message otherwise.
    throw new UsageError((err as Error).message.split('. ')[0]!)
  }
}

/** The option `name` is most likely a typo of (at most 2 edits away), if any. */
function closest(name: string, names: string[]): string | null {
  let best: string | null = null
  let bestDistance = 3
  for (const candidate of names) {
    const d = editDistance(name, candidate)
    if (d < bestDistance) [best, bestDistance] = [candidate, d]
  }
  return best
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = row
  }
  return previous[b.length]!
}

/** A TCP port: an integer 0..65535 (0 = any free port). */
export function parsePort(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`${option} must be a port number from 0 to 65535 (0 picks a free one), not "${value}"`)
  }
  return Number(value)
}

/** A 32-byte key as 64 hex characters. */
export function parseKey(value: string | undefined, option: string): Uint8Array {
  if (value === undefined) throw new UsageError(`${option} is required`)
  if (!/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new UsageError(`${option} must be 64 hex characters (a 32-byte key), not "${value}"`)
  }
  return b4a.from(value.toLowerCase(), 'hex')
}

/**
 * Hex characters of a member credential (version ‖ topic ‖ database key ‖ proof ‖ member key, see
 * @hypha/node-core's lookup.ts): what `account.locator` / `node.memberCredential` give.
 */
export const LOCATOR_HEX_LENGTH = 258

/** An account's member credential (`account.locator`): 258 hex characters, returned lower-case. */
export function parseLocator(value: string, option: string): string {
  if (!new RegExp(`^[0-9a-fA-F]{${LOCATOR_HEX_LENGTH}}$`).test(value)) {
    const shown = value.length > 20 ? `${value.slice(0, 20)}… (${value.length} characters)` : `"${value}"`
    throw new UsageError(`${option} must be ${LOCATOR_HEX_LENGTH} hex characters (the account's member credential), not ${shown}`)
  }
  return value.toLowerCase()
}

export function requireText(value: string | undefined, option: string): string {
  if (value === undefined) throw new UsageError(`${option} is required`)
  if (value.trim().length === 0) throw new UsageError(`${option} must not be empty`)
  return value
}

export interface ConnectTarget {
  url: string
  kind: 'tcp' | 'ws'
}

/** `tcp://host:port` or `ws://host:port/path`. */
export function parseConnectUrl(value: string, option = '--connect'): ConnectTarget {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`${option} must be tcp://HOST:PORT or ws://HOST:PORT/PATH, not "${value}"`)
  }
  if (url.protocol === 'tcp:') {
    if (!url.hostname || !url.port) throw new UsageError(`${option} tcp:// needs a host and a port, as in tcp://127.0.0.1:4977`)
    return { url: `tcp://${url.hostname}:${url.port}`, kind: 'tcp' }
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') {
    if (!url.hostname) throw new UsageError(`${option} ws:// needs a host, as in ws://127.0.0.1:4978/hypha`)
    return { url: url.href, kind: 'ws' }
  }
  throw new UsageError(`${option} must start with tcp:// or ws://, not "${value}"`)
}

/** A client transport that dials the target (and re-dials it on the REDIAL schedule whenever the connection fails or is lost). */
export function clientTransport(target: ConnectTarget): Transport {
  if (target.kind === 'tcp') {
    const url = new URL(target.url)
    const host = url.hostname.replace(/^\[|\]$/g, '')
    return tcpClient({ host, port: Number(url.port), reconnect: REDIAL })
  }
  // Node 20 has no global WebSocket: hand the transport ws's.
  return webSocketClient({ url: target.url, WebSocket: WebSocket as never, reconnect: REDIAL })
}

export const hex = (key: Uint8Array) => b4a.toString(key, 'hex')
/** First 8 hex characters: enough to tell keys apart in logs. */
export const short = (key: Uint8Array) => hex(key).slice(0, 8)

/**
 * Argon2id cost: full by default; HYPHA_FAST_KDF=1 lowers it (tests only: a passphrase is then
 * much cheaper to guess). Returns undefined for the default.
 */
export function kdfFromEnv(warn: (text: string) => void): Partial<KdfParams> | undefined {
  const flag = process.env.HYPHA_FAST_KDF
  if (!flag || flag === '0') return undefined
  warn('warning: HYPHA_FAST_KDF is set: Argon2id runs at a very low cost. For tests only, never with a real passphrase.')
  return { iterations: 1, memoryKiB: 64 }
}

/** Whether --verbose is on the command line (before any `--`): read before parsing, so that a failed parse honours it too. */
export function verboseRequested(argv: readonly string[] = process.argv.slice(2)): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--verbose')
}

/** What a program prints (on stderr) for the error that ends it, and its exit code. */
export function errorReport(program: string, err: unknown, verbose: boolean): { text: string; exitCode: number } {
  if (err instanceof UsageError) return { text: `${program}: ${err.message} (see --help)`, exitCode: EXIT_USAGE }
  if (err instanceof Failure) {
    const details = verbose ? `\n${causeChain(err.cause ?? err)}` : ''
    return { text: `${program}: ${err.message}${details}`, exitCode: 1 }
  }
  // Not one we expected: the whole story, always.
  return { text: `${program}: unexpected error: ${causeChain(err)}`, exitCode: 1 }
}

/** Each error's stack (with its code), then each `cause` under it: "caused by: …". */
export function causeChain(err: unknown): string {
  const parts: string[] = []
  const seen = new Set<unknown>()
  for (let current = err; current !== undefined && current !== null && !seen.has(current); current = (current as { cause?: unknown }).cause) {
    seen.add(current)
    const code = (current as { code?: unknown }).code
    const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current)
    parts.push(`${parts.length ? 'caused by: ' : ''}${text}${typeof code === 'string' && !text.includes(code) ? `\n    (code ${code})` : ''}`)
    if (!(current instanceof Error)) break
  }
  return parts.join('\n')
}

export { findCode }

/** A server that could not listen, said as something to act on; null when `err` is not that. */
export function listenFailure(err: unknown, option: string, host: string, port: number): Failure | null {
  const code = findCode(err, ['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'])
  switch (code) {
    case 'EADDRINUSE':
      return new Failure(`${option} ${port}: port ${port} on ${host} is in use by another program (EADDRINUSE); stop that one or pick another port (0 picks a free one)`, code, { cause: err })
    case 'EACCES':
      return new Failure(`${option} ${port}: not allowed to listen on port ${port} (EACCES; ports below 1024 need privileges); pick another port`, code, { cause: err })
    case 'EADDRNOTAVAIL':
      return new Failure(`--host ${host} is not an address of this machine (EADDRNOTAVAIL); give one of its addresses, e.g. 127.0.0.1`, code, { cause: err })
    default:
      return null
  }
}

/** A storage folder that could not be opened, said as something to act on; null when `err` is not that. */
export function storageFailure(err: unknown, option: string, dir: string): Failure | null {
  const code = findCode(err, ['ELOCKED', 'EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOSPC'])
  switch (code) {
    case 'ELOCKED':
      return new Failure(`${option} ${dir} is in use by another running program (ELOCKED): stop that one first, or give another folder`, code, { cause: err })
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new Failure(`${option} ${dir}: cannot write there (${code}); give a folder you can write to`, code, { cause: err })
    case 'ENOTDIR':
    case 'EEXIST':
      return new Failure(`${option} ${dir} is not a folder (${code}); give a folder`, code, { cause: err })
    case 'ENOSPC':
      return new Failure(`${option} ${dir}: the disk is full (ENOSPC)`, code, { cause: err })
    default:
      return null
  }
}

/**
 * Runs a program's main. A UsageError prints one line and exits with 2; a Failure one line (with
 * --verbose, also the stacks and causes) and exits with 1; anything else its stack, exit code 1.
 */
export function runMain(program: string, main: () => Promise<void>): void {
  const verbose = verboseRequested()
  main().catch((err: unknown) => {
    const { text, exitCode } = errorReport(program, err, verbose)
    process.stderr.write(`${text}\n`)
    process.exit(exitCode)
  })
}
