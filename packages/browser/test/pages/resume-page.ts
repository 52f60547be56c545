// Runs in Chromium: a read-only HyphaNode on IndexedDB that syncs from a Node origin over
// WebSocket, for the restart-mid-sync test (the page is reloaded in the middle of the sync).
import { HyphaNode, deriveRootSecret, idbStorage, webSocketClient } from '@hypha/node-core'

let node: HyphaNode | null = null
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function start(url: string, passphrase: string, name: string, kdf: { iterations: number; memoryKiB: number }) {
  const rootSecret = await deriveRootSecret(passphrase, name, kdf)
  node = new HyphaNode({
    role: 'read-only',
    rootSecret,
    name: 'chromium',
    storage: idbStorage('hypha-resume-test'),
    transports: [webSocketClient({ url })]
  })
  await node.ready()
}

/** Waits until `key` is readable (one lookup fetches only the blocks on its path). */
async function waitFor(key: string) {
  for (;;) {
    await node!.update()
    const value = await node!.get(key)
    if (value !== null) return String(value)
    await sleep(20)
  }
}

/** Waits until the view lists `count` entries, then returns them as `key=value` lines. */
async function all(count: number) {
  for (;;) {
    await node!.update()
    const list = await node!.list()
    if (list.length >= count) return list.map((e) => `${e.key}=${String(e.value)}`)
    await sleep(50)
  }
}

/** How many entries the view lists now. */
async function count() {
  await node!.update()
  return (await node!.list()).length
}

const api = { start, waitFor, all, count }

declare global {
  interface Window {
    hyphaResume: typeof api
  }
}

window.hyphaResume = api
document.title = 'ready'
