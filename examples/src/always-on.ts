// The always-on node as a program: it keeps the person's database (ciphertext only), relays the
// end-to-end encrypted channel between their devices over TCP, WebSocket and optionally
// Hyperswarm, and tells a signing-in device where the database is. It is given the account's
// member credential (one string a device prints: `account.locator`, `node.memberCredential`),
// never the passphrase: it serves members only, and logs sizes, never content.
//
//   node examples/dist/always-on.js --locator <hex> [--tcp-port N] [--ws-port N] [--host H]
//        [--storage <dir>|memory] [--web <dir>] [--swarm [--bootstrap host:port,...]]
//   node examples/dist/always-on.js --web <dir> [...]   (serves the page first; paste the locator)
import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import readline from 'node:readline'
import type { Duplex } from 'node:stream'
import { HyphaNode, memoryStorage, type NodeConnection, type StorageAdapter, type Transport } from '@hypha/node-core'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { fileStorage } from '@hypha/storage-file'
import { hyperswarmTransport } from '@hypha/transport-hyperswarm'
import { signallingServer, type SignallingServer } from '@hypha/transport-webrtc/signalling-server'
import { tcpServer } from '@hypha/transport-tcp'
import { UsageError, findCode, hex, listenFailure, parseCommandLine, parseLocator, parsePort, runMain, short, storageFailure } from './cli-args.js'

const USAGE = `usage: node examples/dist/always-on.js --locator <hex> [options]
       node examples/dist/always-on.js --web <dir> [options]   (then paste the locator)

  --locator <hex>        the account's member credential (258 hex characters; "native.js sign-up",
                         "status" and the web page print it): the database to keep, what lets this
                         node tell a signing-in device where the database is, and the member key
                         with which it relays and seeds only what your devices send. It reads
                         nothing with it. (--member-credential is the same option.)
                         Left out (only with --web): serve the page and WebRTC signalling now,
                         and start relaying once the locator is pasted as a line on stdin
  --host <address>       address to listen on (default 127.0.0.1)
  --tcp-port <n>         TCP port (default 4977; 0 picks a free one)
  --ws-port <n>          HTTP port for WebSocket (/hypha), WebRTC signalling (/hypha-signal)
                         and --web (default 4978; 0 picks a free one)
  --web <dir>            also serve the static files in <dir> over HTTP
  --storage <dir>|memory where to keep the cores and this node's keys (default memory)
  --swarm                also join the account's topic on Hyperswarm (public DHT)
  --bootstrap <h:p,...>  DHT bootstrap nodes for --swarm (e.g. a local testnet)
  --verbose              on a failure, also print the stacks and the causes underneath
  --help, -h             show this

Errors: a bad command line prints one line and exits with code 2; a failure you can act on
(a port in use, a storage folder in use by another node, …) one line, exit code 1.`

const OPTIONS = {
  locator: { type: 'string' },
  'member-credential': { type: 'string' },
  host: { type: 'string' },
  'tcp-port': { type: 'string' },
  'ws-port': { type: 'string' },
  web: { type: 'string' },
  storage: { type: 'string' },
  swarm: { type: 'boolean' },
  bootstrap: { type: 'string' },
  verbose: { type: 'boolean' }, // read by runMain (cli-args.ts), before parsing
  help: { type: 'boolean', short: 'h' }
} as const

const WS_PATH = '/hypha'
const SIGNAL_PATH = '/hypha-signal'

const log = (text: string) => process.stdout.write(`${text}\n`)

async function main(): Promise<void> {
  const { values } = parseCommandLine(process.argv.slice(2), OPTIONS)
  if (values.help) {
    log(USAGE)
    return
  }
  const host = values.host ?? '127.0.0.1'
  const tcpPort = parsePort(values['tcp-port'], '--tcp-port', 4977)
  const wsPort = parsePort(values['ws-port'], '--ws-port', 4978)
  const bootstrap = parseBootstrap(values.bootstrap)
  if (bootstrap && !values.swarm) throw new UsageError('--bootstrap only makes sense with --swarm')
  const webDir = values.web === undefined ? null : path.resolve(values.web)
  if (webDir && !(await isDirectory(webDir))) throw new UsageError(`--web ${values.web}: not a directory`)
  if (values.locator !== undefined && values['member-credential'] !== undefined) {
    throw new UsageError('give --locator or --member-credential (the same option), not both')
  }
  const credentialOption = values['member-credential'] !== undefined ? '--member-credential' : '--locator'
  const credentialValue = values['member-credential'] ?? values.locator
  const givenLocator = credentialValue === undefined ? null : parseLocator(credentialValue, credentialOption)
  if (givenLocator === null && webDir === null) {
    throw new UsageError('--locator is required (or --web <dir>: serve the page first, then paste the locator it shows)')
  }

  let storage: StorageAdapter
  const storageDir = values.storage === undefined || values.storage === 'memory' ? null : path.resolve(values.storage)
  if (storageDir) {
    try {
      await fs.mkdir(storageDir, { recursive: true })
      storage = await fileStorage(storageDir) // also holds this node's Noise key pair: the same identity across restarts
    } catch (err) {
      throw storageFailure(err, '--storage', values.storage!) ?? err
    }
  } else {
    storage = memoryStorage()
  }

  // One HTTP server: WebSocket replication, WebRTC signalling and (optionally) a web app.
  const httpServer = http.createServer((req, res) => void serveStatic(webDir, req, res))
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject)
    httpServer.listen(wsPort, host, () => {
      httpServer.off('error', reject)
      resolve()
    })
  }).catch((err: unknown) => {
    throw listenFailure(err, '--ws-port', host, wsPort) ?? err
  })
  const httpAddress = httpServer.address() as { port: number }
  // No member key yet: open until the locator is known (below, before the next await when it was
  // given on the command line; while waiting for it to be pasted, the page's own tab joins). Then
  // it signals for the account's members only: a join must prove the member key.
  const signalling: SignallingServer = await signallingServer({ server: httpServer, path: SIGNAL_PATH })
  signalling.on('join', (room) => log(`[signal] a WebRTC peer joined (${signalling.roomSize(room)} in the room)`))
  signalling.on('rejected', (err) => {
    if (err.code === 'ERR_NOT_A_MEMBER') log('[signal] refused a WebRTC join without proof of membership')
  })

  let node: HyphaNode | null = null
  let swarm: Transport | null = null
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) {
      log('stopping anyway')
      process.exit(1)
    }
    stopping = true
    log(`[${signal}] stopping…`)
    await swarm?.stop().catch(() => {})
    await node?.close().catch((err: Error) => log(`[error] closing: ${err.message}`))
    await closeHttp(httpServer, signalling)
    log('stopped')
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))

  const base = `${host.includes(':') ? `[${host}]` : host}:${httpAddress.port}`
  log('always-on node')
  log(`  web        ${webDir ? `http://${base}/ (serving ${webDir})` : 'off (--web <dir>)'}`)
  log(`  signalling ws://${base}${SIGNAL_PATH}${givenLocator ? ' (members only)' : ' (open until the locator is given)'}`)
  log(`  storage    ${storageDir ?? 'memory'}`)

  let locator = givenLocator
  if (locator === null) {
    const refuse = refuseReplication(httpServer)
    log('waiting for the locator: paste it here and press Enter (the web page shows it after "Sign up";')
    log('  "native.js sign-up" prints it). Until then: the page and WebRTC signalling only.')
    locator = await readLocator()
    refuse.remove()
    if (locator === null) {
      log('stdin closed without a locator: serving the page and WebRTC signalling only (restart with --locator)')
      return
    }
    if (stopping) return
  }

  const tcp = tcpServer({ port: tcpPort, host })
  const ws = webSocketServer({ server: httpServer, path: WS_PATH })
  const transports: Transport[] = [tcp, ws]
  const started = new HyphaNode({ role: 'always-on', memberCredential: locator, storage, transports })
  node = started
  // Signalling for the account's room, its members only (anyone who joined while open and cannot
  // prove the member key is dropped now).
  signalling.addRoom(hex(started.topic), started.memberKey)

  const peers = new Map<NodeConnection, string>()
  started.on('connection', (conn) => {
    const label = describe(conn)
    peers.set(conn, label)
    log(`[conn] opened ${label} (${started.peerCount} open)`)
  })
  started.on('disconnection', (conn) => {
    log(`[conn] closed ${peers.get(conn) ?? describe(conn)} (${started.peerCount} open)`)
    peers.delete(conn)
  })
  started.on('seeded', (key) => log(`[seed] keeping core ${short(key)}`))
  started.on('seed-refused', (key, err) => log(`[seed] refused core ${short(key)}: ${message(err)}`))
  started.on('bad-announcement', (err) => log(`[seed] ignored a bad announcement: ${err.message}`))
  started.on('peer-refused', (err, info) => log(`[gate] refused a ${info.transport} connection${info.remote ? ` from ${info.remote}` : ''}: ${err.code}`))
  started.on('transport-error', (err, transport) => log(`[transport] ${transport.name}: ${message(err)}`))
  started.on('error', (err) => log(`[error] ${message(err)}`))

  try {
    await started.ready()
  } catch (err) {
    await closeHttp(httpServer, signalling)
    // Under the node's failure to open: the TCP server (the only listener it starts) or the folder.
    const listening = findCode(err, ['ERR_LISTEN']) ? listenFailure(err, '--tcp-port', host, tcpPort) : null
    throw listening ?? (storageDir ? storageFailure(err, '--storage', values.storage!) : null) ?? err
  }
  // Sizes and the sender's public key only: the relay cannot read the envelopes.
  started.channel.on('relayed', (r) => log(`[relay] ${r.bytes} bytes from ${short(r.sender)} to ${r.peers} peer(s)`))

  log(`relaying for database ${hex(started.key)}`)
  log(`  node key   ${hex(started.noiseKeyPair.publicKey)}`)
  log(`  tcp        tcp://${host}:${tcp.port}`)
  log(`  websocket  ws://${base}${WS_PATH}`)
  log(`  can read the data: ${started.readable}`)

  if (values.swarm) {
    // Started by hand, so a slow DHT does not hold up the other transports.
    swarm = hyperswarmTransport(bootstrap ? { bootstrap, host } : {})
    log('  hyperswarm joining the topic…')
    // Not one of the node's transports (so the node does not re-emit its errors): log them here.
    swarm.on('connection-error', (err) => log(`[transport] hyperswarm: ${message(err)}`))
    swarm
      .start({ topic: started.topic, keyPair: started.noiseKeyPair, onConnection: started.addConnection })
      .then(() => log(`[swarm] joined topic ${short(started.topic)}`))
      .catch((err: Error) => log(`[swarm] could not join: ${err.message}`))
  }
  log('ready (Ctrl-C to stop)')
}

/** Lines on stdin until one is a locator (null at the end of input); anything else is answered. */
async function readLocator(): Promise<string | null> {
  const rl = readline.createInterface({ input: process.stdin, terminal: false })
  try {
    for await (const line of rl) {
      if (line.trim() === '') continue
      try {
        return parseLocator(line.trim(), 'the locator')
      } catch (err) {
        log(`${message(err)}; paste it again`)
      }
    }
    return null
  } finally {
    rl.close()
  }
}

/** Until the node runs: WebSocket upgrades to /hypha get "503 no database yet" (the page re-dials). */
function refuseReplication(server: http.Server): { remove(): void } {
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex) => {
    let pathname = ''
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    } catch {
      // A bad URL is nobody's.
    }
    if (pathname !== WS_PATH) return
    const body = 'no database yet: this always-on node is waiting for its locator\n'
    socket.on('error', () => {})
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    )
  }
  server.on('upgrade', onUpgrade)
  return { remove: () => server.off('upgrade', onUpgrade) }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

function describe(conn: NodeConnection): string {
  const key = conn.stream?.remotePublicKey as Uint8Array | null | undefined
  const where = conn.info.remote ? ` ${conn.info.remote}` : ''
  return `${conn.info.transport}${where} peer ${key ? short(key) : '?'}`
}

function parseBootstrap(value: string | undefined): { host: string; port: number }[] | null {
  if (value === undefined) return null
  return value.split(',').map((item) => {
    const match = /^(.+):(\d{1,5})$/.exec(item.trim())
    if (!match || Number(match[2]) > 65535) throw new UsageError(`--bootstrap wants host:port[,host:port…], not "${item}"`)
    return { host: match[1]!, port: Number(match[2]) }
  })
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await fs.stat(dir)).isDirectory()
  } catch {
    return false
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8'
}

async function serveStatic(webDir: string | null, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const send = (status: number, text: string) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : text)
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n')
  if (!webDir) return send(200, `Hypha always-on node: WebSocket ${WS_PATH}, WebRTC signalling ${SIGNAL_PATH}\n`)
  let pathname: string
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
  } catch {
    return send(400, 'bad path\n')
  }
  let file = path.resolve(webDir, '.' + pathname)
  if (file !== webDir && !file.startsWith(webDir + path.sep)) return send(404, 'not found\n')
  try {
    if ((await fs.stat(file)).isDirectory()) file = path.join(file, 'index.html')
    const body = await fs.readFile(file)
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': body.byteLength
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  } catch {
    send(404, 'not found\n')
  }
}

async function closeHttp(server: http.Server, signalling: SignallingServer): Promise<void> {
  await signalling.close().catch(() => {})
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

runMain('always-on.js', main)
