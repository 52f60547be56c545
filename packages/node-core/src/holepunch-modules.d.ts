// Minimal types for the untyped Holepunch modules node-core uses (only what it calls; checked
// against autobase 6.5.13, hyperbee 2.26.5, random-access-file 4.1.2, random-access-storage 3.0.2).

declare module 'autobase' {
  import { EventEmitter } from 'events'

  namespace Autobase {
    interface ApplyNode {
      /** The writer's oplog core. */
      from: { key: Uint8Array }
      /** Length of the writer's core including this node (its index is length - 1). */
      length: number
      value: unknown
      indexed: boolean
    }
    interface Options<V> {
      open?: (store: any, base: Autobase<V>) => V
      apply?: (nodes: ApplyNode[], view: V, host: Autobase<V>) => Promise<void>
      close?: (view: V) => Promise<void>
      valueEncoding?: unknown
      keyPair?: { publicKey: Uint8Array; secretKey: Uint8Array }
      encryptionKey?: Uint8Array | null
      ackInterval?: number
      ackThreshold?: number
    }
  }

  class Autobase<V = any> extends EventEmitter {
    constructor(store: unknown, bootstrap: Uint8Array | null, options?: Autobase.Options<V>)
    readonly key: Uint8Array
    readonly discoveryKey: Uint8Array
    readonly local: { key: Uint8Array; length: number }
    readonly view: V
    readonly writable: boolean
    readonly isIndexer: boolean
    readonly opened: boolean
    readonly closed: boolean
    readonly closing: Promise<void> | null
    ready(): Promise<void>
    close(): Promise<void>
    update(): Promise<void>
    append(value: unknown): Promise<void>
    /** Only inside apply. */
    addWriter(key: Uint8Array, opts?: { indexer?: boolean }): Promise<void>
    /** Only inside apply; throws for the last indexer (check `removeable` first). */
    removeWriter(key: Uint8Array): Promise<void>
    removeable(key: Uint8Array): boolean
  }
  export = Autobase
}

declare module 'hyperbee' {
  namespace Hyperbee {
    interface Entry {
      seq: number
      key: Uint8Array
      value: Uint8Array
    }
    interface Range {
      gt?: Uint8Array
      gte?: Uint8Array
      lt?: Uint8Array
      lte?: Uint8Array
      limit?: number
      reverse?: boolean
    }
    interface Batch {
      get(key: Uint8Array): Promise<Entry | null>
      put(key: Uint8Array, value: Uint8Array): Promise<void>
      del(key: Uint8Array): Promise<void>
      flush(): Promise<void>
      close(): Promise<void>
    }
  }
  class Hyperbee {
    constructor(core: unknown, opts?: { keyEncoding?: string; valueEncoding?: string; extension?: boolean })
    readonly version: number
    ready(): Promise<void>
    close(): Promise<void>
    get(key: Uint8Array, opts?: { update?: boolean; wait?: boolean }): Promise<Hyperbee.Entry | null>
    batch(opts?: { update?: boolean }): Hyperbee.Batch
    createReadStream(range?: Hyperbee.Range, opts?: { update?: boolean }): AsyncIterable<Hyperbee.Entry>
    /** The entries that differ from `other`: `left` this tree's, `right` the other's (null: none). */
    createDiffStream(other: Hyperbee, range?: Hyperbee.Range): AsyncIterable<{ left: Hyperbee.Entry | null; right: Hyperbee.Entry | null }>
    /** A read-only tree of this one at `version` (blocks). */
    checkout(version: number): Hyperbee
    /** A read-only tree of this one as it is now. */
    snapshot(): Hyperbee
    /** The core it is stored in (an Autobase view session here). */
    readonly core: unknown
  }
  export = Hyperbee
}
