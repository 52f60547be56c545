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
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import readline from 'node:readline'
import b4a from 'b4a'
import {
  DEVICE_RECORD_FILE,
  type Entry,
  type NodeConnection,
  type StorageAdapter,
  type Transport,
  type Value
} from '@hypha/node-core'
import { fileStorage } from '@hypha/storage-file'
import { tcpServer } from '@hypha/transport-tcp'
import {
  AuthError,
  recover,
  signIn,
  signUp,
  type Account,
  type AuthorisationPrompt,
  type AuthorisationRequest
} from '@hypha/auth'
import {
  Failure,
  UsageError,
  clientTransport,
  hex,
  kdfFromEnv,
  parseCommandLine,
  parseConnectUrl,
  parseKey,
  parsePort,
  requireText,
  runMain,
  short,
  type ConnectTarget
} from './cli-args.js'
import { deviceLines, warningTexts, writerName } from './format.js'

const USAGE = `usage: node examples/dist/native.js sign-up|sign-in|recover --name <person> --node-name <device> [options]

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
  --help                  show this

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
  help: { type: 'boolean' }
} as const

const COMMANDS = ['sign-up', 'sign-in', 'recover'] as const
type Command = (typeof COMMANDS)[number]

const HELP = `commands:
  put <key> <value>     write (the value is the rest of the line)
  get <key>             read one key
  del <key>             delete a key
  list [prefix]         list keys (with a prefix: only those)
  devices               the device list (the registry in the database), this device marked *
  revoke <writer-key>   take a device's write access away (64 hex characters, see "devices")
  request               ask the other devices again to authorise this one
  connect <url>         dial tcp://HOST:PORT or ws://HOST:PORT/hypha
  status                this node's keys, peers and state
  quit                  close the node and exit`

/**
 * The terminal: one readline on stdin. Lines go, in this order of priority, to a pending
 * `readLine()` (the passphrase), to the y/N question on screen, or to the REPL's queue — decided
 * when the line arrives, so a command typed before a request came in is never taken as the answer.
 * Output never tears the line being typed: in a terminal it is printed above it and the prompt is
 * redrawn with what was typed so far.
 */
class Terminal {
  readonly tty = Boolean(process.stdin.isTTY && process.stdout.isTTY)
  private readonly rl: readline.Interface
  private readonly lineWaiters: ((line: string | null) => void)[] = []
  private readonly commands: string[] = []
  private wakeCommands: (() => void) | null = null
  private readonly questions: Question[] = []
  private ended = false
  private closed = false
  /** Whether the REPL prompt is shown (from the first `prompt()` until `quiet()`). */
  private prompting = false
  /** The person had started typing a line when the current question appeared: that line is a command. */
  private typingBeforeQuestion = false
  onInterrupt: () => void = () => process.exit(130)

  constructor() {
    this.rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: this.tty, prompt: 'hypha> ' })
    this.rl.on('line', (line) => this.onLine(line))
    this.rl.on('close', () => {
      this.ended = true
      this.closed = true
      for (const waiter of this.lineWaiters.splice(0)) waiter(null)
      this.wakeCommands?.()
    })
    this.rl.on('SIGINT', () => this.onInterrupt())
  }

  /** One line of output, above whatever the person is typing. */
  print(text: string): void {
    if (!this.tty || this.closed || !this.prompting) {
      process.stdout.write(`${text}\n`)
      return
    }
    readline.clearLine(process.stdout, 0)
    readline.cursorTo(process.stdout, 0)
    process.stdout.write(`${text}\n`)
    this.rl.prompt(true) // redraws the prompt and what was typed so far
  }

  /** The next line typed (null at the end of input), bypassing the REPL. */
  readLine(prompt: string): Promise<string | null> {
    this.print(prompt)
    return new Promise((resolve) => {
      if (this.ended) resolve(null)
      else this.lineWaiters.push(resolve)
    })
  }

  /** Shows a y/N question now, or after the ones already waiting. */
  ask(question: Question): void {
    this.questions.push(question)
    if (this.questions.length === 1) this.showQuestion()
  }

  /** The question no longer needs an answer (answered elsewhere, cancelled, expired). */
  withdraw(question: Question): void {
    const index = this.questions.indexOf(question)
    if (index === -1) return
    this.questions.splice(index, 1)
    if (index === 0) this.showQuestion()
  }

  /** REPL lines, in order, until the end of input. */
  async *lines(): AsyncGenerator<string> {
    for (;;) {
      const line = this.commands.shift()
      if (line !== undefined) {
        yield line
        continue
      }
      if (this.ended) return
      await new Promise<void>((resolve) => (this.wakeCommands = resolve))
      this.wakeCommands = null
    }
  }

  /** Shows the REPL prompt (in a terminal). */
  prompt(): void {
    if (!this.tty || this.closed) return
    this.prompting = true
    this.rl.prompt()
  }

  /** No more prompts (closing). */
  quiet(): void {
    this.prompting = false
  }

  close(): void {
    if (!this.closed) this.rl.close()
  }

  private showQuestion(): void {
    const current = this.questions[0]
    if (this.tty) this.rl.setPrompt(current ? '[y/N] ' : 'hypha> ')
    this.typingBeforeQuestion = Boolean(current && this.tty && this.rl.line.length > 0)
    if (current) {
      for (const note of current.notes) this.print(note)
      this.print(current.text)
    } else this.prompt()
  }

  private onLine(line: string): void {
    const waiter = this.lineWaiters.shift()
    if (waiter) return waiter(line)
    const question = this.questions[0]
    if (question && this.typingBeforeQuestion) {
      // Typed (at least in part) before the question appeared: a command, not the answer.
      this.typingBeforeQuestion = false
      this.commands.push(line)
      this.wakeCommands?.()
      this.print(question.text)
      return
    }
    if (question) {
      const answer = line.trim().toLowerCase()
      if (answer === 'y' || answer === 'yes' || answer === 'n' || answer === 'no' || answer === '') {
        this.questions.shift()
        question.answer(answer.startsWith('y'))
        this.showQuestion()
      } else {
        this.print(`Please answer y or n first. ${question.text}`)
      }
      return
    }
    this.commands.push(line)
    this.wakeCommands?.()
  }
}

interface Question {
  /** Lines printed (once) just before the question when it is shown: its warnings. */
  notes: string[]
  text: string
  answer(yes: boolean): void
}

async function main(): Promise<void> {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), OPTIONS, true)
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
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

  // A device is its storage: a folder that holds one is reopened as it was; anything else is new.
  const storageDir = values.storage === undefined ? null : path.resolve(values.storage)
  const holdsDevice = storageDir !== null && existsSync(path.join(storageDir, DEVICE_RECORD_FILE))
  if (command !== 'sign-up' && !holdsDevice && targets.length === 0 && listenPort === null) {
    throw new UsageError(
      `${command} on a new device finds the database through a peer: give --connect (another device, or an always-on node given the locator) or --listen-tcp`
    )
  }

  const term = new Terminal()
  const kdf = kdfFromEnv((text) => term.print(text))

  let storage: StorageAdapter | undefined
  if (storageDir !== null) {
    await fs.mkdir(storageDir, { recursive: true })
    storage = await fileStorage(storageDir)
  }

  let passphrase = values.passphrase
  if (command !== 'sign-up' && passphrase === undefined) {
    passphrase = await askLine(term, 'Passphrase (it will show as you type):', `${command} needs the passphrase (--passphrase, or a line on stdin)`)
  }
  let recoveryCode = values['recovery-code']
  if (command === 'recover' && recoveryCode === undefined) {
    recoveryCode = await askLine(term, 'Recovery code:', 'recover needs the recovery code (--recovery-code, or a line on stdin)')
  }

  const transports: Transport[] = targets.map(clientTransport)
  const server = listenPort === null ? null : tcpServer({ port: listenPort, host })
  if (server) transports.push(server)
  for (const [i, target] of targets.entries()) watchClient(term, transports[i]!, target.url)

  term.print(kdf ? 'Deriving keys (fast test KDF)…' : 'Deriving keys with Argon2id (about a second)…')
  if (command === 'sign-up' && transports.length > 0) term.print('Checking that no peer knows a database of this account already…')
  if (command !== 'sign-up' && !holdsDevice) term.print('A new device: looking for the database among the peers (up to a minute)…')
  const options = { name, nodeName, storage, transports, kdf }
  let account: Account
  try {
    if (command === 'sign-up') account = await signUp({ ...options, passphrase })
    else if (command === 'sign-in') account = await signIn({ ...options, passphrase: passphrase! })
    else account = await recover({ ...options, passphrase: passphrase!, recoveryCode: recoveryCode! })
  } catch (err) {
    term.close()
    throw explain(err, command, values.storage)
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
    term.print(`Reopened ${who} from ${values.storage}: ${state}.`)
  } else {
    term.print(`Signed in ${who}: a new device, read-only until another device authorises it.`)
  }
  if (account.recoveryCode) {
    term.print(`recovery code: ${account.recoveryCode}`)
    term.print('  Keep it apart from the passphrase: with both, a new device becomes a writer when no other device is left (once). It is not shown again.')
  }
  term.print(`database key: ${hex(node.key)}`)
  term.print(`locator: ${account.locator}`)
  term.print('  (an always-on node needs only this: always-on.js --locator <it>; it can read nothing with it)')
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

async function askLine(term: Terminal, prompt: string, missing: string): Promise<string> {
  const line = await term.readLine(prompt)
  if (line === null || line.trim() === '') {
    term.close()
    throw new UsageError(missing)
  }
  return line.trim()
}

/** signUp/signIn/recover failures as something to act on. */
function explain(err: unknown, command: Command, storage: string | undefined): Error {
  if (!(err instanceof AuthError)) return err as Error
  const folder = storage === undefined ? 'this device' : `--storage ${storage}`
  switch (err.code) {
    case 'ERR_INVALID_ARGUMENT':
      return new UsageError(err.message)
    case 'ERR_WEAK_PASSPHRASE':
      return new UsageError(`--passphrase: ${err.message}`)
    case 'ERR_ACCOUNT_EXISTS':
      return new Failure(`cannot sign up: ${err.message}. Use sign-in${storage === undefined ? '' : ` (with --storage ${storage} to reopen this device)`}.`)
    case 'ERR_NOT_FOUND':
      return new Failure(
        `cannot find the database: ${err.message}. Another device of this account, or an always-on node given its locator, must be reachable through --connect or --listen-tcp.`
      )
    case 'ERR_OTHER_ACCOUNT':
      return new Failure(
        command === 'sign-up'
          ? `${folder} holds a device already (of another account, or of this one under another passphrase): sign-in reopens it; for a new database give an empty folder`
          : `${folder} holds a device of another account, or the name or passphrase is wrong`
      )
    case 'ERR_ACCOUNT_CONFLICT':
      return new Failure(`${command}: ${err.message}`)
    case 'ERR_RECOVERY_CODE_INVALID':
      return new Failure(`cannot recover: ${err.message}`)
    default: {
      const cause = err.cause instanceof Error ? ` (${err.cause.message})` : ''
      return new Failure(`${command} failed: ${err.message}${cause} [${err.code}]`)
    }
  }
}

/** Client transports whose errors watchClient reports (the node's transport-error skips them). */
const watchedClients = new WeakSet<Transport>()

/** Reports a client transport's dial failures once each until it connects again. */
function watchClient(term: Terminal, transport: Transport, url: string): void {
  watchedClients.add(transport)
  let last = ''
  transport.on('connection-error', (err: Error & { cause?: { code?: string } }) => {
    const text = err.cause?.code ?? err.message
    if (text !== last) term.print(`[peer] ${url}: ${text}; retrying in the background`)
    last = text
  })
  transport.on('connection', () => (last = ''))
}

const SETTLED: Partial<Record<AuthorisationPrompt['status'], string>> = {
  'approved-elsewhere': 'was approved on another device',
  'denied-elsewhere': 'was denied on another device',
  cancelled: 'was withdrawn by that device',
  expired: 'expired without an answer'
}

class Session {
  private request: AuthorisationRequest | null = null
  private readonly questions = new Map<AuthorisationPrompt, Question>()
  private readonly dialled: Transport[] = []
  private readonly peers = new Map<NodeConnection, string>()

  constructor(
    private readonly term: Terminal,
    private readonly account: Account
  ) {}

  private get node() {
    return this.account.node
  }

  wire(): void {
    const { term, node, account } = this
    node.on('connection', (conn) => {
      const label = `${conn.info.transport}${conn.info.remote ? ` ${conn.info.remote}` : ''}`
      this.peers.set(conn, label)
      term.print(`[peer] connected over ${label} (${node.peerCount} open)`)
    })
    node.on('disconnection', (conn) => {
      term.print(`[peer] disconnected ${this.peers.get(conn) ?? conn.info.transport} (${node.peerCount} open)`)
      this.peers.delete(conn)
    })
    node.on('writable', (writable) => {
      if (writable && this.request) return // the request's own message says so
      term.print(writable ? '[auth] this node is writable now' : '[auth] this node is read-only now: its write access was removed')
    })
    node.on('transport-error', (err, transport) => {
      if (!watchedClients.has(transport)) term.print(`[peer] transport error: ${message(err)}`)
    })
    node.on('error', (err) => term.print(`[error] the database failed: ${message(err)}`))

    account.on('authorisation-request', (prompt) => {
      // Shown once the requester revealed its nonce: the code is fixed, the warnings are known.
      const notes = warningTexts(prompt).map(({ warning, text }) => `[auth] warning (${warning}): ${text}`)
      const question: Question = {
        notes,
        text: `Authorise node ${JSON.stringify(prompt.nodeName)}? code ${prompt.code} [y/N]`,
        answer: (yes) => void this.answer(prompt, yes)
      }
      this.questions.set(prompt, question)
      term.ask(question)
    })
    account.on('authorisation-settled', (prompt) => {
      const question = this.questions.get(prompt)
      if (!question) return
      this.questions.delete(prompt)
      const text = SETTLED[prompt.status]
      if (text) {
        term.withdraw(question)
        term.print(`[auth] the request from ${JSON.stringify(prompt.nodeName)} (code ${prompt.code}) ${text}`)
      }
    })
    account.on('request-refused', ({ reason, nodeName }) => {
      const why =
        reason === 'too-many-pending'
          ? 'that device has too many requests open here already'
          : 'its code did not match what it had committed to (someone tried to choose the code)'
      term.print(`[auth] ignored a request from ${JSON.stringify(nodeName)}: ${why}`)
    })
    account.on('account-conflict', (key) => {
      term.print(`[auth] warning: a peer proved another database (${short(key)}…) for this account: two sign-ups with one passphrase?`)
    })
  }

  requestAuthorisation(): void {
    const { term, account } = this
    if (account.writable) return term.print('this node is already writable')
    if (this.request) {
      const codes = this.request.codes.map((c) => `${c.code} from ${approver(c.approverName)}`)
      return term.print(`still waiting for an answer${codes.length ? `; codes: ${codes.join(', ')}` : ' (no writable device has answered yet)'}`)
    }
    const request = account.requestAuthorisation()
    this.request = request
    term.print(`[auth] asking your other devices to authorise ${JSON.stringify(account.nodeName)}; each writable one that sees it sends its code here`)
    // One code per approving device, known once it challenged: show it beside that device's name.
    request.on('code', ({ approverName, code }) =>
      term.print(`[auth] verification code ${code} from ${approver(approverName)}: the prompt there must show the same code`)
    )
    request.done.then(
      () => {
        this.request = null
        term.print('[auth] approved: this node is writable now')
      },
      (err: unknown) => {
        this.request = null
        if (err instanceof AuthError && (err.code === 'ERR_CLOSED' || err.code === 'ERR_CANCELLED')) return // quitting
        if (err instanceof AuthError && err.code === 'ERR_DENIED') {
          term.print(`[auth] request ${err.message}. This node stays read-only ("request" asks again).`)
        } else {
          term.print(`[auth] request failed: ${message(err)}. This node stays read-only ("request" asks again).`)
        }
      }
    )
  }

  private async answer(prompt: AuthorisationPrompt, yes: boolean): Promise<void> {
    this.questions.delete(prompt)
    const who = JSON.stringify(prompt.nodeName)
    try {
      if (yes) {
        await prompt.approve()
        this.term.print(`[auth] authorised ${who}: it is a writer now`)
      } else {
        prompt.deny(`not approved on ${JSON.stringify(this.account.nodeName)}`)
        this.term.print(`[auth] denied ${who}`)
      }
    } catch (err) {
      this.term.print(`[auth] could not answer ${who}: ${message(err)}`)
    }
  }

  /** Runs one REPL line; false to quit. */
  async run(line: string): Promise<boolean> {
    const trimmed = line.trim()
    if (trimmed === '') return true
    const [command = '', ...rest] = trimmed.split(/\s+/)
    const argument = trimmed.slice(command.length).trim()
    const out = (text: string) => this.term.print(text)
    const node = this.node
    try {
      switch (command) {
        case 'help':
        case '?':
          HELP.split('\n').forEach(out)
          break
        case 'put': {
          const match = /^(\S+)\s+([\s\S]+)$/.exec(argument)
          if (!match) return usage(out, 'put <key> <value>')
          if (!node.writable) {
            out('error: this node is not writable yet (an authorised device must approve it first)')
            break
          }
          await node.put(match[1]!, match[2]!)
          out(`ok: put ${match[1]}`)
          break
        }
        case 'get': {
          if (rest.length !== 1) return usage(out, 'get <key>')
          const value = await node.get(rest[0]!)
          out(value === null ? `${rest[0]}: not found` : `${rest[0]} = ${show(value)}`)
          break
        }
        case 'del': {
          if (rest.length !== 1) return usage(out, 'del <key>')
          if (!node.writable) {
            out('error: this node is not writable yet')
            break
          }
          await node.del(rest[0]!)
          out(`ok: del ${rest[0]}`)
          break
        }
        case 'list': {
          if (rest.length > 1) return usage(out, 'list [prefix]')
          const prefix = rest[0]
          const entries: Entry[] = prefix
            ? await node.list({ gte: prefix, lt: b4a.concat([b4a.from(prefix), b4a.from([0xff])]) })
            : await node.list()
          for (const entry of entries) out(`${entry.key} = ${show(entry.value)}`)
          out(`(${entries.length} ${entries.length === 1 ? 'entry' : 'entries'})`)
          break
        }
        case 'devices': {
          if (rest.length !== 0) return usage(out, 'devices')
          deviceLines(await this.account.devices()).forEach(out)
          break
        }
        case 'revoke': {
          if (rest.length !== 1) return usage(out, 'revoke <writer-key-hex>')
          let key: Uint8Array
          try {
            key = parseKey(rest[0], 'the writer key')
          } catch (err) {
            out(`error: ${message(err)}`)
            break
          }
          if (node.writerKey && b4a.equals(key, node.writerKey)) {
            out('error: that is this device (revoke it from another one)')
            break
          }
          if (!(await node.isWriter(key))) {
            out(`error: ${short(key)}… is not a writer (see "devices")`)
            break
          }
          const devices = await this.account.devices()
          await this.account.revoke(key)
          out(`ok: revoked ${writerName(devices, key)} (${short(key)}…)`)
          break
        }
        case 'request':
          this.requestAuthorisation()
          break
        case 'connect': {
          if (rest.length !== 1) return usage(out, 'connect tcp://HOST:PORT | ws://HOST:PORT/hypha')
          let target: ConnectTarget
          try {
            target = parseConnectUrl(rest[0]!, 'connect')
          } catch (err) {
            out(`error: ${message(err)}`)
            break
          }
          const transport = clientTransport(target)
          watchClient(this.term, transport, target.url)
          await transport.start({ topic: node.topic, keyPair: node.noiseKeyPair, onConnection: node.addConnection })
          this.dialled.push(transport)
          out(`connecting to ${target.url}`)
          break
        }
        case 'status': {
          out(`node ${JSON.stringify(this.account.nodeName)}: ${node.writable ? 'writable' : 'read-only'}${node.role === 'origin' ? ' (the origin)' : ''}`)
          out(`database key ${hex(node.key)}`)
          out(`locator      ${this.account.locator}`)
          out(`writer key   ${node.writerKey ? hex(node.writerKey) : '-'}`)
          out(`node key     ${hex(node.noiseKeyPair.publicKey)}`)
          out(`channel key  ${node.channel.publicKey ? hex(node.channel.publicKey) : '-'}`)
          out(`peers        ${node.peerCount}${this.peers.size ? `: ${[...this.peers.values()].join(', ')}` : ''}`)
          if (this.request) {
            const codes = this.request.codes.map((c) => `${c.code} from ${approver(c.approverName)}`)
            out(`waiting for authorisation${codes.length ? `, codes: ${codes.join(', ')}` : ' (no writable device has answered yet)'}`)
          }
          const pending = this.account.pendingPrompts
          if (pending.length) out(`requests waiting for an answer: ${pending.map((p) => `${JSON.stringify(p.nodeName)} (code ${p.code})`).join(', ')}`)
          break
        }
        case 'quit':
        case 'exit':
          return false
        default:
          out(`unknown command "${command}" (type "help")`)
      }
    } catch (err) {
      out(`error: ${message(err)}`)
    }
    return true
  }

  async close(): Promise<void> {
    this.term.quiet()
    this.term.print('closing…')
    this.request?.cancel()
    await Promise.all(this.dialled.map((t) => t.stop().catch(() => {})))
    await this.account.close().catch((err: unknown) => this.term.print(`error while closing: ${message(err)}`))
    this.term.print('bye')
    this.term.close()
  }
}

/** An approving device's name from the registry, as shown beside its code. */
const approver = (name: string) => (name ? JSON.stringify(name) : 'an unnamed device')

function usage(out: (text: string) => void, text: string): true {
  out(`usage: ${text}`)
  return true
}

function show(value: Value): string {
  return typeof value === 'string' ? JSON.stringify(value) : `<${value.byteLength} bytes> ${hex(value)}`
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

runMain(USAGE, main)
