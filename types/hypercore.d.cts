// Minimal types for hypercore 10: the static helpers Hypha uses.
// Kept because hypercore 10 ships no types and there is no @types/hypercore. Used only inside this
// repository (tsconfig.base.json paths): no published declaration mentions hypercore.
declare class Hypercore {
  static getProtocolMuxer(stream: unknown): any
  static createProtocolStream(isInitiator: boolean | unknown, opts?: unknown): any
  static discoveryKey(key: Uint8Array): Uint8Array
}
export = Hypercore
