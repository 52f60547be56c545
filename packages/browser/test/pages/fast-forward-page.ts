// Runs in Chromium: a read-only HyphaNode that syncs from a Node origin over WebSocket, on
// IndexedDB or on memory storage, for the late-joiner test (thousands of entries; with many
// small batches Autobase fast-forwards the reader to the origin's indexed view).
import { HyphaNode, memoryStorage } from '@hypha/node-core'
import { autobaseOf } from '@hypha/node-core/debug'
import { deriveRootSecret } from '@hypha/auth'
import { idbStorage } from '@hypha/storage-indexeddb'
import { webSocketClient } from '@hypha/transport-websocket'

let node: HyphaNode | null = null
let fastForwards = 0
const errors: string[] = []
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const fromHex = (hex: string) => new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)))

// How much IndexedDB work the storage does: transactions opened, and storage requests made.
let transactions = 0
let requests = 0
const transaction = IDBDatabase.prototype.transaction
IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof transaction>) {
  transactions++
  return transaction.apply(this, args)
}

/** Counts the requests (read, write, del, truncate, stat) made to each file of `storage`. */
function counted(storage: (name: string) => unknown) {
  return (name: string) => {
    const file = storage(name) as Record<string, (...args: unknown[]) => unknown>
    for (const method of ['read', 'write', 'del', 'truncate', 'stat']) {
      const original = file[method]!.bind(file)
      file[method] = (...args: unknown[]) => {
        requests++
        return original(...args)
      }
    }
    return file
  }
}

async function start(
  url: string,
  passphrase: string,
  name: string,
  kdf: { iterations: number; memoryKiB: number },
  storage: 'idb' | 'memory',
  dbName: string,
  databaseKeyHex: string
) {
  const rootSecret = await deriveRootSecret(passphrase, name, kdf)
  node = new HyphaNode({
    role: 'read-only',
    rootSecret,
    databaseKey: fromHex(databaseKeyHex),
    storage: counted(storage === 'idb' ? idbStorage(dbName) : memoryStorage()),
    transports: [webSocketClient({ url })]
  })
  node.on('error', (err: unknown) => {
    errors.push(String((err as Error)?.stack ?? err))
  })
  await node.ready()
  // Autobase reports each jump to the origin's indexed view.
  autobaseOf(node).on('fast-forward', () => fastForwards++)
}

/** Waits until the view lists `count` entries or `timeoutMs` passes; returns what it saw. */
async function all(count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  let list: Array<{ key: string; value: unknown }> = []
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) break
    // A stalled node must fail the test rather than hang it: bound every call.
    const got = await Promise.race([
      (async () => {
        await node!.update()
        return node!.list()
      })(),
      sleep(left).then(() => null)
    ])
    if (got === null) break
    list = got
    if (list.length >= count) break
    await sleep(50)
  }
  return {
    count: list.length,
    fastForwards,
    transactions,
    requests,
    errors,
    entries: list.map((e) => `${e.key}=${String(e.value)}`)
  }
}

async function close() {
  await node?.close()
  node = null
}

const api = { start, all, close }

declare global {
  interface Window {
    hyphaFastForward: typeof api
  }
}

window.hyphaFastForward = api
document.title = 'ready'
