// native.js's command line: its usage text and the checks that run before anything is opened, so
// that every mistake in the arguments exits with code 2 and one line naming the option, touching nothing.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { DEVICE_RECORD_FILE } from '@hypha/node-core'
import { UsageError, parseCommandLine, parseConnectUrl, parsePort, requireText, type ConnectTarget } from './cli-args.js'

export const USAGE = `usage: node examples/dist/native.js sign-up|sign-in|recover --name <person> --node-name <device> [options]

  sign-up                 create a new database, this device its origin; prints the passphrase
                          (if generated), the recovery code (once) and the locator
  sign-in                 open your database on this device. With --storage holding this device
                          already, reopens it as it was (a writer stays a writer). Otherwise a new
                          device: it finds the database through --connect/--listen-tcp peers and
                          asks your other devices to authorise it (read-only until one says yes)
  recover                 sign in and become a writer with the recovery code, when no other
                          device is left to approve (the database must be reachable, e.g. on an
                          always-on node); prints the new recovery code
  --name <person>         your name or domain, the same on every device (e.g. ada@example.com)
  --node-name <device>    this device's name, shown on the others (e.g. "Laptop")
  --passphrase <words>    sign-in, recover: your passphrase (asked on stdin when left out);
                          sign-up: use this one instead of a generated one (60 bits or more)
  --recovery-code <code>  recover: the recovery code (asked on stdin when left out)
  --connect <url>         dial tcp://HOST:PORT or ws://HOST:PORT/hypha (repeatable)
  --listen-tcp <port>     accept TCP connections on this port (0 picks a free one)
  --host <address>        address for --listen-tcp (default 127.0.0.1)
  --storage <dir>         this device: its keys and the database, kept in <dir> (default: memory,
                          a new device every run)
  --lookup-timeout <s>    sign-in, recover on a new device: how long to look for the database
                          among the peers before giving up (seconds, default 60)
  --verbose               on a failure, also print the stacks and the causes underneath
  --help, -h              show this

Errors: a bad command line prints one line and exits with code 2; a failure you can act on
(a port or folder in use, a wrong passphrase, …) one line, exit code 1.
Environment: HYPHA_FAST_KDF=1 lowers the Argon2id cost (tests only).`

const OPTIONS = {
  name: { type: 'string' },
  'node-name': { type: 'string' },
  passphrase: { type: 'string' },
  'recovery-code': { type: 'string' },
  connect: { type: 'string', multiple: true },
  'listen-tcp': { type: 'string' },
  host: { type: 'string' },
  storage: { type: 'string' },
  'lookup-timeout': { type: 'string' },
  verbose: { type: 'boolean' }, // read by runMain (cli-args.ts), before parsing
  help: { type: 'boolean', short: 'h' }
} as const

const COMMANDS = ['sign-up', 'sign-in', 'recover'] as const
export type Command = (typeof COMMANDS)[number]

/** A checked command line. */
export interface NativeArgs {
  command: Command
  name: string
  nodeName: string
  targets: ConnectTarget[]
  /** --listen-tcp (null: no TCP server). */
  listenPort: number | null
  host: string
  /** As given; asked on stdin later when a command needs it and it is left out. */
  passphrase: string | undefined
  recoveryCode: string | undefined
  /** --storage as given (for messages), and resolved (null: memory). */
  storage: string | undefined
  storageDir: string | null
  /** The storage folder holds a device already: it is reopened as it was. */
  holdsDevice: boolean
  /** --lookup-timeout in ms (undefined: the library's default). */
  lookupTimeoutMs: number | undefined
}

/** The command line checked, or null for --help. Throws a UsageError for anything wrong. */
export function parseNativeArgs(argv: string[]): NativeArgs | null {
  const { values, positionals } = parseCommandLine(argv, OPTIONS, true)
  if (values.help) return null
  const given = positionals[0]
  if (!COMMANDS.includes(given as Command)) {
    const say = 'say sign-up, sign-in or recover'
    throw new UsageError(given === undefined ? say : `unknown command "${given}": ${say}`)
  }
  const command = given as Command
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`)
  const name = requireText(values.name, '--name')
  const nodeName = requireText(values['node-name'], '--node-name')
  const targets: ConnectTarget[] = (values.connect ?? []).map((url) => parseConnectUrl(url))
  const listenPort = values['listen-tcp'] === undefined ? null : parsePort(values['listen-tcp'], '--listen-tcp', 0)
  const host = values.host ?? '127.0.0.1'
  if (values.host !== undefined && listenPort === null) throw new UsageError('--host is the address for --listen-tcp: give that too')
  if (values.passphrase !== undefined) requireText(values.passphrase, '--passphrase')
  if (values['recovery-code'] !== undefined && command !== 'recover') throw new UsageError('--recovery-code is for recover')
  const lookupTimeoutMs = parseSeconds(values['lookup-timeout'], '--lookup-timeout')
  if (lookupTimeoutMs !== undefined && command === 'sign-up') throw new UsageError('--lookup-timeout is for sign-in and recover')

  // A device is its storage: a folder that holds one is reopened as it was; anything else is new.
  const storageDir = values.storage === undefined ? null : path.resolve(values.storage)
  const holdsDevice = storageDir !== null && existsSync(path.join(storageDir, DEVICE_RECORD_FILE))
  if (command !== 'sign-up' && !holdsDevice && targets.length === 0 && listenPort === null) {
    throw new UsageError(
      `${command} on a new device finds the database through a peer: give --connect (another device, or an always-on node given the locator) or --listen-tcp`
    )
  }
  return {
    command,
    name,
    nodeName,
    targets,
    listenPort,
    host,
    passphrase: values.passphrase,
    recoveryCode: values['recovery-code'],
    storage: values.storage,
    storageDir,
    holdsDevice,
    lookupTimeoutMs
  }
}

/** A positive number of seconds (fractions allowed), in ms. */
function parseSeconds(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0 || Number(value) > 86_400) {
    throw new UsageError(`${option} must be a number of seconds above 0 (up to a day), not "${value}"`)
  }
  return Math.round(Number(value) * 1000)
}
