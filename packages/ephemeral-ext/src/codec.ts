/**
 * How Hypha writes its messages, in every package: each message is a compact-encoding encoding, a
 * plain `{ preencode, encode, decode }` object written by hand from compact-encoding's primitives,
 * and a message that holds another calls that one's functions (as autobase's lib/messages.js
 * does). `c.encode(encoding, value)` and `c.decode(encoding, bytes)` are the entry points.
 *
 *   - A version field, where a format has one, is its first uint; decode refuses any other value.
 *   - Decode checks what it reads and throws the package's typed error; a message that is a whole
 *     payload (a frame, an envelope, an op) also refuses trailing bytes, so `c.decode` is strict.
 *   - The exported `encodeX` / `decodeX` functions wrap compact-encoding's own errors (truncation)
 *     in that typed error, with the original as its cause.
 *
 * The type lives here, in the lowest package, so that every package above names the same one.
 */
import type { Encoder, State } from 'compact-encoding'

export type CompactEncoding<T> = Encoder<T>
export type CompactState = State
