// The page of the browser-sync benchmark (bundled by @hypha/browser's buildBrowserBundle, run in
// Chromium): a fresh read-only node on memory or IndexedDB syncs from a Node origin over WebSocket.
import { memoryStorage } from '@hypha/node-core'
import { webSocketClient } from '@hypha/transport-websocket'
import { idbStorage } from '@hypha/storage-indexeddb'
import { syncReader, type SyncResult } from './reader.js'

const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16))

async function sync(options: { url: string; rootSecret: string; databaseKey: string; storage: 'memory' | 'idb'; dbName: string; entries: number; valueBytes: number; timeoutMs: number }): Promise<SyncResult> {
  return syncReader({
    rootSecret: fromHex(options.rootSecret),
    databaseKey: fromHex(options.databaseKey),
    storage: options.storage === 'idb' ? idbStorage(options.dbName) : memoryStorage(),
    transport: webSocketClient({ url: options.url, reconnect: false }),
    entries: options.entries,
    valueBytes: options.valueBytes,
    timeoutMs: options.timeoutMs
  })
}

const api = { sync }

declare global {
  interface Window {
    hyphaBenchSync: typeof api
  }
}

window.hyphaBenchSync = api
document.title = 'ready'
