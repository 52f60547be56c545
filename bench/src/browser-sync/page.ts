// The page of the browser-sync benchmark (bundled by @hypha/browser's buildBrowserBundle, run in
// Chromium): a fresh read-only node on memory or IndexedDB syncs from a Node origin over WebSocket.
import { memoryStorage } from '@hypha/node-core'
import { webSocketClient } from '@hypha/transport-websocket'
import { idbStorage } from '@hypha/storage-indexeddb'
import { syncReader, type SyncResult } from './reader.js'

/** What the page did during one sync (for "where the time goes"): counted by wrapping the browser APIs. */
export interface PageCounts {
  idbTransactions: number
  idbPuts: number
  idbPutBytes: number
  wsSends: number
  wsSendBytes: number
  wsMessages: number
}
const counts: PageCounts = { idbTransactions: 0, idbPuts: 0, idbPutBytes: 0, wsSends: 0, wsSendBytes: 0, wsMessages: 0 }
const transaction = IDBDatabase.prototype.transaction
IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof transaction>) {
  counts.idbTransactions++
  return transaction.apply(this, args)
}
const put = IDBObjectStore.prototype.put
IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
  counts.idbPuts++
  if (value instanceof Uint8Array) counts.idbPutBytes += value.byteLength
  return put.call(this, value, key)
}
const send = WebSocket.prototype.send
WebSocket.prototype.send = function (this: WebSocket, data: Parameters<typeof send>[0]) {
  counts.wsSends++
  counts.wsSendBytes += (data as Uint8Array).byteLength ?? 0
  if (!(this as { counted?: boolean }).counted) {
    ;(this as { counted?: boolean }).counted = true
    this.addEventListener('message', () => counts.wsMessages++)
  }
  return send.call(this, data)
}

const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16))

async function sync(options: { url: string; rootSecret: string; databaseKey: string; storage: 'memory' | 'idb'; dbName: string; entries: number; valueBytes: number; timeoutMs: number}): Promise<SyncResult & { counts: PageCounts }> {
  for (const k of Object.keys(counts) as Array<keyof PageCounts>) counts[k] = 0
  const result = await syncReader({
    rootSecret: fromHex(options.rootSecret),
    databaseKey: fromHex(options.databaseKey),
    storage: options.storage === 'idb' ? idbStorage(options.dbName) : memoryStorage(),
    transport: webSocketClient({ url: options.url, reconnect: false }),
    entries: options.entries,
    valueBytes: options.valueBytes,
    timeoutMs: options.timeoutMs
  })
  return { ...result, counts: { ...counts } }
}

/**
 * The cost of one commit alone: `count` small read-write transactions one after the other (each
 * one put of a 4 KiB block), as the sync's chain makes them; ms per commit, median of the run.
 */
async function commitProbe(dbName: string, count: number): Promise<{ medianMs: number }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(dbName, 1)
    req.onupgradeneeded = () => req.result.createObjectStore('blocks')
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
  const times: number[] = []
  const block = new Uint8Array(4096)
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('blocks', 'readwrite')
      tx.objectStore('blocks').put(block, i % 16)
      tx.oncomplete = () => resolve()
      tx.onerror = tx.onabort = () => reject(tx.error)
    })
    times.push(performance.now() - start)
  }
  db.close()
  times.sort((a, b) => a - b)
  return { medianMs: times[Math.floor(times.length / 2)]! }
}

const api = { sync, commitProbe }

declare global {
  interface Window {
    hyphaBenchSync: typeof api
  }
}

window.hyphaBenchSync = api
document.title = 'ready'
