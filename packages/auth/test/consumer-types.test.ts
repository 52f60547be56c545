// The published declarations work for a consumer: a TypeScript project with skipLibCheck: false
// (so every .d.ts it reaches is checked) compiles against the built packages, as linked from npm,
// importing every published package and entry.
import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const run = promisify(execFile)
const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
let dir: string | null = null
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
  dir = null
})

/** Every entry of every package under packages/, as a consumer imports it ('@hypha/x', '@hypha/x/sub'). */
async function publishedEntries(): Promise<string[]> {
  const entries: string[] = []
  for (const name of (await readdir(join(repo, 'packages'))).sort()) {
    const pkg = JSON.parse(await readFile(join(repo, 'packages', name, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> }
    for (const path of Object.keys(pkg.exports)) entries.push(path === '.' ? pkg.name : `${pkg.name}/${path.slice(2)}`)
  }
  return entries
}

// Both files use a few types and values of each entry; never run (noEmit), only type-checked.
// node.ts: every entry a Node program may import, so it must type-check without the DOM lib.
const NODE_APP = `import { signUp, signIn, recover, AuthError, deriveRootSecret, type Account, type AuthorisationPrompt, type AuthorisationRequest } from '@hypha/auth'
import { buildBrowserBundle, type BrowserBundleResult } from '@hypha/browser'
import shim, { crypto_generichash, crypto_sign_verify_detached } from '@hypha/browser/sodium-shim'
import { hyphaVitePlugin } from '@hypha/browser/vite'
import { EphemeralExtension, muxerOf, type EphemeralMessage } from '@hypha/ephemeral-ext'
import { HyphaNode, memoryStorage, type Device, type Entry, type StorageFunction } from '@hypha/node-core'
import { DialingTransport, TransportError, type Transport, type TransportContext, type SecretStreamOptions } from '@hypha/node-core/transport'
import { autobaseOf, corestoreOf } from '@hypha/node-core/debug'
import { SecureChannel, type SecureMessage, type SecureChannelOptions } from '@hypha/secure-channel'
import { fileStorage } from '@hypha/storage-file'
import { hyperswarmTransport, type HyperswarmTransportOptions } from '@hypha/transport-hyperswarm'
import { tcpServer, tcpClient, type TcpServerTransport, type TcpClientOptions } from '@hypha/transport-tcp'
import { webRtcTransport, isLoopbackCandidate, type WebRtcTransportOptions, type WebRtcConnectionInfo } from '@hypha/transport-webrtc'
import { nodeDatachannelWrtc, type NodeDatachannelPolyfill } from '@hypha/transport-webrtc/node-datachannel'
import { signallingServer, type SignallingServer, type SignallingServerOptions } from '@hypha/transport-webrtc/signalling-server'
import { webSocketClient, WebSocketStream, type WebSocketClientOptions } from '@hypha/transport-websocket'
import { webSocketServer, type WebSocketServerTransport, type WebSocketServerOptions } from '@hypha/transport-websocket/server'

export async function nativeNode(dir: string): Promise<Device[]> {
  const storage: StorageFunction = await fileStorage(dir)
  const server: TcpServerTransport = tcpServer({ port: 0 })
  const client: TcpClientOptions = { host: '127.0.0.1', port: 1 }
  const wsOptions: WebSocketServerOptions = { port: 0, path: '/hypha' }
  const ws: WebSocketServerTransport = webSocketServer(wsOptions)
  const swarmOptions: HyperswarmTransportOptions = { bootstrap: [{ host: '127.0.0.1', port: 49737 }] }
  const transports: Transport[] = [server, tcpClient(client), ws, hyperswarmTransport(swarmOptions)]
  const account: Account = await signUp({ name: 'ada', nodeName: 'Laptop', storage, transports })
  account.on('authorisation-request', (prompt: AuthorisationPrompt) => console.log(prompt.code, prompt.warnings))
  const node: HyphaNode = account.node
  node.on('update', () => {})
  const entries: Entry[] = await node.list()
  console.log(entries.length, account.locator, signIn, recover, AuthError, TransportError, autobaseOf(node), corestoreOf(node))
  const signalling: SignallingServer = await signallingServer({ port: 0, host: '127.0.0.1' } satisfies SignallingServerOptions)
  signalling.close()
  return node.devices()
}

export async function peer(polyfill: NodeDatachannelPolyfill, storage: StorageFunction): Promise<AuthorisationRequest> {
  const rtc: WebRtcTransportOptions = { signallingUrl: 'ws://127.0.0.1:1/hypha-signal', candidateFilter: isLoopbackCandidate, wrtc: nodeDatachannelWrtc(polyfill, { bindAddress: '127.0.0.1' }) }
  const wsClient: WebSocketClientOptions = { url: 'ws://127.0.0.1:1/hypha' }
  const info: WebRtcConnectionInfo | null = null
  console.log(info, WebSocketStream, await deriveRootSecret('correct horse battery staple', 'ada'))
  const account: Account = await signIn({ name: 'ada', nodeName: 'Phone', passphrase: 'p', storage, transports: [webSocketClient(wsClient), webRtcTransport(rtc)] })
  return account.requestAuthorisation()
}

export function channels(extension: EphemeralExtension, options: Omit<SecureChannelOptions, 'ephemeral'>): void {
  extension.on('message', (message: EphemeralMessage) => console.log(message.contentType))
  const channel = new SecureChannel({ ...options, ephemeral: extension })
  channel.on('message', (message: SecureMessage) => console.log(message.payload))
  console.log(muxerOf, memoryStorage())
}

export abstract class MyTransport extends DialingTransport {
  constructor(options: SecretStreamOptions) {
    super(options)
  }
  current(): TransportContext | null {
    return this.context
  }
}
export const failure: TransportError | null = null

export async function bundle(): Promise<number> {
  const hash = new Uint8Array(32)
  crypto_generichash(hash, new Uint8Array(1))
  const ok: boolean = crypto_sign_verify_detached(new Uint8Array(64), hash, new Uint8Array(32))
  console.log(ok, shim.crypto_generichash === crypto_generichash, hyphaVitePlugin().name)
  const result: BrowserBundleResult = await buildBrowserBundle({ entry: 'src/app.ts', outfile: 'public/app.js' })
  return result.gzipBytes + result.stubs.length
}
`

// browser.ts: the browser-only entry (its options name IDBFactory, so it needs the DOM lib).
const BROWSER_APP = `import { idbStorage, type IdbStorageOptions } from '@hypha/storage-indexeddb'
import { memoryStorage, type StorageFunction } from '@hypha/node-core'
import { peer } from './node.js'

const options: IdbStorageOptions = { indexedDB: globalThis.indexedDB }
const storage: StorageFunction = typeof indexedDB === 'undefined' ? memoryStorage() : idbStorage('hypha-ada', options)
export const request = peer({ RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }, storage)
`

/** A consumer project's tsconfig: strict, every .d.ts checked, Node types, and `lib`. */
const tsconfig = (lib: string[], files: string[]) =>
  JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib, strict: true, skipLibCheck: false, noEmit: true, types: ['node'] },
    files
  })

describe('published types', () => {
  it('a consumer with skipLibCheck: false type-checks against every published package and entry', async () => {
    // The two files import all of them: a new entry must be added there.
    const entries = await publishedEntries()
    expect(entries.filter((entry) => !`${NODE_APP}${BROWSER_APP}`.includes(`from '${entry}'`))).toEqual([])

    dir = await mkdtemp(join(tmpdir(), 'hypha-consumer-'))
    await mkdir(join(dir, 'node_modules', '@hypha'), { recursive: true })
    await mkdir(join(dir, 'node_modules', '@types'), { recursive: true })
    for (const name of await readdir(join(repo, 'packages'))) {
      await symlink(join(repo, 'packages', name), join(dir, 'node_modules', '@hypha', name))
    }
    await symlink(join(repo, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'))
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }')
    await writeFile(join(dir, 'node.ts'), NODE_APP)
    await writeFile(join(dir, 'browser.ts'), BROWSER_APP)
    // A Node program (no DOM lib), and a project with both sides (a web app and its server).
    await writeFile(join(dir, 'tsconfig.node.json'), tsconfig(['ES2022'], ['node.ts']))
    await writeFile(join(dir, 'tsconfig.json'), tsconfig(['ES2022', 'DOM'], ['node.ts', 'browser.ts']))
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')
    for (const project of ['tsconfig.node.json', 'tsconfig.json']) {
      const result = await run(process.execPath, [tsc, '-p', join(dir, project)]).then(
        () => '',
        (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`
      )
      expect(result, project).toBe('')
    }
  }, 240_000)
})
