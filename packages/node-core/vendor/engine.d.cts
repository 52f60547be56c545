// Types of engine.cjs, which scripts/vendor-engine.mjs builds beside this file (the modules' own
// minimal types: src/holepunch-modules.d.ts and the repository's types/ folder). Read only by
// src/engine/holepunch.ts, whose published declarations do not mention them.
import Autobase = require('autobase')
import Hyperbee = require('hyperbee')
import Corestore = require('corestore')

declare const engine: {
  Autobase: typeof Autobase
  Hyperbee: typeof Hyperbee
  Corestore: typeof Corestore
  /** Hypercore 10's statics that node-core calls. */
  Hypercore: {
    discoveryKey(key: Uint8Array): Uint8Array
    /** The key of a core with this manifest signer; version 0 is what Autobase 6.5 writers use. */
    key(publicKey: Uint8Array, opts: { version: number }): Uint8Array
    /** The random-access-file storage Corestore makes of a directory path. */
    defaultStorage(dir: string, opts: object): (name: string) => unknown
  }
  /** Every bundled package's version: name → version ("a, b" when two majors are bundled). */
  versions: Record<string, string>
}
export = engine
