/**
 * The one internal interface between HyphaNode and its database engine. Only engine/*.ts know
 * that the engine is Autobase 6 with a Hyperbee view; a move to another engine stays here.
 */
import type { EventEmitter } from 'events'
import type { Op } from './ops.js'

/** A raw view entry: the user key and the tagged value bytes (see ops.ts). */
export interface EngineEntry {
  key: Uint8Array
  value: Uint8Array
}

export interface EngineRange {
  gt?: Uint8Array
  gte?: Uint8Array
  lt?: Uint8Array
  lte?: Uint8Array
  limit?: number
  reverse?: boolean
}

export interface WriterInfo {
  /** The writer's oplog core key: what `addWriter`/`removeWriter` take. */
  key: Uint8Array
  /** True for the origin's writer (implicitly a writer from the start). */
  origin: boolean
  indexer: boolean
}

/** An op in the log that apply skipped. Reported again if a reorder makes Autobase re-apply it. */
export interface InvalidOp {
  /** Key of the writer core the op came from. */
  writer: Uint8Array
  /** Index of the op in that core. */
  seq: number
  reason: 'malformed' | 'not-a-writer' | 'last-indexer' | 'not-a-member'
  message: string
}

export interface EngineEvents {
  /** The view changed (local or remote ops applied, or a reorder). */
  update: []
  /** This node became a writer (true) or stopped being one (false). */
  writable: [writable: boolean]
  'invalid-op': [op: InvalidOp]
  error: [error: unknown]
}

export interface Engine extends EventEmitter<EngineEvents> {
  /** Database key (the Autobase key). */
  readonly key: Uint8Array
  readonly discoveryKey: Uint8Array
  /** This node's writer core key (what another writer passes to addWriter), null if it has none. */
  readonly localWriterKey: Uint8Array | null
  readonly writable: boolean
  /** False on a blind engine (no encryption key): it stores and serves ciphertext only. */
  readonly readable: boolean
  /** The Corestore every core of this engine lives in: what connections replicate. */
  readonly store: any
  ready(): Promise<void>
  close(): Promise<void>
  /** Waits until everything already received is applied to the view. */
  update(): Promise<void>
  /** Appends ops as one Autobase append (one batch). */
  append(ops: Op[]): Promise<void>
  get(key: Uint8Array): Promise<Uint8Array | null>
  range(range: EngineRange): AsyncIterable<EngineEntry>
  writers(): Promise<WriterInfo[]>
  isWriter(key: Uint8Array): Promise<boolean>
}
