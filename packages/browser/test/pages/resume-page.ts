// Runs in Chromium: a read-only HyphaNode on IndexedDB that syncs from a Node origin over
// WebSocket, for the restart-mid-sync test (the page is reloaded in the middle of the sync).
import { HyphaNode } from '@hypha/node-core'
import { deriveRootSecret } from '@hypha/auth'
import { idbStorage } from '@hypha/storage-indexeddb'
import { webSocketClient } from '@hypha/transport-websocket'

let node: HyphaNode | null = null
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const fromHex = (hex: string) => new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)))
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/**
 * Opens the read-only node on IndexedDB: joining `databaseKeyHex`, or (null) reopening the device
 * its storage holds, with a lookup too short to find anything, so it must come from storage.
 */
async function start(url: string, passphrase: string, name: string, kdf: { iterations: number; memoryKiB: number }, databaseKeyHex: string | null) {
  const rootSecret = await deriveRootSecret(passphrase, name, kdf)
  node = new HyphaNode({
    role: 'read-only',
    rootSecret,
    ...(databaseKeyHex === null ? { lookupTimeoutMs: 1 } : { databaseKey: fromHex(databaseKeyHex) }),
    storage: idbStorage('hypha-resume-test'),
    transports: [webSocketClient({ url })]
  })
  await node.ready()
  return { key: hex(node.key), writerKey: hex(node.writerKey!) }
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
