// Runs in Chromium (bundled by buildBrowserBundle): a HyphaNode on idbStorage filling the origin's
// storage quota (test/quota.test.ts lowers it through the devtools protocol). Plain data back.
import { HyphaNode } from '@hypha/node-core'
import { idbStorage } from '../../src/index.js'

interface ErrorInfo {
  name: string
  code: string | null
  message: string
  cause: { name: string; code: string | null; message: string } | null
}

function info(err: unknown): ErrorInfo {
  const e = err as { name?: string; code?: unknown; message?: string; cause?: unknown }
  const cause = e?.cause as { name?: string; code?: unknown; message?: string } | undefined
  return {
    name: String(e?.name),
    code: typeof e?.code === 'string' ? e.code : null,
    message: String(e?.message),
    cause: cause ? { name: String(cause.name), code: typeof cause.code === 'string' ? cause.code : null, message: String(cause.message) } : null
  }
}

function fromHex(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)))
}

const key = (i: number) => `big/${String(i).padStart(4, '0')}`

/**
 * Opens the origin node and puts `count` values of `bytes` bytes one by one until one rejects; it
 * is left open (as a tab whose writes failed would be). Reports every put and 'error' event.
 */
async function fill(dbName: string, rootSecretHex: string, count: number, bytes: number) {
  const node = new HyphaNode({ role: 'origin', rootSecret: fromHex(rootSecretHex), storage: idbStorage(dbName) })
  const errors: ErrorInfo[] = []
  node.on('error', (err) => errors.push(info(err)))
  await node.ready()
  const value = new Uint8Array(bytes)
  const acknowledged: string[] = []
  let rejected: ErrorInfo | null = null
  for (let i = 0; i < count; i++) {
    // Random bytes throughout: Chromium compresses what IndexedDB stores.
    for (let at = 0; at < bytes; at += 65536) crypto.getRandomValues(value.subarray(at, at + 65536))
    try {
      await node.put(key(i), value)
      acknowledged.push(key(i))
    } catch (err) {
      rejected = info(err)
      break
    }
  }
  // Let a failure in the background (after the last put resolved) surface.
  await new Promise((resolve) => setTimeout(resolve, 200))
  let after: ErrorInfo | null = null
  try {
    await node.put('after/failure', 'x')
  } catch (err) {
    after = info(err)
  }
  return { acknowledged, rejected, after, errors }
}

/** Opens the node again (after a reload) and lists the keys it holds. */
async function keys(dbName: string, rootSecretHex: string) {
  const node = new HyphaNode({ role: 'read-only', rootSecret: fromHex(rootSecretHex), storage: idbStorage(dbName), lookupTimeoutMs: 1 })
  await node.ready()
  const list = (await node.list()).map((e) => e.key)
  const writerCore = await node.writerCoreLength(node.writerKey!)
  await node.update()
  const afterUpdate = (await node.list()).map((e) => e.key)
  // With the quota back, it writes again.
  await node.put('after/reload', 'yes')
  const wrote = (await node.get('after/reload')) === 'yes'
  await node.close()
  return { list, afterUpdate, wrote, writerCore }
}

const api = { fill, keys }

declare global {
  interface Window {
    hyphaQuota: typeof api
  }
}

window.hyphaQuota = api
document.title = 'ready'
