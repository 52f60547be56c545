// Minimal types for compact-encoding 2 (https://github.com/holepunchto/compact-encoding).
declare namespace c {
  interface State {
    start: number
    end: number
    buffer: Uint8Array | null
  }
  interface Encoding<T> {
    preencode(state: State, value: T): void
    encode(state: State, value: T): void
    decode(state: State): T
  }
  const uint: Encoding<number>
  const uint8: Encoding<number>
  const uint16: Encoding<number>
  const uint32: Encoding<number>
  const uint64: Encoding<number>
  const bool: Encoding<boolean>
  const string: Encoding<string>
  const utf8: Encoding<string>
  const buffer: Encoding<Uint8Array | null>
  const uint8array: Encoding<Uint8Array>
  const raw: Encoding<Uint8Array> & { buffer: Encoding<Uint8Array> }
  const fixed32: Encoding<Uint8Array>
  const fixed64: Encoding<Uint8Array>
  function fixed(n: number): Encoding<Uint8Array>
  function array<T>(enc: Encoding<T>): Encoding<T[]>
  function state(start?: number, end?: number, buffer?: Uint8Array | null): State
  function encode<T>(enc: Encoding<T>, value: T): Uint8Array
  function decode<T>(enc: Encoding<T>, buffer: Uint8Array): T
}
export = c
