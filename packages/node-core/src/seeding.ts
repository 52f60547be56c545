/**
 * Seed announcements on a node's ephemeral channel (wire format: seed-announce.ts).
 * - {@link announceWriters}: a full node tells every new peer, and every peer whenever the registry
 *   changes, the key of every writer core that ever was (revoked ones too: their earlier ops stay
 *   in the history), so an always-on node keeps them without reading the encrypted registry.
 * - {@link keepAnnounced}: an always-on node keeps each announced core, up to its bound.
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
  let announced = ''

  const announcements = async (): Promise<{ id: string; payloads: Uint8Array[] }> => {
    const keys = (await engine.devices()).map((d) => d.writerKey)
    const payloads: Uint8Array[] = []
    for (let i = 0; i < keys.length; i += MAX_ANNOUNCED_KEYS) {
      payloads.push(encodeSeedAnnouncement(keys.slice(i, i + MAX_ANNOUNCED_KEYS), memberKey))
    }
    return { id: keys.map((k) => b4a.toString(k, 'hex')).join(','), payloads }
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

  ephemeral.on('peer-open', (peer) => void announceTo(peer))
  engine.on('update', () => void announceChanges())
}

export interface SeedReports {
  seeded(key: Uint8Array): void
  refused(key: Uint8Array, error: unknown): void
  bad(error: SeedError, peer: EphemeralPeer): void
}

/**
 * Always-on: keep every core a member announces that it does not have yet, up to the seeder's bound
 * (maxSeededCores). Announcements not sealed with the member key are reported and change nothing.
 */
export function keepAnnounced(
  ephemeral: EphemeralExtension,
  seeder: CoreSeeder,
  memberKey: Uint8Array,
  host: SeedingHost,
  report: SeedReports
): void {
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
          (added) => added && report.seeded(key),
          (err) => host.closed || report.refused(key, err)
        )
    }
  })
}
