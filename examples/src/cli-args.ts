// Shared helpers of the command-line examples (always-on.ts, native.ts): argument checking with
// clear messages, connect URLs, key formatting, the test-only fast KDF switch.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import b4a from 'b4a'
import { WebSocket } from 'ws'
import { webSocketClient } from '@hypha/transport-websocket'
import { type Transport } from '@hypha/node-core'
import { type KdfParams } from '@hypha/auth'
import { tcpClient } from '@hypha/transport-tcp'

/** A bad command line: the program prints the message and its usage and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export const EXIT_USAGE = 2

/** A failure the person can act on (wrong passphrase, account exists, …): the message alone, exit code 1. */
export class Failure extends Error {
  override readonly name = 'Failure'
}

type Options = NonNullable<ParseArgsConfig['options']>

/** node:util parseArgs, strict, with its errors turned into UsageErrors. */
export function parseCommandLine<T extends Options>(
  argv: string[],
  options: T,
  allowPositionals = false
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals })
  } catch (err) {
    // e.g. "Unknown option '--foo'", "Option '--tcp-port <value>' argument missing"
    throw new UsageError((err as Error).message)
  }
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

/** A client transport that dials the target (and re-dials it whenever the connection is lost). */
export function clientTransport(target: ConnectTarget): Transport {
  if (target.kind === 'tcp') {
    const url = new URL(target.url)
    const host = url.hostname.replace(/^\[|\]$/g, '')
    return tcpClient({ host, port: Number(url.port) })
  }
  // Node 20 has no global WebSocket: hand the transport ws's.
  return webSocketClient({ url: target.url, WebSocket: WebSocket as never })
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

/** Runs a program's main; a UsageError prints the message and the usage and exits with 2. */
export function runMain(usage: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${usage}\n`)
      process.exit(EXIT_USAGE)
    }
    if (err instanceof Failure) {
      process.stderr.write(`error: ${err.message}\n`)
      process.exit(1)
    }
    process.stderr.write(`error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exit(1)
  })
}
