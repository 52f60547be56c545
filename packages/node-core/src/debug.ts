/**
 * `@hypha/node-core/debug`: a look inside a HyphaNode, for tests and benchmarks. NOT a stable
 * API: what it returns is the engine's own objects (Autobase 6, Corestore 6), which may change
 * with any release. Applications use HyphaNode's API.
 *
 * Use the node and these functions from the same copy of the package (both from the built
 * package, or both from its sources): each copy keeps its own registry, and a node from another
 * copy is refused with `ERR_INVALID_ARGUMENT`.
 */
import type { HyphaNode } from './node.js'
import type { Engine } from './engine/types.js'
import { HyphaNodeError } from './engine/errors.js'
import { engineInternals, nodeInternals, type NodeInternals } from './debug-registry.js'
import { withCore } from './cores.js'
import { checkKey32 } from './node-values.js'

function internals(node: HyphaNode): NodeInternals {
  const found = nodeInternals(node)
  if (!found) throw new HyphaNodeError('ERR_INVALID_ARGUMENT', 'not a HyphaNode of this copy of @hypha/node-core')
  return found
}

function openEngine(node: HyphaNode): Engine {
  const engine = internals(node).engine()
  if (!engine) throw new HyphaNodeError('ERR_NOT_OPEN', 'the node is not open yet: await node.ready() first')
  return engine
}

/**
 * The node's root Corestore (`corestore` 6): every core it stores, the database's in a namespace.
 * Available from construction on. Reading is fine; writing to it bypasses every check.
 */
export function corestoreOf(node: HyphaNode): any {
  return internals(node).store
}

/**
 * The full node's Autobase (`autobase` 6.5, with a Hyperbee view): e.g. `.local` (this writer's
 * oplog core, decrypting), the 'fast-forward' event. Null on an always-on node (it runs none).
 * Throws `ERR_NOT_OPEN` before `ready()` resolved.
 */
export function autobaseOf(node: HyphaNode): any {
  return engineInternals(openEngine(node)).autobase
}

/**
 * Appends `blocks` to this node's oplog exactly as given, valid ops or not, as one Autobase
 * append: lets tests play a misbehaving writer (apply reports what it skips as 'invalid-op').
 * Waits for `ready()`. Rejects with `HyphaNodeError`: `ERR_WRONG_ROLE` on an always-on node,
 * `ERR_NOT_WRITABLE` when the node is not a writer, `ERR_CLOSED` once closed.
 */
export async function appendRawOplog(node: HyphaNode, blocks: Uint8Array[]): Promise<void> {
  const append = engineInternals(await internals(node).use()).appendBlocks
  if (!append) throw new HyphaNodeError('ERR_WRONG_ROLE', 'an always-on node has no oplog: only full nodes append')
  await append(blocks)
}

/**
 * Block `index` of the core `coreKey` (32 bytes) as this node stores it: not decrypted, so on an
 * always-on node (and for the encrypted oplogs of full nodes) it is ciphertext. Resolves null
 * when the node does not hold that block; never waits for peers. Waits for `ready()`.
 */
export async function rawStoredBlock(node: HyphaNode, coreKey: Uint8Array, index: number): Promise<Uint8Array | null> {
  checkKey32(coreKey, 'coreKey')
  if (!Number.isInteger(index) || index < 0) throw new HyphaNodeError('ERR_INVALID_ARGUMENT', 'index must be an integer ≥ 0')
  const { store } = await internals(node).use()
  // `decrypt: false`: a session of a full node's store may carry the oplog's block encryption.
  return withCore(store, coreKey, (core) => core.get(index, { wait: false, valueEncoding: 'binary', decrypt: false }))
}
