// Minimal local types for the untyped networking modules the WebRTC and Hyperswarm transports use.
// Only what Hypha calls is declared. These are internal: public APIs never expose these types
// (a .d.ts is not emitted to dist, so consumers would not see them).

declare module 'hyperdht' {
  import { EventEmitter } from 'events'

  namespace HyperDHT {
    interface KeyPair {
      publicKey: Uint8Array
      secretKey: Uint8Array
    }
    interface Node {
      host: string
      port: number
    }
    interface Options {
      bootstrap?: Array<string | Node>
      /** Address the UDP socket binds to. */
      host?: string
      port?: number
      ephemeral?: boolean
      firewalled?: boolean
    }
  }

  class HyperDHT extends EventEmitter {
    constructor(opts?: HyperDHT.Options)
    static keyPair(seed?: Uint8Array): HyperDHT.KeyPair
    readonly destroyed: boolean
    ready(): Promise<void>
    fullyBootstrapped(): Promise<void>
    address(): { host: string; port: number }
    destroy(opts?: { force?: boolean }): Promise<void>
  }

  export = HyperDHT
}

declare module 'hyperdht/testnet' {
  import HyperDHT = require('hyperdht')

  namespace createTestnet {
    interface Testnet {
      nodes: HyperDHT[]
      bootstrap: HyperDHT.Node[]
      createNode(opts?: HyperDHT.Options): HyperDHT
      destroy(): Promise<void>
    }
  }

  function createTestnet(
    size?: number,
    opts?: { host?: string; port?: number; bootstrap?: HyperDHT.Node[] }
  ): Promise<createTestnet.Testnet>

  export = createTestnet
}

declare module 'hyperswarm' {
  import { EventEmitter } from 'events'
  import HyperDHT = require('hyperdht')

  namespace Hyperswarm {
    interface PeerInfo {
      publicKey: Uint8Array
      topics: Uint8Array[]
      /** True when we dialled (we are the client). */
      client: boolean
      ban(banned?: boolean): void
    }
    interface Discovery {
      flushed(): Promise<void>
      refresh(opts?: { server?: boolean; client?: boolean }): Promise<void>
      destroy(): Promise<void>
    }
    interface Options {
      keyPair?: HyperDHT.KeyPair
      seed?: Uint8Array
      dht?: HyperDHT
      bootstrap?: Array<string | HyperDHT.Node>
      maxPeers?: number
      /** Return true to reject the remote (it is then banned by the swarm). */
      firewall?: (remotePublicKey: Uint8Array, payload: unknown) => boolean
    }
  }

  class Hyperswarm extends EventEmitter {
    constructor(opts?: Hyperswarm.Options)
    readonly keyPair: HyperDHT.KeyPair
    readonly dht: HyperDHT
    readonly destroyed: boolean
    /** Open connections (Noise secret streams). */
    readonly connections: Set<any>
    readonly peers: Map<string, Hyperswarm.PeerInfo>
    join(topic: Uint8Array, opts?: { server?: boolean; client?: boolean }): Hyperswarm.Discovery
    leave(topic: Uint8Array): Promise<void>
    flush(): Promise<boolean>
    listen(): Promise<void>
    destroy(opts?: { force?: boolean }): Promise<void>
  }

  export = Hyperswarm
}
