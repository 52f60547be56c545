// A Hypha node on the command line: sign up (the first device), sign in (another device, or this
// one again from its folder), answer authorisation requests from other devices, and read and
// write the database from a small REPL.
//
// The passphrase lets a device find, read and ask; only an approval by a current writer (or the
// recovery code) lets it write. A device is its storage: its keys are random and kept there.
//
//   node examples/dist/native.js sign-up|sign-in|recover --name <person> --node-name <device>
//        [--passphrase ...] [--recovery-code ...] [--connect tcp://127.0.0.1:PORT | ws://127.0.0.1:PORT/hypha]...
//        [--listen-tcp PORT] [--host 127.0.0.1] [--storage <dir>]
//
// Split by job: native-args.ts (the command line), terminal.ts (stdin, output and the y/N
// questions), native-session.ts (events, authorisation and the REPL once open); this file opens
// the account and runs the REPL until quit.
import fs from 'node:fs/promises'
import { type StorageAdapter, type Transport } from '@hypha/node-core'
import { fileStorage } from '@hypha/storage-file'
import { tcpServer } from '@hypha/transport-tcp'
import { AuthError, recover, signIn, signUp, type Account } from '@hypha/auth'
import { Failure, UsageError, clientTransport, findCode, hex, kdfFromEnv, listenFailure, runMain, storageFailure } from './cli-args.js'
import { USAGE, parseNativeArgs, type NativeArgs } from './native-args.js'
import { Session, dialStates, watchClient } from './native-session.js'
import { Terminal } from './terminal.js'

async function main(): Promise<void> {
  const args = parseNativeArgs(process.argv.slice(2))
  if (args === null) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const { command, name, nodeName, targets, listenPort, host, storageDir, holdsDevice } = args

  const term = new Terminal()
  const kdf = kdfFromEnv((text) => term.print(text))

  let storage: StorageAdapter | undefined
  if (storageDir !== null) {
    try {
      await fs.mkdir(storageDir, { recursive: true })
      storage = await fileStorage(storageDir)
    } catch (err) {
      term.close()
      throw storageFailure(err, '--storage', args.storage!) ?? err
    }
  }

  let passphrase = args.passphrase
  if (command !== 'sign-up' && passphrase === undefined) {
    passphrase = await askLine(term, 'Passphrase (it will show as you type):', 'passphrase', '--passphrase')
  }
  let recoveryCode = args.recoveryCode
  if (command === 'recover' && recoveryCode === undefined) {
    recoveryCode = await askLine(term, 'Recovery code:', 'recovery code', '--recovery-code')
  }

  const transports: Transport[] = targets.map(clientTransport)
  const server = listenPort === null ? null : tcpServer({ port: listenPort, host })
  if (server) transports.push(server)
  for (const [i, target] of targets.entries()) watchClient(term, transports[i]!, target.url)

  term.print(kdf ? 'Deriving keys (fast test KDF)…' : 'Deriving keys with Argon2id (about a second)…')
  if (command === 'sign-up' && transports.length > 0) term.print('Checking that no peer knows a database of this account already…')
  if (command !== 'sign-up' && !holdsDevice) {
    const limit = args.lookupTimeoutMs === undefined ? 'up to a minute' : `up to ${args.lookupTimeoutMs / 1000} s`
    term.print(`A new device: looking for the database among the peers (${limit})…`)
  }
  const options = { name, nodeName, storage, transports, kdf }
  let account: Account
  try {
    if (command === 'sign-up') account = await signUp({ ...options, passphrase })
    else if (command === 'sign-in') account = await signIn({ ...options, passphrase: passphrase!, lookupTimeoutMs: args.lookupTimeoutMs })
    else account = await recover({ ...options, passphrase: passphrase!, recoveryCode: recoveryCode!, lookupTimeoutMs: args.lookupTimeoutMs })
  } catch (err) {
    term.close()
    throw explain(err, args)
  }
  const node = account.node
  // A reopened writer is writable once its view is loaded.
  if (!account.writable) await node.update().catch(() => {})

  const who = `${JSON.stringify(name)} on ${JSON.stringify(nodeName)}`
  if (command === 'sign-up') {
    term.print(`Signed up ${who}: this device is the origin of a new database.`)
    if (account.passphrase) {
      term.print(`passphrase: ${account.passphrase}`)
      term.print('  Write it down: it opens the database on your other devices. It is not shown again.')
    }
  } else if (command === 'recover') {
    term.print(`Recovered ${who}: this device is a writer now (the recovery code is used up).`)
  } else if (node.reopened) {
    const state = account.writable ? `writable${node.role === 'origin' ? ' (the origin)' : ''}` : 'read-only until another device authorises it'
    term.print(`Reopened ${who} from ${args.storage}: ${state}.`)
  } else {
    term.print(`Signed in ${who}: a new device, read-only until another device authorises it.`)
  }
  if (account.recoveryCode) {
    term.print(`recovery code: ${account.recoveryCode}`)
    term.print('  Keep it apart from the passphrase: with both, a new device becomes a writer when no other device is left (once). It is not shown again.')
  }
  term.print(`database key: ${hex(node.key)}`)
  term.print(`locator: ${account.locator}`)
  term.print('  (the member credential: an always-on node needs only this, always-on.js --locator <it>;')
  term.print('   it can read nothing with it, and serves only your devices. Keep it among them.)')
  term.print(`node key: ${hex(node.noiseKeyPair.publicKey)}`)
  if (server) term.print(`listening on tcp://${host}:${server.port}`)
  for (const target of targets) term.print(`connecting to ${target.url}`)

  const session = new Session(term, account)
  session.wire()
  if (!account.writable) session.requestAuthorisation()
  term.print('ready: type "help" for commands')
  term.prompt()

  let quitting: Promise<void> | null = null
  const quit = () => (quitting ??= session.close().then(() => process.exit(0)))
  term.onInterrupt = () => void quit()
  process.on('SIGINT', () => void quit())
  process.on('SIGTERM', () => void quit())

  for await (const line of term.lines()) {
    const more = await session.run(line)
    if (!more) break
    term.prompt()
  }
  await quit()
}

/**
 * A line typed on stdin. An empty one is refused: in a terminal with a one-line reason and the
 * question again; from a pipe or file with a Failure (asking again would loop on input nobody types).
 */
async function askLine(term: Terminal, prompt: string, what: string, option: string): Promise<string> {
  for (;;) {
    const line = await term.readLine(prompt)
    if (line === null) {
      term.close()
      throw new Failure(`no ${what}: the input ended before one was given; give ${option}, or type it when asked`, 'ERR_NO_INPUT')
    }
    if (line.trim() !== '') return line.trim()
    if (!term.tty) {
      term.close()
      throw new Failure(`the ${what} read from stdin is empty; give ${option}, or type it when asked`, 'ERR_EMPTY_INPUT')
    }
    term.print(`The ${what} cannot be empty: type it and press Enter (Ctrl-C to give up).`)
  }
}

/** signUp/signIn/recover failures as something to act on (a Failure), or the error itself if unexpected. */
function explain(err: unknown, args: NativeArgs): Error {
  const { command, storage } = args
  // Under the node's failure to open (ERR_NODE): the --listen-tcp server, or the --storage folder.
  const listening = args.listenPort !== null && findCode(err, ['ERR_LISTEN']) ? listenFailure(err, '--listen-tcp', args.host, args.listenPort) : null
  const inUse = listening ?? (storage === undefined ? null : storageFailure(err, '--storage', storage))
  if (inUse) return inUse
  if (!(err instanceof AuthError)) return err as Error
  const folder = storage === undefined ? 'this device' : `--storage ${storage}`
  const fail = (message: string) => new Failure(message, err.code, { cause: err })
  switch (err.code) {
    case 'ERR_INVALID_ARGUMENT':
      return new UsageError(err.message)
    case 'ERR_WEAK_PASSPHRASE':
      return new UsageError(`--passphrase: ${err.message}`)
    case 'ERR_ACCOUNT_EXISTS':
      return fail(`cannot sign up: ${err.message}. Use sign-in${storage === undefined ? '' : ` (with --storage ${storage} to reopen this device)`}.`)
    case 'ERR_NOT_FOUND': {
      // Most often the peer could not be reached: say so, with the reason of the last attempt.
      const unreachable = dialStates().filter((state) => state.state === 'unreachable')
      const peers = unreachable.length
        ? ` Not reachable: ${unreachable.map((s) => `${s.url} (${s.reason}, ${s.failures} ${s.failures === 1 ? 'attempt' : 'attempts'})`).join(', ')}.`
        : ''
      return fail(
        `cannot find the database: ${err.message}.${peers} Another device of this account, or an always-on node given its locator, must be reachable through --connect or --listen-tcp.`
      )
    }
    case 'ERR_OTHER_ACCOUNT':
      return fail(
        command === 'sign-up'
          ? `${folder} holds a device already (of another account, or of this one under another passphrase): sign-in reopens it; for a new database give an empty folder`
          : `${folder} holds a device of another account, or the name or passphrase is wrong`
      )
    case 'ERR_ACCOUNT_CONFLICT':
      return fail(`${command}: ${err.message}`)
    case 'ERR_RECOVERY_CODE_INVALID':
      return fail(`cannot recover: ${err.message}`)
    default: {
      const cause = err.cause instanceof Error ? ` (${err.cause.message})` : ''
      return fail(`${command} failed: ${err.message}${cause} [${err.code}]`)
    }
  }
}

runMain('native.js', main)
