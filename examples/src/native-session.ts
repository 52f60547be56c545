// native.js once the account is open: what it prints about peers and authorisation requests (and
// the y/N questions for them), its own request to be authorised, and the REPL's commands. Apart
// from the opening in native.ts so that the start-up sequence reads top to bottom there.
import b4a from 'b4a'
import { type Entry, type NodeConnection, type Transport, type Value } from '@hypha/node-core'
import { AuthError, type Account, type AuthorisationPrompt, type AuthorisationRequest } from '@hypha/auth'
import { clientTransport, hex, parseConnectUrl, parseKey, short, type ConnectTarget } from './cli-args.js'
import { deviceLines, warningTexts, writerName } from './format.js'
import { type Question, type Terminal } from './terminal.js'
import { DialWatch, describeDial, type DialState } from './peer-status.js'

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

/** Client transports whose errors their DialWatch reports (the node's transport-error skips them). */
const watchedClients = new WeakSet<Transport>()
/** Every dialled peer's watch, for "status" and to silence them when closing. */
const watches: DialWatch[] = []

/** Reports a client transport's failed attempts, each with the next attempt's time (see DialWatch). Call before it starts. */
export function watchClient(term: Terminal, transport: Transport, url: string): DialWatch {
  watchedClients.add(transport)
  const watch = new DialWatch(transport, url, (text) => term.print(text))
  watches.push(watch)
  return watch
}

/** Where each dialled peer stands (for the failure that ends a sign-in, and "status"). */
export function dialStates(): DialState[] {
  return watches.map((w) => w.state)
}

const SETTLED: Partial<Record<AuthorisationPrompt['status'], string>> = {
  'approved-elsewhere': 'was approved on another device',
  'denied-elsewhere': 'was denied on another device',
  cancelled: 'was withdrawn by that device',
  expired: 'expired without an answer'
}

export class Session {
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
          for (const state of dialStates()) out(`dialling     ${describeDial(state)}`)
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
    for (const watch of watches) watch.close()
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
