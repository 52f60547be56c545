// Minimal types for hypercore 10: the static helpers Hypha uses.
declare class Hypercore {
  static getProtocolMuxer(stream: unknown): any
  static createProtocolStream(isInitiator: boolean | unknown, opts?: unknown): any
  static discoveryKey(key: Uint8Array): Uint8Array
}
export = Hypercore
