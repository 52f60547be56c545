/**
 * Membership and the device registry behind HyphaNode's API: the ops that add, remove and
 * register writers (checked here, applied by the engine: engine/autobase.ts), and what a node
 * knows of writers, devices and writer cores. HyphaNode's methods document the behaviour.
 */
import { withCore } from './cores.js'
import type { Op } from './engine/ops.js'
import { NO_KEY } from './engine/registry.js'
import type { Engine } from './engine/types.js'
import { checkChannelBinding, checkFlag, checkKey32, deviceName, noop, optionBag } from './node-values.js'
import type { AddWriterOptions, Writer } from './node-types.js'

/** The op `addWriter` appends; throws `ERR_INVALID_ARGUMENT` for a bad key, name or channel binding. */
export function addWriterOp(writerKey: Uint8Array, given: AddWriterOptions | undefined): Op {
  checkKey32(writerKey, 'writerKey')
  const options = optionBag(given, 'options')
  checkFlag(options.indexer, 'indexer')
  checkFlag(options.recovery, 'recovery')
  const name = deviceName(options.name ?? '')
  const { channelKey, channelProof } = checkChannelBinding(options.channelKey, options.channelProof)
  return {
    type: 'add-writer',
    key: writerKey,
    indexer: options.indexer === true,
    recovery: options.recovery === true,
    name,
    channelKey,
    channelProof,
    at: Date.now()
  }
}

export function removeWriterOp(writerKey: Uint8Array): Op {
  checkKey32(writerKey, 'writerKey')
  return { type: 'remove-writer', key: writerKey, at: Date.now() }
}

/** `name` checked already (deviceName); `channelKey` null on a device without one. */
export function registerDeviceOp(name: string, channelKey: Uint8Array | null, channelProof: Uint8Array): Op {
  return { type: 'register-device', name, channelKey: channelKey ?? NO_KEY, channelProof, at: Date.now() }
}

/** Current writers, as copies (the engine's objects stay its own). */
export async function writers(engine: Engine): Promise<Writer[]> {
  return (await engine.writers()).map((w) => ({ ...w }))
}

/** See `HyphaNode.writerCoreLength`. `waitMs`: how long to ask peers for a longer core (ms). */
export async function writerCoreLength(
  engine: Engine,
  writerKey: Uint8Array,
  waitMs: number | undefined
): Promise<{ length: number; held: number; peerHeld: number }> {
  return withCore(engine.store, writerKey, async (core) => {
    if (waitMs) {
      await Promise.race([core.update({ wait: true }).catch(noop), new Promise((r) => setTimeout(r, waitMs))])
    }
    const peerHeld = Math.max(0, ...core.peers.map((p: { remoteContiguousLength: number }) => p.remoteContiguousLength))
    return { length: core.length, held: core.contiguousLength, peerHeld }
  })
}
