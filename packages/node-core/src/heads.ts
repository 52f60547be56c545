/**
 * Fork detection for writer cores. Two holders of one writer key pair (a recovery code used on two
 * sides that share no peer, or a spent code used on a stale offline replica) can each append the
 * same index of one core. Hypercore 10 notices a conflict only when one side upgrades the other
 * past it; at equal lengths both sides think they are in sync and each side's later ops never
 * reach the other, silently. So full nodes tell each new peer the tree hash of every writer core
 * they hold, and a peer whose own core has a different tree hash at that length reports a
 * `writer-conflict`. Hypercore's own conflict events (corestore 'conflict') are reported too.
 *
 * Wire format (an ephemeral message of content type {@link HEADS_CONTENT_TYPE}), compact-encoding:
 *   uint count ‖ count × (fixed32 writerKey ‖ uint length ‖ fixed32 treeHash)
 * A message that does not decode is reported (the node's 'bad-heads' event) and ignored; heads of
 * cores that are not writers of the database are ignored (no core is opened for them).
 */
import c from 'compact-encoding'
import b4a from 'b4a'
import { withCore } from './cores.js'
import { decodeCanonical, type CompactEncoding, type EphemeralExtension, type EphemeralMessage, type EphemeralPeer } from '@hypha/ephemeral-ext'
import type { Engine } from './engine/types.js'

/** Ephemeral content type of the heads messages nodes exchange. */
export const HEADS_CONTENT_TYPE = 'hypha/heads/1'
/** Heads per message: 128 × about 70 bytes stays under the ephemeral channel's 10 KiB. */
export const MAX_HEADS_PER_MESSAGE = 128

/** The `code` of a `HeadsError`: why a heads message was refused. */
export type HeadsErrorCode =
  /** Not exactly `count` heads: truncated, trailing bytes. */
  | 'ERR_MALFORMED_HEADS'
  /** More than {@link MAX_HEADS_PER_MESSAGE} heads. */
  | 'ERR_TOO_MANY_HEADS'

/** A peer's heads message that did not decode. */
export class HeadsError extends Error {
  override name = 'HeadsError'
  constructor(
    readonly code: HeadsErrorCode,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options)
  }
}

export interface Head {
  key: Uint8Array
  length: number
  treeHash: Uint8Array
}

interface HeadsHost {
  readonly closed: boolean
  ready(): Promise<void>
}

const headEncoding: CompactEncoding<Head> = {
  preencode(state, h) {
    c.fixed32.preencode(state, h.key)
    c.uint.preencode(state, h.length)
    c.fixed32.preencode(state, h.treeHash)
  },
  encode(state, h) {
    c.fixed32.encode(state, h.key)
    c.uint.encode(state, h.length)
    c.fixed32.encode(state, h.treeHash)
  },
  decode(state) {
    return { key: c.fixed32.decode(state), length: c.uint.decode(state), treeHash: c.fixed32.decode(state) }
  }
}

/** A whole message: decoding refuses more than {@link MAX_HEADS_PER_MESSAGE} heads and trailing bytes. */
export const headsEncoding: CompactEncoding<Head[]> = {
  preencode(state, heads) {
    c.uint.preencode(state, heads.length)
    for (const h of heads) headEncoding.preencode(state, h)
  },
  encode(state, heads) {
    c.uint.encode(state, heads.length)
    for (const h of heads) headEncoding.encode(state, h)
  },
  decode(state) {
    const count = c.uint.decode(state)
    if (count > MAX_HEADS_PER_MESSAGE) {
      throw new HeadsError('ERR_TOO_MANY_HEADS', `a heads message lists ${count} heads, more than ${MAX_HEADS_PER_MESSAGE}`)
    }
    const heads: Head[] = []
    for (let i = 0; i < count; i++) heads.push(headEncoding.decode(state))
    if (state.start !== state.end) throw new HeadsError('ERR_MALFORMED_HEADS', 'trailing bytes after the heads')
    return heads
  }
}

/** The heads in a peer's message. Throws {@link HeadsError} if it is not exactly one well-formed list. */
export function decodeHeads(payload: Uint8Array): Head[] {
  if (!(payload instanceof Uint8Array)) throw new HeadsError('ERR_MALFORMED_HEADS', 'not bytes')
  try {
    return decodeCanonical(headsEncoding, payload)
  } catch (err) {
    if (err instanceof HeadsError) throw err
    throw new HeadsError('ERR_MALFORMED_HEADS', 'a truncated or malformed heads message', { cause: err })
  }
}

export interface HeadsReports {
  /** A writer core's history here differs from a peer's (reported once per core). */
  conflict(writerKey: Uint8Array): void
  /** A peer's heads message did not decode; it was ignored. */
  bad(error: HeadsError, peer: EphemeralPeer): void
}

/**
 * Full nodes: send the heads of every registry writer core on each new peer, and compare the heads
 * peers send of registry writer cores; report each core whose history differs from a peer's, and
 * each message that does not decode.
 */
export function watchWriterHeads(ephemeral: EphemeralExtension, engine: Engine, host: HeadsHost, reports: HeadsReports): void {
  const store = engine.store
  const reported = new Set<string>()
  const report = (key: Uint8Array) => {
    const id = b4a.toString(key, 'hex')
    if (reported.has(id) || host.closed) return
    reported.add(id)
    reports.conflict(key)
  }

  const sendHeads = async (peer: EphemeralPeer): Promise<void> => {
    try {
      await host.ready()
      const heads: Head[] = []
      for (const device of await engine.devices()) {
        const head = await withCore(store, device.writerKey, async (core) =>
          core.length > 0 ? { key: device.writerKey, length: core.length, treeHash: await core.treeHash(core.length) } : null
        )
        if (head) heads.push(head)
      }
      for (let i = 0; i < heads.length; i += MAX_HEADS_PER_MESSAGE) {
        if (host.closed || !peer.opened) return
        ephemeral.send(peer, c.encode(headsEncoding, heads.slice(i, i + MAX_HEADS_PER_MESSAGE)), { contentType: HEADS_CONTENT_TYPE })
      }
    } catch {
      // Closing, or the peer left: it gets the heads again when it reconnects.
    }
  }

  const compare = async ({ peer, contentType, payload }: EphemeralMessage): Promise<void> => {
    if (contentType !== HEADS_CONTENT_TYPE || host.closed) return
    let heads: Head[]
    try {
      heads = decodeHeads(payload)
    } catch (err) {
      reports.bad(err as HeadsError, peer)
      return
    }
    try {
      await host.ready()
      // Only the database's writer cores: a peer naming any other key must not make this node open
      // (and so store) a core for it.
      const writers = new Set((await engine.devices()).map((d) => b4a.toString(d.writerKey, 'hex')))
      for (const head of heads) {
        if (head.length === 0 || !writers.has(b4a.toString(head.key, 'hex'))) continue
        const ours = await withCore(store, head.key, async (core) =>
          core.length >= head.length ? core.treeHash(head.length) : null
        )
        if (ours && !b4a.equals(ours, head.treeHash)) report(head.key)
      }
    } catch {
      // Closing.
    }
  }

  ephemeral.on('peer-open', (peer) => void sendHeads(peer))
  ephemeral.on('message', (message) => void compare(message))
  store.on('conflict', (core: { key: Uint8Array }) => report(core.key))
}
