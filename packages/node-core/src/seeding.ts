/**
 * Seed announcements on a node's ephemeral channel (wire format: seed-announce.ts).
 * - {@link announceWriters}: a full node tells every new peer, and every peer whenever the registry
 *   changes, the key of every writer core that ever was (revoked ones too: their earlier ops stay
 *   in the history), so an always-on node keeps them without reading the encrypted registry.
 * - {@link keepAnnounced}: an always-on node keeps each announced core, up to its bound, and
 *   announces the cores it keeps in turn (sealed the same way, it holds the member key): to every
 *   new peer, and to every peer whenever its set grows. So several always-on nodes, in a chain or
 *   any other shape, end up keeping the same cores. Announcing only on growth, coalesced, bounds
 *   the traffic: a set grows at most to maxSeededCores, a core dropped from it past a byte budget is
 *   not taken again (until restart), and an announcement that adds nothing is not passed on, so
 *   announcements cannot circulate in a loop.
 */
import b4a from 'b4a'
import type { EphemeralExtension, EphemeralMessage, EphemeralPeer } from '@hypha/ephemeral-ext'
import { coalesced } from './coalesce.js'
import type { CoreSeeder, Engine } from './engine/types.js'
import {
  MAX_ANNOUNCED_KEYS,
  SEED_CONTENT_TYPE,
  SEED_CONTENT_TYPE_V1,
  SeedError,
  decodeSeedAnnouncement,
  encodeSeedAnnouncement,
  seedKey
} from './seed-announce.js'

/** The node: whether it is closing, and when it is open (announcements wait for the database). */
interface SeedingHost {
  readonly closed: boolean
  ready(): Promise<void>
}

/** Full nodes: announce on every peer-open and on every update that changes the writer keys. */
export function announceWriters(ephemeral: EphemeralExtension, engine: Engine, memberKey: Uint8Array, host: SeedingHost): void {
  announceKeys(ephemeral, memberKey, host, async () => (await engine.devices()).map((d) => d.writerKey), (changed) =>
    engine.on('update', changed)
  )
}

/**
 * Sends the list `keys()` gives to every new peer, and to every peer when `onChange` fires and the
 * list differs from the one last broadcast (runs coalesce: one in flight, one more queued at most).
 * Returns the trigger.
 */
function announceKeys(
  ephemeral: EphemeralExtension,
  memberKey: Uint8Array,
  host: SeedingHost,
  keys: () => Promise<Uint8Array[]>,
  onChange: (changed: () => void) => void
): () => void {
  let announced = ''

  const announcements = async (): Promise<{ id: string; payloads: Uint8Array[] }> => {
    const list = await keys()
    const payloads: Uint8Array[] = []
    for (let i = 0; i < list.length; i += MAX_ANNOUNCED_KEYS) {
      payloads.push(encodeSeedAnnouncement(list.slice(i, i + MAX_ANNOUNCED_KEYS), memberKey))
    }
    return { id: list.map((k) => b4a.toString(k, 'hex')).join(','), payloads }
  }

  const announceTo = async (peer: EphemeralPeer): Promise<void> => {
    try {
      await host.ready()
      const { payloads } = await announcements()
      if (host.closed || !peer.opened) return
      for (const payload of payloads) ephemeral.send(peer, payload, { contentType: SEED_CONTENT_TYPE })
    } catch {
      // Closing, or the peer went away meanwhile: it gets the list again when it reconnects.
    }
  }

  // Bursts of 'update' events coalesce: one announcement in flight, one more queued at most.
  // A failed read of the view (closing, or a storage failure the engine reports as 'error') is ignored.
  const announceChanges = coalesced(
    async () => {
      await host.ready()
      const { id, payloads } = await announcements()
      if (id === announced || host.closed) return
      announced = id
      for (const payload of payloads) ephemeral.broadcast(payload, { contentType: SEED_CONTENT_TYPE })
    },
    { stopped: () => host.closed }
  )

  const changed = () => void announceChanges()
  ephemeral.on('peer-open', (peer) => void announceTo(peer))
  onChange(changed)
  return changed
}

export interface SeedReports {
  seeded(key: Uint8Array): void
  refused(key: Uint8Array, error: unknown): void
  bad(error: SeedError, peer: EphemeralPeer): void
}

/**
 * Always-on: keep every core a member (or another always-on node of the account) announces that it
 * does not have yet (nor refused for its size), up to the seeder's bounds (maxSeededCores, and the
 * byte budgets maxCoreBytes and maxKeptBytes). Announcements not sealed with the
 * member key are reported and change nothing. Announces the cores it keeps (see {@link announceKept}).
 * Returns the trigger to call when a core was added otherwise (`node.seed(key)`).
 */
export function keepAnnounced(
  ephemeral: EphemeralExtension,
  seeder: CoreSeeder,
  memberKey: Uint8Array,
  host: SeedingHost,
  report: SeedReports
): () => void {
  const grown = announceKept(ephemeral, seeder, memberKey, host)
  const key = { seedKey: seedKey(memberKey) }
  ephemeral.on('message', ({ peer, contentType, payload }: EphemeralMessage) => {
    if (host.closed) return
    if (contentType === SEED_CONTENT_TYPE_V1) {
      report.bad(new SeedError('ERR_NOT_A_MEMBER', `${SEED_CONTENT_TYPE_V1} announcements are not authenticated: ignored`), peer)
      return
    }
    if (contentType !== SEED_CONTENT_TYPE) return
    let keys: Uint8Array[]
    try {
      keys = decodeSeedAnnouncement(payload, key)
    } catch (err) {
      report.bad(err as SeedError, peer)
      return
    }
    for (const key of keys) {
      if (seeder.has(key)) continue
      host
        .ready()
        .then(() => seeder.seed(key))
        .then(
          (added) => {
            if (!added) return
            report.seeded(key)
            grown()
          },
          (err) => host.closed || report.refused(key, err)
        )
    }
  })
  return grown
}

/**
 * Always-on: announce the cores this node keeps (the origin's included: peers have it already and
 * skip it), so that other always-on nodes of the account keep them too. The returned trigger is
 * called whenever the set grew.
 */
export function announceKept(ephemeral: EphemeralExtension, seeder: CoreSeeder, memberKey: Uint8Array, host: SeedingHost): () => void {
  return announceKeys(
    ephemeral,
    memberKey,
    host,
    async () => seeder.seeded().map((core) => core.key),
    () => {}
  )
}
