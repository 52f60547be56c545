// Minimal types for b4a (https://github.com/holepunchto/b4a): Buffer in Node, Uint8Array helpers in browsers.
declare const b4a: {
  alloc(size: number, fill?: number): Uint8Array
  allocUnsafe(size: number): Uint8Array
  allocUnsafeSlow(size: number): Uint8Array
  from(input: string, encoding?: string): Uint8Array
  from(input: ArrayLike<number> | ArrayBuffer | Uint8Array): Uint8Array
  concat(list: Uint8Array[], totalLength?: number): Uint8Array
  equals(a: Uint8Array, b: Uint8Array): boolean
  compare(a: Uint8Array, b: Uint8Array): number
  toString(buf: Uint8Array, encoding?: string, start?: number, end?: number): string
  isBuffer(value: unknown): value is Uint8Array
  byteLength(input: string | Uint8Array, encoding?: string): number
  copy(source: Uint8Array, target: Uint8Array, targetStart?: number, sourceStart?: number, sourceEnd?: number): number
  fill(buf: Uint8Array, value: number, offset?: number, end?: number): Uint8Array
}
export = b4a
