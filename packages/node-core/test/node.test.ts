import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import { nextEvent, collect, cleanupsAfterEach } from '@hypha/test-utils'
import {
  HyphaNode,
  HyphaNodeError,
  deriveAccountKeys,
  memoryStorage,
  type InvalidOp,
  type NodeConnection,
  type HyphaNodeOptions
} from '../src/index.js'
import { encodeOp } from '../src/engine/ops.js'
import { appendRawOplog, autobaseOf, rawStoredBlock } from '../src/debug.js'
import { rootSecret, connect, eventually, startNode, expectCode, LoopbackTransport } from './fixtures/helpers.js'

let root: Uint8Array
beforeAll(async () => {
  root = rootSecret()
})

const cleanups = cleanupsAfterEach(afterEach)

const node = (options: HyphaNodeOptions) => startNode(options, cleanups)

function link(x: HyphaNode, y: HyphaNode) {
  const disconnect = connect(x, y)
  cleanups.push(disconnect)
  return disconnect
}

const hex = (b: Uint8Array | null) => (b === null ? null : b4a.toString(b, 'hex'))

describe('an origin node', () => {
  it('creates a new database at its own random writer key, and is its first writer', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    expect(origin.role).toBe('origin')
    expect(origin.key.byteLength).toBe(32)
    // The origin's writer core is the database (Autobase bootstrap) core.
    expect(hex(origin.writerKey)).toBe(hex(origin.key))
    // Nothing about the database key comes from the passphrase: another sign-up with the same root
    // secret on another storage makes another database (the lookup is what prevents that; see device.test.ts).
    const another = await node({ role: 'origin', rootSecret: root })
    expect(hex(another.key)).not.toBe(hex(origin.key))
    for (const k of Object.values(deriveAccountKeys(root))) expect(hex(origin.key)).not.toBe(hex(k))
    expect(origin.writable).toBe(true)
    expect(origin.readable).toBe(true)
    expect(await origin.writers()).toEqual([{ key: origin.key, origin: true, indexer: true }])
    expect(await origin.isWriter(origin.key)).toBe(true)
    expect(await origin.isWriter(new Uint8Array(32))).toBe(false)
  })

  it('puts, gets and deletes strings and bytes, and gives each back as its own type', async () => {
    const db = await node({ role: 'origin', rootSecret: root })
    const updates = collect(db, 'update')
    await db.put('greeting', 'hello ☃')
    await db.put(b4a.from([0xff, 0x00]), new Uint8Array([1, 2, 3]))
    await db.put('empty', '')
    expect(await db.get('greeting')).toBe('hello ☃')
    const bytes = await db.get(b4a.from([0xff, 0x00]))
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect([...(bytes as Uint8Array)]).toEqual([1, 2, 3])
    expect(await db.get('empty')).toBe('')
    expect(await db.get('missing')).toBeNull()
    await db.del('greeting')
    expect(await db.get('greeting')).toBeNull()
    expect(updates.length).toBeGreaterThan(0)

    await expectCode(db.put('', 'x'), 'ERR_INVALID_ARGUMENT')
    await expectCode(db.put('k', 42 as unknown as string), 'ERR_INVALID_ARGUMENT')
    await expectCode(db.batch([{ type: 'nope' as 'put', key: 'k' }]), 'ERR_INVALID_ARGUMENT')
  })

  it('applies a batch as one append and lists ranges in key order', async () => {
    const db = await node({ role: 'origin', rootSecret: root })
    const ops = ['e', 'a', 'c', 'b', 'd'].map((k) => ({ type: 'put' as const, key: k, value: k.toUpperCase() }))
    await db.batch([...ops, { type: 'del', key: 'c' }])
    const keys = (entries: { key: string }[]) => entries.map((e) => e.key)
    expect(keys(await db.list())).toEqual(['a', 'b', 'd', 'e'])
    expect((await db.list())[0]).toEqual({ key: 'a', keyBytes: b4a.from('a'), value: 'A' })
    expect(keys(await db.list({ gt: 'a', lt: 'e' }))).toEqual(['b', 'd'])
    expect(keys(await db.list({ gte: 'b', lte: 'e' }))).toEqual(['b', 'd', 'e'])
    expect(keys(await db.list({ reverse: true, limit: 2 }))).toEqual(['e', 'd'])
    // An empty bound is below every key; a prefix selects the keys that start with it.
    expect(keys(await db.list({ gte: '' }))).toEqual(['a', 'b', 'd', 'e'])
    expect(keys(await db.list({ gt: '', lt: 'c' }))).toEqual(['a', 'b'])
    expect(await db.list({ lt: '' })).toEqual([])
    await db.batch(['ab', 'ab\u00ff', 'ac', 'b\u00ff'].map((k) => ({ type: 'put' as const, key: k, value: k })))
    await db.batch([{ type: 'put', key: b4a.from([0x61, 0xff, 0xff]), value: 'a ff ff' }])
    expect(keys(await db.list({ prefix: 'ab' }))).toEqual(['ab', 'ab\u00ff'])
    expect(keys(await db.list({ prefix: 'a', reverse: true, limit: 2 }))).toEqual(['a\ufffd\ufffd', 'ac'])
    expect((await db.list({ prefix: b4a.from([0x61, 0xff]) })).map((e) => e.value)).toEqual(['a ff ff'])
    expect(keys(await db.list({ prefix: '' }))).toHaveLength(9)
    await expect(db.list({ prefix: 'a', gte: 'a' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await db.batch(['ab', 'ab\u00ff', 'ac', 'b\u00ff'].map((k) => ({ type: 'del' as const, key: k })))
    await db.del(b4a.from([0x61, 0xff, 0xff]))
    const streamed: string[] = []
    for await (const entry of db.entries({ gte: 'd' })) streamed.push(entry.key)
    expect(streamed).toEqual(['d', 'e'])
    // Membership and device records share the view but never show up as data.
    await db.addWriter(new Uint8Array(32).fill(3), { name: 'x' })
    await db.registerDevice('laptop')
    expect(keys(await db.list())).toEqual(['a', 'b', 'd', 'e'])
  })

  it('starts its transports with a context in ready() and stops them in close()', async () => {
    // The origin's device exists first (so the other node knows the database), then reopens with a transport.
    const storage = memoryStorage()
    const created = await node({ role: 'origin', rootSecret: root, storage })
    const databaseKey = created.key
    await created.close()
    const other = await node({ role: 'read-only', rootSecret: root, databaseKey })
    const transport = new LoopbackTransport(other)
    const origin = new HyphaNode({ role: 'origin', rootSecret: root, storage, transports: [transport] })
    cleanups.push(() => origin.close())
    const connected = nextEvent<[NodeConnection]>(origin, 'connection')
    await origin.ready()
    expect(transport.context).not.toBeNull()
    // Transports meet on the account's lookup topic (from the root secret), not on the database's discovery key.
    expect(hex(transport.context!.topic)).toBe(hex(origin.topic))
    expect(hex(origin.topic)).toBe(hex(deriveAccountKeys(root).lookupTopic))
    expect(hex(origin.topic)).not.toBe(hex(origin.discoveryKey))
    expect(hex(transport.context!.keyPair.publicKey)).toBe(hex(origin.noiseKeyPair.publicKey))
    const [conn] = await connected
    expect(conn.info.transport).toBe('loopback')
    expect(origin.peerCount).toBe(1)
    await origin.put('via', 'transport')
    await eventually(async () => (await other.get('via')) === 'transport', 'replication over the transport')
    await origin.close()
    expect(transport.stopped).toBe(true)
    await expectCode(origin.get('via'), 'ERR_CLOSED')
  })
})

describe('two full nodes', () => {
  it('replicate over Noise streams; a read-only node becomes writable once added', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    expect(hex(phone.key)).toBe(hex(origin.key))
    expect(phone.role).toBe('read-only')
    expect(phone.writable).toBe(false)
    // Its writer key is its own (random, from its storage), not yet a writer's.
    expect(phone.writerKey!.byteLength).toBe(32)
    expect(hex(phone.writerKey)).not.toBe(hex(origin.writerKey))
    expect(await origin.isWriter(phone.writerKey!)).toBe(false)
    await expectCode(phone.put('k', 'v'), 'ERR_NOT_WRITABLE')

    const connections = collect<NodeConnection>(origin, 'connection')
    const disconnections = collect<NodeConnection>(origin, 'disconnection')
    const disconnect = link(origin, phone)
    // 'connection' comes once the connection passed the membership gate (both proofs verified).
    await eventually(() => connections.length === 1, 'the connection event')
    expect(origin.peerCount).toBe(1)

    await origin.put('from-origin', '1')
    await eventually(async () => (await phone.get('from-origin')) === '1', 'origin data on phone')

    const becameWritable = nextEvent<[boolean]>(phone, 'writable')
    await origin.addWriter(phone.writerKey!)
    expect(await becameWritable).toEqual([true])
    expect(phone.writable).toBe(true)
    await phone.put('from-phone', '2')
    await eventually(async () => (await origin.get('from-phone')) === '2', 'phone data on origin')

    const writers = await origin.writers()
    expect(writers.map((w) => hex(w.key)).sort()).toEqual([hex(origin.key), hex(phone.writerKey)].sort())
    expect(await phone.isWriter(phone.writerKey!)).toBe(true)

    disconnect()
    await eventually(() => disconnections.length === 1, 'disconnection event')
    expect(origin.peerCount).toBe(0)
  })

  it('a reopened storage is the same writer; the same passphrase on a fresh storage is a new device, not a writer', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const storage = memoryStorage()
    const first = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key, storage })
    const disconnect = link(origin, first)
    await origin.addWriter(first.writerKey!)
    await eventually(() => first.writable, 'first tablet writable')
    await first.put('from-tablet', 'before the restart')
    await eventually(async () => (await origin.get('from-tablet')) === 'before the restart', 'tablet write on origin')
    disconnect()
    const firstWriterKey = first.writerKey
    await first.close()

    // The same storage reopened, offline, with no databaseKey: the same device, still a writer.
    const reopened = await node({ role: 'read-only', rootSecret: root, storage })
    expect(hex(reopened.key)).toBe(hex(origin.key))
    expect(hex(reopened.writerKey)).toBe(hex(firstWriterKey))
    expect(reopened.writable).toBe(true)
    await reopened.put('after-restart', 'still a writer')
    link(origin, reopened)
    await eventually(async () => (await origin.get('after-restart')) === 'still a writer', 'reopened write on origin')
    await reopened.close()

    // A new device (fresh storage), same passphrase: another writer key, and not a writer, even
    // once it has synced everything (including the add-writer of the first tablet).
    const again = await node({ role: 'read-only', rootSecret: await rootSecret(), databaseKey: origin.key })
    expect(hex(again.writerKey)).not.toBe(hex(firstWriterKey))
    expect(again.writable).toBe(false)
    link(origin, again)
    await eventually(async () => (await again.get('after-restart')) === 'still a writer', 'new device synced')
    expect(await again.isWriter(firstWriterKey!)).toBe(true)
    expect(await again.isWriter(again.writerKey!)).toBe(false)
    expect(again.writable).toBe(false)
    await expectCode(again.put('k', 'v'), 'ERR_NOT_WRITABLE')
  })

  it("never applies a removed writer's later ops, on any node", async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    const disconnect = link(origin, phone)
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, 'phone writable')
    await phone.put('before', 'kept')
    await eventually(async () => (await origin.get('before')) === 'kept', 'phone op on origin')

    // The phone is offline when it is removed, and keeps writing.
    disconnect()
    await origin.removeWriter(phone.writerKey!)
    expect(await origin.isWriter(phone.writerKey!)).toBe(false)
    await phone.put('after', 'dropped')
    expect(await phone.get('after')).toBe('dropped') // applied optimistically while offline

    const lostWrite = nextEvent<[boolean]>(phone, 'writable', (w) => w === false)
    link(origin, phone)
    await lostWrite
    await eventually(async () => (await phone.get('after')) === null, 'phone drops its own late op')
    await phone.update()
    await origin.update()
    expect(await origin.get('after')).toBeNull()
    expect(await origin.get('before')).toBe('kept')
    expect(await phone.get('before')).toBe('kept')
    expect(phone.writable).toBe(false)
    expect((await origin.writers()).map((w) => hex(w.key))).toEqual([hex(origin.key)])
    await expectCode(phone.put('again', 'x'), 'ERR_NOT_WRITABLE')
  })

  it('skips malformed ops and membership ops that cannot apply, without stopping', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    link(origin, phone)
    const reported = collect<InvalidOp>(origin, 'invalid-op')
    const reportedOnPhone = collect<InvalidOp>(phone, 'invalid-op')

    const good = encodeOp({ type: 'put', key: b4a.from('good'), value: b4a.from([1, ...b4a.from('yes')]) })
    const addWriterOp = encodeOp({
      type: 'add-writer',
      key: new Uint8Array(32).fill(5),
      indexer: false,
      recovery: false,
      name: '',
      channelKey: new Uint8Array(32),
      channelProof: new Uint8Array(64),
      at: 1
    })
    const garbage = [
      new Uint8Array(0), // empty
      b4a.from([2]), // version only
      b4a.from([3, 1, 1, 0x61, 1, 1]), // unknown version
      b4a.from([1, 1, 1, 0x61, 1, 1]), // a put of the previous format (version 1)
      b4a.from([2, 9]), // unknown type
      b4a.concat([good, b4a.from([0])]), // trailing byte
      encodeOp({ type: 'put', key: b4a.from('k'), value: b4a.from([7, 1]) }), // unknown value tag
      encodeOp({ type: 'put', key: b4a.from('k'), value: b4a.from([1, 0xff, 0xfe]) }), // invalid UTF-8
      encodeOp({ type: 'put', key: new Uint8Array(0), value: b4a.from([0]) }), // empty key
      addWriterOp.subarray(0, 10), // truncated key
      b4a.concat([addWriterOp.subarray(0, 34), b4a.from([4]), addWriterOp.subarray(35)]) // unknown add-writer flag (after version, type, key)
    ]
    await appendRawOplog(origin, [garbage[0]!, good, ...garbage.slice(1)])
    expect(await origin.get('good')).toBe('yes')
    const malformedSeqs = (list: InvalidOp[]) =>
      [...new Set(list.filter((r) => r.reason === 'malformed').map((r) => r.seq))].sort((x, y) => x - y)
    // Blocks 0 (empty) and 2..11 are garbage, block 1 is the good put.
    expect(malformedSeqs(reported)).toEqual([0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    expect(await origin.isWriter(new Uint8Array(32).fill(5))).toBe(false)
    expect(reported.every((r) => hex(r.writer) === hex(origin.key))).toBe(true)

    // Removing the only indexer would stop Autobase: it is refused and reported instead.
    await origin.removeWriter(origin.key)
    await origin.removeWriter(new Uint8Array(32).fill(9))
    expect(reported.map((r) => r.reason)).toEqual(expect.arrayContaining(['last-indexer', 'not-a-member']))
    expect(origin.writable).toBe(true)
    expect(origin.invalidOps).toBeGreaterThanOrEqual(garbage.length + 2)

    await origin.put('still', 'working')
    await eventually(async () => (await phone.get('still')) === 'working', 'phone applies past the bad ops')
    expect(await phone.get('good')).toBe('yes')
    // An empty block reaches a remote node as an Autobase ack (null value): apply never sees it.
    expect(malformedSeqs(reportedOnPhone)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
  })

  it('carries ephemeral messages on the same connections', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    expect(hex(origin.ephemeral.discoveryKey)).toBe(hex(origin.discoveryKey))
    const opened = Promise.all([nextEvent(origin.ephemeral, 'peer-open'), nextEvent(phone.ephemeral, 'peer-open')])
    link(origin, phone)
    await opened
    // (The secure channel's membership proofs travel here too.)
    const got = nextEvent<[{ payload: Uint8Array; contentType: string }]>(phone.ephemeral, 'message', (m) => m.contentType === 'text/plain')
    expect(origin.ephemeral.broadcast(b4a.from('ping'), { contentType: 'text/plain' })).toBe(1)
    const [msg] = await got
    expect(b4a.toString(msg.payload)).toBe('ping')
    expect(msg.contentType).toBe('text/plain')
  })
})

describe('an always-on node', () => {
  it('replicates and relays ciphertext it cannot read', async () => {
    const secret = 'top secret value 0123456789'
    const origin = await node({ role: 'origin', rootSecret: root })
    await origin.batch([
      { type: 'put', key: 'secret', value: secret },
      { type: 'put', key: 'other', value: 'plain words here' }
    ])
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential })
    expect(hex(blind.discoveryKey)).toBe(hex(origin.discoveryKey))
    expect(blind.readable).toBe(false)
    expect(blind.writable).toBe(false)
    expect(blind.channelKey).toBeNull()
    expect(blind.writerKey).toBeNull()

    const disconnectOrigin = link(origin, blind)
    const localLength = autobaseOf(origin).local.length as number
    expect(localLength).toBeGreaterThanOrEqual(2)
    await eventually(() => blind.seeded()[0]!.contiguousLength >= localLength, 'always-on holds the origin core')

    // What it stores is ciphertext: the plaintext the origin reads from the same block is absent.
    const originBlocks: Uint8Array[] = []
    const blindBlocks: Uint8Array[] = []
    for (let i = 0; i < localLength; i++) {
      originBlocks.push(await autobaseOf(origin).local.get(i, { valueEncoding: 'binary' }))
      blindBlocks.push((await rawStoredBlock(blind, blind.key, i))!)
    }
    expect(originBlocks.some((b) => b4a.toString(b).includes(secret))).toBe(true)
    expect(blindBlocks.every((b) => b instanceof Uint8Array && b.byteLength > 0)).toBe(true)
    expect(blindBlocks.some((b) => b4a.toString(b).includes(secret))).toBe(false)
    expect(blindBlocks.map(hex)).not.toEqual(originBlocks.map(hex))
    await expectCode(blind.get('secret'), 'ERR_NOT_READABLE')
    await expectCode(blind.list(), 'ERR_NOT_READABLE')
    await expectCode(blind.put('x', 'y'), 'ERR_NOT_WRITABLE')

    // With the origin gone, a new device gets the data from the always-on node alone.
    disconnectOrigin()
    await origin.close()
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    link(blind, phone)
    await eventually(async () => (await phone.get('secret')) === secret, 'data relayed by the always-on node')
  })

  it('seeds other writer cores it is told about', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential })
    link(origin, phone)
    await origin.addWriter(phone.writerKey!)
    await eventually(() => phone.writable, 'phone writable')
    await phone.put('from-phone', 'via always-on')
    await blind.seed(phone.writerKey!)
    link(phone, blind)
    await eventually(
      () => blind.seeded().some((c) => hex(c.key) === hex(phone.writerKey) && c.contiguousLength >= 1),
      "always-on holds the phone's core"
    )
    expect(() => origin.seeded()).toThrow(HyphaNodeError)
  })
})
