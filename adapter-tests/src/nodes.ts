// Nodes for tests above node-core (adapter packages, integration): built from the published
// @hypha/node-core, so they are the same classes the adapters import.
import sodium from 'sodium-universal'
import b4a from 'b4a'
import { HyphaNode, type HyphaNodeOptions } from '@hypha/node-core'
export { eventually } from '@hypha/test-utils'

/**
 * A fixed 32-byte account root secret per label (BLAKE2b of the label): nodes given the same label
 * belong to the same account. node-core never sees passphrases, so tests need none.
 */
export function rootSecret(label = 'test account'): Uint8Array {
  const out = b4a.alloc(32)
  sodium.crypto_generichash(out, b4a.from(label))
  return out
}

/** Starts a node and registers its close with the test file's clean-ups. */
export async function startNode(options: HyphaNodeOptions, cleanups: Array<() => unknown>): Promise<HyphaNode> {
  const node = new HyphaNode(options)
  cleanups.push(() => node.close())
  await node.ready()
  return node
}
