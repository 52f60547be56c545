// A Vite app's page (copied into a temporary app by vite.test.ts): a read-only HyphaNode that
// reaches a Node origin over WebSocket, or reports the error it failed with.
import { HyphaNode } from '@hypha/node-core'
import { deriveRootSecret, signUp } from '@hypha/auth'
import { webSocketClient } from '@hypha/transport-websocket'

let node: HyphaNode | null = null
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** Opens the node (cheap Argon2id parameters); resolves with its key, or with the error's name, code and message. */
async function start(url: string, passphrase: string, name: string, kdf: { iterations: number; memoryKiB: number }) {
  try {
    const rootSecret = await deriveRootSecret(passphrase, name, kdf)
    node = new HyphaNode({ role: 'read-only', rootSecret, lookupTimeoutMs: 30_000, transports: [webSocketClient({ url })] })
    await node.ready()
    return { key: hex(node.key) }
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string }
    return { error: { name: e.name, code: e.code, message: e.message } }
  }
}

/** Waits until the view holds at least `count` entries (polling: no timing assertion). */
async function entries(count: number) {
  for (;;) {
    const list = await node!.list()
    if (list.length >= count) return list.map((e) => `${e.key}=${String(e.value)}`)
    await sleep(50)
  }
}

/**
 * signUp with a chosen `passphrase`: resolves with the error's code (a weak one is refused by the
 * strength check, which signUp loads on demand: in a production build, a chunk of its own).
 */
async function weakSignUp(passphrase: string) {
  try {
    const account = await signUp({ passphrase, name: 'ada@example.com', nodeName: 'Page', kdf: { iterations: 1, memoryKiB: 64 } })
    await account.close()
    return { code: 'accepted' }
  } catch (err) {
    return { code: (err as { code?: string }).code ?? String(err) }
  }
}

async function stop() {
  await node?.close()
  node = null
}

const api = { start, entries, weakSignUp, stop }

declare global {
  interface Window {
    hyphaVite: typeof api
  }
}

window.hyphaVite = api
document.title = 'ready'
