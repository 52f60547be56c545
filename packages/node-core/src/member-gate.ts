/**
 * The membership gate on every connection. Before a node replicates anything, answers a lookup or
 * attaches any channel on a new connection, both sides prove they hold the account's member key:
 * each opens the Protomux channel {@link MEMBER_GATE_PROTOCOL} with its proof as the open
 * handshake, and checks the other's.
 *
 *   proof = BLAKE2b-256(key = member key, 'hypha member proof v1\0' ‖ sender's Noise public key ‖
 *           receiver's Noise public key ‖ Noise handshake hash)
 *
 * (@hypha/secure-channel's `memberProof`: bound to the connection and its direction, so it can be
 * neither replayed on another connection nor reflected.) A stranger who knows the database and
 * discovery keys but not the member key gets nothing on the connection — no blocks, no lookup
 * answer, no ephemeral message — and its connection is closed: at once for a wrong proof, after
 * {@link DEFAULT_MEMBER_PROOF_TIMEOUT_MS} for none, and as soon as it sends more than
 * {@link MAX_UNPROVEN_BYTES} before proving (a member sends only its proof before then).
 */
import c from 'compact-encoding'
import sodium from 'sodium-universal'
import { muxerOf } from '@hypha/ephemeral-ext'
import { memberProof } from '@hypha/secure-channel'
import { HyphaNodeError } from './engine/errors.js'
import type { SecretStream } from './transports/types.js'

/** Protomux protocol of the gate (the version is part of the name, so other versions never pair). */
export const MEMBER_GATE_PROTOCOL = 'hypha/member-gate/1'
/** A connection that has not proven membership this long after it was handed over is closed. */
export const DEFAULT_MEMBER_PROOF_TIMEOUT_MS = 10_000
/** Most bytes a connection may send before its proof verified (its proof is under 100). */
export const MAX_UNPROVEN_BYTES = 64 * 1024
/**
 * A connection refused for a wrong proof is ended (our own proof, already written, is flushed
 * first, so the other side can tell "another account" from a lost connection) and destroyed if
 * it is not closed this long after.
 */
export const WRONG_PROOF_LINGER_MS = 1_000
/** …or as soon as it has sent more than this after the refusal. */
const MAX_BYTES_AFTER_REFUSAL = 1024

/**
 * Runs the gate on one Noise secret stream (handed over after its handshake). Resolves once the
 * remote's proof verified; rejects with a HyphaNodeError, and destroys the stream, when it is
 * wrong (`ERR_NOT_A_MEMBER`), late (`ERR_MEMBER_PROOF_TIMEOUT`), preceded by more than
 * {@link MAX_UNPROVEN_BYTES} (`ERR_NOT_A_MEMBER`), or the stream closes first (`ERR_CLOSED`).
 */
export function memberGate(stream: SecretStream, memberKey: Uint8Array, timeoutMs = DEFAULT_MEMBER_PROOF_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false
    let received = 0
    const finish = (error: HyphaNodeError | null, linger = false) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      stream.off('data', count)
      stream.off('close', closed)
      if (error === null) return resolve()
      if (linger) endAfterFlush(stream)
      else stream.destroy()
      reject(error)
    }
    const count = (data: Uint8Array) => {
      received += data.byteLength
      if (received > MAX_UNPROVEN_BYTES) finish(new HyphaNodeError('ERR_NOT_A_MEMBER', `the peer sent over ${MAX_UNPROVEN_BYTES} bytes before proving membership`))
    }
    const closed = () => finish(new HyphaNodeError('ERR_CLOSED', 'the connection closed before it proved membership'))
    const timer = setTimeout(
      () => finish(new HyphaNodeError('ERR_MEMBER_PROOF_TIMEOUT', `the peer did not prove membership within ${timeoutMs} ms`)),
      timeoutMs
    )
    if (stream.destroyed) return closed()
    stream.on('data', count)
    stream.once('close', closed)
    // A stream handed over before its Noise handshake (an in-process pair) is proven once it is done.
    if (stream.handshakeHash) prove()
    else stream.once('open', prove)

    function prove() {
      if (settled) return
      const { publicKey, remotePublicKey, handshakeHash } = stream
      const channel = muxerOf(stream).createChannel({
        protocol: MEMBER_GATE_PROTOCOL,
        handshake: c.fixed32,
        onopen(proof: Uint8Array) {
          const expected = memberProof(memberKey, remotePublicKey, publicKey, handshakeHash)
          const valid = sodium.sodium_memcmp(expected, proof)
          // Its one job is done: the connection's channels are opened by the node from here on.
          channel?.close()
          if (valid) finish(null)
          // Ended rather than destroyed: the proof we wrote reaches the peer, whose gate then
          // reports ERR_NOT_A_MEMBER too (not a bare close), so it can tell it reached another account.
          else finish(new HyphaNodeError('ERR_NOT_A_MEMBER', "the peer's membership proof is wrong: not a member of this account"), true)
        }
      })
      if (channel === null) return finish(new HyphaNodeError('ERR_INVALID_ARGUMENT', 'the gate already ran on this connection'))
      channel.open(memberProof(memberKey, publicKey, remotePublicKey, handshakeHash))
    }
  })
}

/**
 * Ends the stream once what was written is flushed; destroys it if it is not closed within
 * WRONG_PROOF_LINGER_MS, or as soon as the refused peer sends more than a little.
 */
function endAfterFlush(stream: SecretStream): void {
  const timer = setTimeout(() => stream.destroy(), WRONG_PROOF_LINGER_MS)
  ;(timer as { unref?: () => void }).unref?.()
  stream.once('close', () => clearTimeout(timer))
  // A refused peer has nothing more to say (another account's node sends at most its gate
  // channel's close): more than a little ends the connection at once.
  let after = 0
  stream.on('data', (data: Uint8Array) => {
    after += data.byteLength
    if (after > MAX_BYTES_AFTER_REFUSAL) stream.destroy()
  })
  try {
    stream.end()
  } catch {
    stream.destroy()
  }
}
