import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import { collect, cleanupsAfterEach, nextEvent, settle } from '@hypha/test-utils'
import { HyphaNode, type Change, type HyphaNodeOptions, type SyncStatus, type UpdateInfo, type Value } from '../src/index.js'
import { autobaseOf } from '../src/debug.js'
import { rootSecret, connect, eventually, startNode, expectCode } from './fixtures/helpers.js'

const cleanups = cleanupsAfterEach(afterEach)
const node = (options: HyphaNodeOptions) => startNode(options, cleanups)
const hex = (b: Uint8Array | null | undefined) => (b ? b4a.toString(b, 'hex') : null)

function link(x: HyphaNode, y: HyphaNode) {
  const disconnect = connect(x, y)
  cleanups.push(disconnect)
  return disconnect
}

/** An origin holding `count` entries written in `batches` appends, and a read-only node of its database (not connected). */
async function originAndPhone(label: string, count = 0, batches = 1) {
  const root = rootSecret(label)
  const origin = await node({ role: 'origin', rootSecret: root })
  const per = Math.ceil(count / batches)
  for (let i = 0; i < count; i += per) {
    const ops = []
    for (let j = i; j < Math.min(count, i + per); j++) ops.push({ type: 'put' as const, key: `k/${String(j).padStart(4, '0')}`, value: `v${j}` })
    await origin.batch(ops)
  }
  const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
  return { root, origin, phone }
}

describe('sync status', () => {
  it('is offline without connections, and synced() waits: ERR_TIMEOUT after timeoutMs, ERR_CLOSED on close', async () => {
    const { phone } = await originAndPhone('sync: offline')
    const status = phone.syncStatus()
    expect(status.state).toBe('offline')
    expect(status.synced).toBe(false)
    expect(status.peers).toEqual([])
    await expectCode(phone.synced({ timeoutMs: 50 }), 'ERR_TIMEOUT')
    await expectCode(() => phone.synced({ timeoutMs: 0 }), 'ERR_INVALID_ARGUMENT')
    const waiting = phone.synced()
    await settle(20)
    await phone.close()
    await expectCode(waiting, 'ERR_CLOSED')
    await expectCode(phone.synced(), 'ERR_CLOSED')
  })

  it('a node that caught up is synced: synced() resolves once every entry is readable, with the peer and per-core lengths', async () => {
    // Many appends, so the download takes a while: synced() must wait for all of it.
    const { origin, phone } = await originAndPhone('sync: catch up', 400, 40)
    const events = collect<SyncStatus>(phone, 'sync-status')
    link(origin, phone)
    const status = await phone.synced({ timeoutMs: 15_000 })
    // Readable at once: nothing is awaited between synced() and the reads.
    expect((await phone.list()).length).toBe(400)
    expect(await phone.get('k/0399')).toBe('v399')

    expect(status.state).toBe('synced')
    expect(status.peers).toEqual([{ remotePublicKey: origin.noiseKeyPair.publicKey, transport: 'test', isInitiator: false }])
    const db = status.cores.find((c) => hex(c.key) === hex(origin.key))!
    expect(db).toBeDefined()
    const originDb = origin.syncStatus().cores.find((c) => hex(c.key) === hex(origin.key))!
    expect(db.length).toBe(originDb.length)
    // Applied, all of it; held, maybe not (Autobase may fast-forward it to the origin's signed view).
    expect(db.applied).toBe(originDb.length)
    expect(db.contiguousLength).toBeLessThanOrEqual(originDb.length)
    expect(db.remoteLength).toBe(originDb.length)
    expect(db.remoteContiguousLength).toBe(originDb.length)
    expect(db.peers).toBe(1)
    expect(db.synced).toBe(true)
    // The origin sees the phone, and has everything the phone has.
    await eventually(() => origin.syncStatus().synced, 'origin synced')
    expect(origin.syncStatus().peers.map((p) => [hex(p.remotePublicKey), p.transport, p.isInitiator])).toEqual([
      [hex(phone.noiseKeyPair.publicKey), 'test', true]
    ])

    // The event told the way there: syncing (connected, not caught up), then synced; the last is the status now.
    expect(events.map((e) => e.state)).toContain('syncing')
    expect(events.at(-1)!.state).toBe('synced')
    expect(events.findIndex((e) => e.state === 'syncing')).toBeLessThan(events.findIndex((e) => e.state === 'synced'))
    // synced() on a synced node resolves at once.
    expect((await phone.synced()).synced).toBe(true)
  })

  it('goes back to syncing when the peer has more, synced again once it is here; offline when the peer leaves', async () => {
    const { origin, phone } = await originAndPhone('sync: more', 10)
    const disconnect = link(origin, phone)
    await phone.synced({ timeoutMs: 15_000 })
    const events = collect<SyncStatus>(phone, 'sync-status')

    const ops = Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: `more/${i}`, value: 'x'.repeat(2000) }))
    await origin.batch(ops)
    await eventually(() => events.some((e) => e.state === 'syncing'), 'syncing after the peer appended')
    await phone.synced({ timeoutMs: 15_000 })
    expect(await phone.get('more/199')).toBe('x'.repeat(2000))

    const offline = nextEvent<[SyncStatus]>(phone, 'sync-status', (s) => s.state === 'offline')
    disconnect()
    const [status] = await offline
    expect(status.peers).toEqual([])
    expect(phone.syncStatus().state).toBe('offline')
  })

  it('an always-on node reports its kept cores and is synced once it holds what the origin has', async () => {
    const { origin } = await originAndPhone('sync: always-on', 50, 5)
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential })
    expect(blind.syncStatus().state).toBe('offline')
    link(origin, blind)
    const status = await blind.synced({ timeoutMs: 15_000 })
    const db = status.cores.find((c) => hex(c.key) === hex(origin.key))!
    const originLength = origin.syncStatus().cores.find((c) => hex(c.key) === hex(origin.key))!.length
    expect(db.contiguousLength).toBe(originLength)
    expect(status.peers).toHaveLength(1)
  })

  it('an always-on node compares only the cores it keeps: a writer core refused for its size no longer counts', async () => {
    const { root, origin } = await originAndPhone('sync: refused', 5)
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential, maxCoreBytes: 16 * 1024 })
    link(origin, blind)
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    link(phone, origin)
    link(phone, blind)
    const seeded = nextEvent<[Uint8Array]>(blind, 'seeded', (k) => hex(k) === hex(phone.writerKey))
    await origin.addWriter(phone.writerKey!)
    await seeded
    await eventually(() => phone.writable, 'phone writable')
    await phone.put('small', 'kept')
    await eventually(() => blind.syncStatus().cores.some((c) => hex(c.key) === hex(phone.writerKey) && c.contiguousLength > 0), 'the phone core kept')

    const refused = nextEvent<[Uint8Array]>(blind, 'seed-refused', (k) => hex(k) === hex(phone.writerKey))
    await phone.put('big', new Uint8Array(64 * 1024))
    await refused
    // The phone (a peer) has more of its core than the always-on node will ever hold: not compared.
    await eventually(() => !blind.syncStatus().cores.some((c) => hex(c.key) === hex(phone.writerKey)), 'the refused core dropped')
    const status = await blind.synced({ timeoutMs: 15_000 })
    expect(status.cores.map((c) => hex(c.key))).toEqual([hex(origin.key)])
  })
})

describe('update events', () => {
  it('carry the view version and the one before, each event continuing from the last', async () => {
    const origin = await node({ role: 'origin', rootSecret: rootSecret('sync: update') })
    const updates = collect<UpdateInfo>(origin, 'update')
    await origin.put('a', '1')
    await origin.put('b', '2')
    await origin.del('a')
    await eventually(() => updates.length >= 3, 'three updates')
    for (const u of updates) expect(u.version).toBeGreaterThan(u.previousVersion)
    for (let i = 1; i < updates.length; i++) expect(updates[i]!.previousVersion).toBe(updates[i - 1]!.version)
    expect(updates.at(-1)!.version).toBe(autobaseOf(origin).view.version)
  })
})

/** Applies batches of changes to a model of the entries, checking each `previous` against it. */
function replay(model: Map<string, Value>, batches: Change[][]): void {
  for (const batch of batches) {
    for (const change of batch) {
      expect({ key: change.key, previous: change.previous }).toEqual({ key: change.key, previous: model.get(change.key) ?? null })
      if (change.value === null) model.delete(change.key)
      else model.set(change.key, change.value)
    }
  }
}

const sorted = (m: Map<string, Value>) => JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

async function modelOf(db: HyphaNode, range = {}): Promise<Map<string, Value>> {
  return new Map((await db.list(range)).map((e) => [e.key, e.value]))
}

/** Pulls batches from a watch in the background until stopped. */
function drain(watch: AsyncIterableIterator<Change[]>) {
  const batches: Change[][] = []
  let ended = false
  const done = (async () => {
    for await (const batch of watch) batches.push(batch)
    ended = true
  })()
  return { batches, done, ended: () => ended }
}

describe('watch(range)', () => {
  it('yields the changes in the range: puts, overwrites and deletes with the value before, in key order', async () => {
    const db = await node({ role: 'origin', rootSecret: rootSecret('sync: watch') })
    await db.put('notes/old', 'kept')
    const watch = db.watch({ prefix: 'notes/' })
    await db.batch([
      { type: 'put', key: 'notes/b', value: 'B' },
      { type: 'put', key: 'notes/a', value: b4a.from([1, 2]) },
      { type: 'put', key: 'other', value: 'not in the range' }
    ])
    const first = await watch.next()
    expect(first.done).toBe(false)
    expect(first.value).toEqual([
      { key: 'notes/a', keyBytes: b4a.from('notes/a'), value: new Uint8Array([1, 2]), previous: null },
      { key: 'notes/b', keyBytes: b4a.from('notes/b'), value: 'B', previous: null }
    ])
    await db.put('other', 'still not')
    await db.batch([
      { type: 'put', key: 'notes/b', value: 'B2' },
      { type: 'del', key: 'notes/old' }
    ])
    const second = await watch.next()
    expect(second.value).toEqual([
      { key: 'notes/b', keyBytes: b4a.from('notes/b'), value: 'B2', previous: 'B' },
      { key: 'notes/old', keyBytes: b4a.from('notes/old'), value: null, previous: 'kept' }
    ])
    // A put of the same value changes nothing: no batch for it.
    await db.put('notes/b', 'B2')
    await db.put('notes/c', 'C')
    expect((await watch.next()).value).toEqual([{ key: 'notes/c', keyBytes: b4a.from('notes/c'), value: 'C', previous: null }])
    expect(await watch.return!()).toEqual({ value: undefined, done: true })
    expect(await watch.next()).toEqual({ value: undefined, done: true })
  })

  it('ends on break, on return() while a next() waits, and when the node closes', async () => {
    const db = await node({ role: 'origin', rootSecret: rootSecret('sync: watch ends') })
    const broken = db.watch()
    await db.put('x', '1')
    for await (const batch of broken) {
      expect(batch.map((c) => c.key)).toEqual(['x'])
      break
    }
    expect(await broken.next()).toEqual({ value: undefined, done: true })
    const returned = db.watch()
    const pending = returned.next()
    await returned.return!()
    expect(await pending).toEqual({ value: undefined, done: true })

    const open = drain(db.watch({ gte: 'a', lt: 'b' }))
    await db.put('a1', 'in')
    await eventually(() => open.batches.length === 1, 'a batch')
    await db.close()
    await open.done
    expect(open.ended()).toBe(true)
    expect(() => db.watch()).not.toThrow() // a watch of a closed node ends at its first next()
    await expectCode(db.watch().next(), 'ERR_CLOSED')
  })

  it('a watch made before ready() starts when the node opens', async () => {
    const db = new HyphaNode({ role: 'origin', rootSecret: rootSecret('sync: watch early') })
    cleanups.push(() => db.close())
    const watch = db.watch({ prefix: 'e/' })
    const first = watch.next()
    await db.ready()
    await db.put('e/1', 'one')
    expect((await first).value).toEqual([{ key: 'e/1', keyBytes: b4a.from('e/1'), value: 'one', previous: null }])
    await watch.return!()
  })

  it('refuses a bad range, and always-on nodes (ERR_NOT_READABLE)', async () => {
    const db = await node({ role: 'origin', rootSecret: rootSecret('sync: watch range') })
    await expectCode(() => db.watch({ limit: 1 } as never), 'ERR_INVALID_ARGUMENT')
    await expectCode(() => db.watch({ reverse: true } as never), 'ERR_INVALID_ARGUMENT')
    await expectCode(() => db.watch({ prefix: 'a', gt: 'b' }), 'ERR_INVALID_ARGUMENT')
    const blind = await node({ role: 'always-on', memberCredential: db.memberCredential })
    await expectCode(blind.watch().next(), 'ERR_NOT_READABLE')
  })

  it('replicated and reordered changes replay to the view: a writer whose offline writes are reordered behind the origin’s', async () => {
    const root = rootSecret('sync: reorder')
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    const disconnect = link(origin, phone)
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, 'phone writable')
    await origin.put('shared/seed', 'both')
    await eventually(async () => (await phone.get('shared/seed')) === 'both', 'seed on phone')
    disconnect()
    await eventually(() => phone.peerCount === 0 && origin.peerCount === 0, 'apart')

    const model = await modelOf(phone)
    const watched = drain(phone.watch())
    let truncations = 0
    autobaseOf(phone).view.core.on('truncate', () => truncations++)

    // Apart: both write the same keys, the phone first (so its view applies its own ops first).
    for (let i = 0; i < 20; i++) await phone.put(`shared/${i % 5}`, `phone ${i}`)
    await phone.batch([{ type: 'del', key: 'shared/seed' }, { type: 'put', key: 'phone/only', value: 'p' }])
    for (let i = 0; i < 20; i++) await origin.put(`shared/${i % 7}`, `origin ${i}`)
    await origin.put('origin/only', 'o')

    link(origin, phone)
    await phone.synced({ timeoutMs: 15_000 })
    await eventually(async () => (await phone.get('origin/only')) === 'o' && (await origin.get('phone/only')) === 'p', 'both ways')
    await eventually(async () => sorted(await modelOf(phone)) === sorted(await modelOf(origin)), 'same views')
    await settle(100)
    const final = await modelOf(phone)
    // The watch has caught up when replaying it gives the view now.
    await eventually(() => {
      const m = new Map(model)
      replay(m, watched.batches)
      return sorted(m) === sorted(final)
    }, 'the watch replays to the view', 10_000)
    expect(truncations).toBeGreaterThan(0) // it did cover a reorder
  })
})
