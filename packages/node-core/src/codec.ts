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
import c from 'compact-encoding'

/** Visits one field: sizes it under `preencode`, writes it under `encode`. */
export type Field = <T>(encoding: c.Encoding<T>, value: T) => void

export function compactStruct<T>(fields: (field: Field, value: T) => void, decode: (state: c.State) => T): c.Encoding<T> {
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
