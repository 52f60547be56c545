// Runs in Chromium: a read-only HyphaNode that reaches a Node origin over WebSocket.
import { HyphaNode } from '@hypha/node-core'
import { deriveRootSecret } from '@hypha/auth'
import { webSocketClient } from '@hypha/transport-websocket'

let node: HyphaNode | null = null
const received: string[] = []
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/**
 * Derives the root secret here (cheap Argon2id parameters) and connects to `url`. Given no
 * database key, the new device looks it up: the origin answers on the lookup channel.
 */
async function start(url: string, passphrase: string, name: string, kdf: { iterations: number; memoryKiB: number }) {
  const rootSecret = await deriveRootSecret(passphrase, name, kdf)
  node = new HyphaNode({ role: 'read-only', rootSecret, lookupTimeoutMs: 30_000, transports: [webSocketClient({ url })] })
  await node.ready()
  // The channel exists once the node is open (its keys are read from storage in ready()).
  node.channel.on('message', ({ payload }) => received.push(new TextDecoder().decode(payload)))
  return { key: hex(node.key), writerKey: hex(node.writerKey!), channelKey: hex(node.channel.publicKey!), writable: node.writable }
}

/** Waits until the view holds at least `count` entries (polling: no timing assertion). */
async function entries(count: number) {
  for (;;) {
    const list = await node!.list()
    if (list.length >= count) return list.map((e) => `${e.key}=${String(e.value)}`)
    await sleep(50)
  }
}

/** Sends `text` on the secure channel (again each time it is called). */
function send(text: string) {
  return node!.channel.send(new TextEncoder().encode(text), { contentType: 'text/plain' }).peers
}

function messages() {
  return [...received]
}

async function stop() {
  await node?.close()
  node = null
}

/** A directory path as storage, which needs Node: the constructor must refuse it with a typed error naming the browser's storages. */
function directoryStorage(): { code?: string; message: string } | null {
  try {
    new HyphaNode({ role: 'origin', rootSecret: new Uint8Array(32), storage: './hypha-data' })
    return null
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message }
  }
}

const api = { start, entries, send, messages, stop, directoryStorage, peerCount: () => node?.peerCount ?? 0 }

declare global {
  interface Window {
    hyphaWs: typeof api
  }
}

window.hyphaWs = api
document.title = 'ready'
