/**
 * What `@hypha/node-core/debug` (debug.ts) reaches inside nodes and engines. Nodes and engines
 * register their internals here and only debug.ts reads them, so nothing of it shows on the public
 * classes. Not exported from the package's main entry.
 */
import type { Engine } from './engine/types.js'

export interface EngineInternals {
  /** The Autobase of a full engine; null on a blind one. */
  readonly autobase: unknown
  /** Appends blocks to this writer's oplog as given (no encoding, no op checks); null on a blind engine. */
  readonly appendBlocks: ((blocks: Uint8Array[]) => Promise<void>) | null
}

export interface NodeInternals {
  /** The node's root Corestore (every core it stores). */
  readonly store: unknown
  /** The engine now (null before the node opened), without waiting. */
  engine(): Engine | null
  /** Waits for `ready()` (rejects `ERR_CLOSED` once closed) and gives the engine. */
  use(): Promise<Engine>
}

const engines = new WeakMap<Engine, EngineInternals>()
const nodes = new WeakMap<object, NodeInternals>()

export function registerEngine(engine: Engine, internals: EngineInternals): void {
  engines.set(engine, internals)
}

export function engineInternals(engine: Engine): EngineInternals {
  return engines.get(engine) ?? { autobase: null, appendBlocks: null }
}

export function registerNode(node: object, internals: NodeInternals): void {
  nodes.set(node, internals)
}

export function nodeInternals(node: object): NodeInternals | undefined {
  return nodes.get(node)
}
