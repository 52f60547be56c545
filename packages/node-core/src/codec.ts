/**
 * One way to write a compact-encoding message: a function that visits each field in order, used
 * for both `preencode` (sizing) and `encode` (writing), so the two can never disagree.
 *
 *   const point = compactStruct<{ x: number; y: number }>(
 *     (field, p) => { field(c.uint, p.x); field(c.uint, p.y) },
 *     (state) => ({ x: c.uint.decode(state), y: c.uint.decode(state) })
 *   )
 *   c.encode(point, { x: 1, y: 2 })
 */

/**
 * compact-encoding's state and encoding shapes, declared here so that published declarations need
 * no types from compact-encoding (which ships none): its `c.uint`, `c.string`, … fit them.
 */
export interface CompactState {
  start: number
  end: number
  buffer: Uint8Array | null
}

export interface CompactEncoding<T> {
  preencode(state: CompactState, value: T): void
  encode(state: CompactState, value: T): void
  decode(state: CompactState): T
}

/** Visits one field: sizes it under `preencode`, writes it under `encode`. */
export type Field = <T>(encoding: CompactEncoding<T>, value: T) => void

export function compactStruct<T>(fields: (field: Field, value: T) => void, decode: (state: CompactState) => T): CompactEncoding<T> {
  return {
    preencode(state, value) {
      fields((encoding, v) => encoding.preencode(state, v), value)
    },
    encode(state, value) {
      fields((encoding, v) => encoding.encode(state, v), value)
    },
    decode
  }
}
