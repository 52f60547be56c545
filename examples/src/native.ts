// A Hypha node on the command line: sign up (the first device) or sign in (another one), answer
// authorisation requests from other devices, and read and write the database from a small REPL.
//
//   node examples/dist/native.js sign-up|sign-in --name <person> --node-name <device>
//        [--passphrase ...] [--connect tcp://127.0.0.1:PORT | ws://127.0.0.1:PORT/hypha]...
//        [--listen-tcp PORT] [--host 127.0.0.1] [--storage <dir>]
import fs from 'node:fs/promises'
import path from 'node:path'
import readline from 'node:readline'
import b4a from 'b4a'
import type { Entry, NodeConnection, StorageAdapter, Transport, Value } from '@hypha/node-core'
import { fileStorage, tcpServer } from '@hypha/node-core/native'
import {
  AuthError,
  signIn,
  signUp,
  type Account,
  type AuthorisationPrompt,
  type AuthorisationRequest
} from '@hypha/auth'
import {
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

const USAGE = `usage: node examples/dist/native.js sign-up|sign-in --name <person> --node-name <device> [options]

  sign-up                 create a new database on this device (prints its passphrase)
  sign-in                 open your database on this device; it asks your other devices to
                          authorise it (read-only until one of them says yes)
  --name <person>         your name or domain, the same on every device (e.g. ada@example.com)
  --node-name <device>    this device's name, shown on the others (e.g. "Laptop")
  --passphrase <words>    sign-in: your passphrase (asked on stdin when left out);
                          sign-up: use this one instead of a generated one
  --connect <url>         dial tcp://HOST:PORT or ws://HOST:PORT/hypha (repeatable)
  --listen-tcp <port>     accept TCP connections on this port (0 picks a free one)
  --host <address>        address for --listen-tcp (default 127.0.0.1)
  --storage <dir>         keep the database in <dir> (default: memory, lost on quit)
  --help                  show this

Environment: HYPHA_FAST_KDF=1 lowers the Argon2id cost (tests only).`

const OPTIONS = {
  name: { type: 'string' },
  'node-name': { type: 'string' },
  passphrase: { type: 'string' },
  connect: { type: 'string', multiple: true },
  'listen-tcp': { type: 'string' },
  host: { type: 'string' },
  storage: { type: 'string' },
  help: { type: 'boolean' }
} as const

const HELP = `commands:
  put <key> <value>     write (the value is the rest of the line)
  get <key>             read one key
  del <key>             delete a key
  list [prefix]         list keys (with a prefix: only those)
  writers               the writers of the database
  revoke <writer-key>   take a device's write access away (64 hex characters, see "writers")
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
    if (current) this.print(current.text)
    else this.prompt()
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
  text: string
  answer(yes: boolean): void
}

async function main(): Promise<void> {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), OPTIONS, true)
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const command = positionals[0]
  if (command !== 'sign-up' && command !== 'sign-in') {
    throw new UsageError(command === undefined ? 'say sign-up or sign-in' : `unknown command "${command}": say sign-up or sign-in`)
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`)
  const name = requireText(values.name, '--name')
  const nodeName = requireText(values['node-name'], '--node-name')
  const targets: ConnectTarget[] = (values.connect ?? []).map((url) => parseConnectUrl(url))
  const listenPort = values['listen-tcp'] === undefined ? null : parsePort(values['listen-tcp'], '--listen-tcp', 0)
  const host = values.host ?? '127.0.0.1'
  if (values.host !== undefined && listenPort === null) throw new UsageError('--host is the address for --listen-tcp: give that too')
  if (values.passphrase !== undefined) requireText(values.passphrase, '--passphrase')

  const term = new Terminal()
  const kdf = kdfFromEnv((text) => term.print(text))

  let storage: StorageAdapter | undefined
  if (values.storage !== undefined) {
    const dir = path.resolve(values.storage)
    await fs.mkdir(dir, { recursive: true })
    storage = await fileStorage(dir)
  }

  let passphrase = values.passphrase
  if (command === 'sign-in' && passphrase === undefined) {
    const line = await term.readLine('Passphrase (it will show as you type):')
    if (line === null || line.trim() === '') {
      term.close()
      throw new UsageError('sign-in needs the passphrase (--passphrase, or a line on stdin)')
    }
    passphrase = line
  }

  const transports: Transport[] = targets.map(clientTransport)
  const server = listenPort === null ? null : tcpServer({ port: listenPort, host })
  if (server) transports.push(server)
  for (const [i, target] of targets.entries()) watchClient(term, transports[i]!, target.url)

  term.print(kdf ? 'Deriving keys (fast test KDF)…' : 'Deriving keys with Argon2id (about a second)…')
  const options = { name, nodeName, storage, transports, kdf }
  let account: Account
  try {
    account = command === 'sign-up' ? await signUp({ ...options, passphrase }) : await signIn({ ...options, passphrase: passphrase! })
  } catch (err) {
    term.close()
    if (err instanceof AuthError && err.code === 'ERR_INVALID_ARGUMENT') throw new UsageError(err.message)
    throw err
  }
  const node = account.node

  if (command === 'sign-up') {
    term.print(`Signed up ${JSON.stringify(name)} on ${JSON.stringify(nodeName)}: this node is the origin of a new database.`)
    if (account.passphrase) {
      term.print(`passphrase: ${account.passphrase}`)
      term.print('  Write it down: it opens the database on your other devices. It is not shown again.')
    }
  } else {
    term.print(
      `Signed in ${JSON.stringify(name)} on ${JSON.stringify(nodeName)}: ${account.writable ? 'writable (authorised before)' : 'read-only until another device authorises it'}.`
    )
  }
  term.print(`database key: ${hex(node.key)}`)
  term.print(`  (an always-on node needs only this: always-on.js --database-key ${short(node.key)}…)`)
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

/** Reports a client transport's dial failures once each until it connects again. */
function watchClient(term: Terminal, transport: Transport, url: string): void {
  let last = ''
  transport.on('connection-error', (err: Error & { cause?: { code?: string } }) => {
    const text = err.cause?.code ?? err.message
    if (text !== last) term.print(`[peer] ${url}: ${text}; retrying in the background`)
    last = text
  })
  transport.on('connection', () => (last = ''))
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
    node.on('transport-error', (err) => term.print(`[peer] transport error: ${message(err)}`))
    node.on('error', (err) => term.print(`[error] the database failed: ${message(err)}`))

    account.on('authorisation-request', (prompt) => {
      const question: Question = {
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
      const who = `${JSON.stringify(prompt.nodeName)} (code ${prompt.code})`
      const what: Partial<Record<typeof prompt.status, string>> = {
        'approved-elsewhere': 'was approved on another device',
        'denied-elsewhere': 'was denied on another device',
        cancelled: 'was withdrawn by that device',
        expired: 'expired without an answer'
      }
      const text = what[prompt.status]
      if (text) {
        term.withdraw(question)
        term.print(`[auth] the request from ${who} ${text}`)
      }
    })
  }

  requestAuthorisation(): void {
    const { term, account } = this
    if (account.writable) return term.print('this node is already writable')
    if (this.request) return term.print(`still waiting for an answer; the code is ${this.request.code}`)
    const request = account.requestAuthorisation()
    this.request = request
    term.print(`[auth] asking your other devices to authorise ${JSON.stringify(account.nodeName)}`)
    term.print(`[auth] verification code ${request.code}: the prompt on your other device must show the same code`)
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
        case 'writers': {
          const writers = await this.account.writers()
          for (const writer of writers) {
            const notes = [
              writer.origin ? 'origin' : '',
              writer.indexer ? 'indexer' : '',
              node.writerKey && b4a.equals(writer.key, node.writerKey) ? 'this node' : ''
            ].filter(Boolean)
            out(`${hex(writer.key)}${notes.length ? ` (${notes.join(', ')})` : ''}`)
          }
          out(`(${writers.length} ${writers.length === 1 ? 'writer' : 'writers'})`)
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
          if (!(await node.isWriter(key))) {
            out(`error: ${short(key)}… is not a writer (see "writers")`)
            break
          }
          await this.account.revoke(key)
          out(`ok: revoked ${short(key)}…`)
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
          await transport.start({ discoveryKey: node.discoveryKey, keyPair: node.noiseKeyPair, onConnection: node.addConnection })
          this.dialled.push(transport)
          out(`connecting to ${target.url}`)
          break
        }
        case 'status': {
          out(`node ${JSON.stringify(this.account.nodeName)}: ${node.writable ? 'writable' : 'read-only'}${node.role === 'origin' ? ' (the origin)' : ''}`)
          out(`database key ${hex(node.key)}`)
          out(`writer key   ${node.writerKey ? hex(node.writerKey) : '-'}`)
          out(`node key     ${hex(node.noiseKeyPair.publicKey)}`)
          out(`peers        ${node.peerCount}${this.peers.size ? `: ${[...this.peers.values()].join(', ')}` : ''}`)
          if (this.request) out(`waiting for authorisation, code ${this.request.code}`)
          const pending = this.account.pendingPrompts
          if (pending.length) out(`requests waiting for an answer: ${pending.map((p) => JSON.stringify(p.nodeName)).join(', ')}`)
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

function usage(out: (text: string) => void, text: string): true {
  out(`usage: ${text}`)
  return true
}

function show(value: Value): string {
  return typeof value === 'string' ? JSON.stringify(value) : `<${value.byteLength} bytes> ${hex(value)}`
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

runMain(USAGE, main)
