import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import c from 'compact-encoding'
import sodium from 'sodium-universal'
import { nextEvent, cleanupsAfterEach, settle } from '@hypha/test-utils'
import {
  HyphaNode,
  HyphaNodeError,
  SeedError,
  SEED_CONTENT_TYPE,
  SEED_CONTENT_TYPE_V1,
  MAX_ANNOUNCED_KEYS,
  seedKey,
  encodeSeedAnnouncement as encodeWith,
  decodeSeedAnnouncement as decodeWith,
  memoryStorage,
  type HyphaNodeOptions } from '../src/index.js'
import { corestoreOf } from '../src/debug.js'
import { rootSecret, connect, eventually, startNode } from './fixtures/helpers.js'

const key = (fill: number) => new Uint8Array(32).fill(fill)
const hex = (b: Uint8Array | null) => (b === null ? null : b4a.toString(b, 'hex'))
const MEMBER_KEY = key(0xaa)
const encodeSeedAnnouncement = (keys: Uint8Array[]) => encodeWith(keys, MEMBER_KEY)
const decodeSeedAnnouncement = (payload: Uint8Array) => decodeWith(payload, MEMBER_KEY)
/** Seals any list bytes the way members do: to test what the list decoder does with them. */
function sealList(list: Uint8Array, memberKey: Uint8Array = MEMBER_KEY): Uint8Array {
  const nonce = b4a.alloc(24, 1)
  const box = b4a.alloc(list.byteLength + 16)
  sodium.crypto_secretbox_easy(box, list, nonce, seedKey(memberKey))
  return b4a.concat([nonce, box])
}

function decodeError(payload: Uint8Array): SeedError {
  try {
    decodeSeedAnnouncement(payload)
  } catch (err) {
    expect(err).toBeInstanceOf(SeedError)
    return err as SeedError
  }
  throw new Error('decoded without an error')
}

describe('seed announcement codec', () => {
  it('round-trips 0, 1 and the maximum number of keys', () => {
    for (const n of [0, 1, MAX_ANNOUNCED_KEYS]) {
      const keys = Array.from({ length: n }, (_, i) => key(i % 256))
      const decoded = decodeSeedAnnouncement(encodeSeedAnnouncement(keys))
      expect(decoded.map(hex)).toEqual(keys.map(hex))
    }
    // A nonce, then the count prefix and the keys sealed (a 16-byte MAC), nothing else.
    expect(encodeSeedAnnouncement([key(7)]).byteLength).toBe(24 + 1 + 32 + 16)
    expect(hex(decodeSeedAnnouncement(sealList(b4a.concat([b4a.from([1]), key(7)])))[0]!)).toBe(hex(key(7)))
  })

  it('refuses to encode bad keys or too many', () => {
    expect(() => encodeSeedAnnouncement([new Uint8Array(31)])).toThrow(SeedError)
    expect(() => encodeSeedAnnouncement(['x'.repeat(32) as unknown as Uint8Array])).toThrow(SeedError)
    const tooMany = Array.from({ length: MAX_ANNOUNCED_KEYS + 1 }, () => key(1))
    try {
      encodeSeedAnnouncement(tooMany)
      throw new Error('encoded')
    } catch (err) {
      expect((err as SeedError).code).toBe('ERR_TOO_MANY_KEYS')
    }
  })

  it('refuses what a member did not seal: strangers, tampering, old plaintext lists (ERR_NOT_A_MEMBER)', () => {
    const one = encodeSeedAnnouncement([key(1)])
    const flipped = b4a.from(one)
    flipped[30]! ^= 1
    const cases: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array(0)],
      ['sealed with another member key', encodeWith([key(1)], key(0xbb))],
      ['one bit flipped', flipped],
      ['a plaintext hypha/seed/1 list', b4a.concat([b4a.from([1]), key(1)])],
      ['255 random keys in plaintext', b4a.concat([c.encode(c.uint, 255), ...Array.from({ length: 255 }, () => key(9))])]
    ]
    for (const [what, payload] of cases) expect(decodeError(payload).code, what).toBe('ERR_NOT_A_MEMBER')
  })

  it('rejects malformed, truncated, trailing and oversized (sealed) lists', () => {
    const one = b4a.concat([b4a.from([1]), key(1)])
    const cases: Array<[string, Uint8Array, string]> = [
      ['a truncated varint count', new Uint8Array([0xfd, 0x01]), 'ERR_MALFORMED_ANNOUNCEMENT'],
      ['a key one byte short', one.subarray(0, one.byteLength - 1), 'ERR_MALFORMED_ANNOUNCEMENT'],
      ['a trailing byte', b4a.concat([one, new Uint8Array([0])]), 'ERR_MALFORMED_ANNOUNCEMENT'],
      ['a count with no keys', new Uint8Array([2]), 'ERR_MALFORMED_ANNOUNCEMENT'],
      ['keys of 16 bytes', b4a.concat([new Uint8Array([2]), new Uint8Array(32)]), 'ERR_MALFORMED_ANNOUNCEMENT'],
      ['a count over the limit', c.encode(c.uint, MAX_ANNOUNCED_KEYS + 1), 'ERR_TOO_MANY_KEYS'],
      ['a huge count', c.encode(c.uint, 2 ** 40), 'ERR_TOO_MANY_KEYS'],
      [
        'too many keys, all present',
        b4a.concat([c.encode(c.uint, MAX_ANNOUNCED_KEYS + 1), new Uint8Array((MAX_ANNOUNCED_KEYS + 1) * 32)]),
        'ERR_TOO_MANY_KEYS'
      ]
    ]
    for (const [what, list, code] of cases) {
      expect(decodeError(sealList(list)).code, what).toBe(code)
    }
  })
})

describe('an always-on node learns writer cores from announcements', () => {
  let root: Uint8Array
  beforeAll(async () => {
    root = rootSecret()
  })

  const cleanups = cleanupsAfterEach(afterEach)

  const node = (options: HyphaNodeOptions) => startNode(options, cleanups)

  /** Length of the node's own writer core (a second session on its store, closed again). */
  async function writerLength(n: HyphaNode): Promise<number> {
    const core = corestoreOf(n).get({ key: n.writerKey })
    await core.ready()
    const length: number = core.length
    await core.close()
    return length
  }

  function link(x: HyphaNode, y: HyphaNode) {
    cleanups.push(connect(x, y))
  }

  it('seeds a writer added while connected, and one a newly connected node already knows', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential })
    link(origin, blind)
    link(phone, origin)

    // Membership changes while the always-on node is connected: the origin announces it.
    const seeded = nextEvent<[Uint8Array]>(blind, 'seeded', (k) => hex(k) === hex(phone.writerKey))
    await origin.addWriter(phone.writerKey!)
    await seeded
    await eventually(() => phone.writable, 'phone writable')
    await phone.put('from-phone', 'kept by always-on')
    const phoneLength = await writerLength(phone)
    expect(phoneLength).toBeGreaterThan(0)
    await eventually(
      () => blind.seeded().some((core) => hex(core.key) === hex(phone.writerKey) && core.contiguousLength >= phoneLength),
      "always-on holds the phone's writes"
    )

    // A second always-on node connected later learns it from the announcement on connect.
    const blind2 = await node({ role: 'always-on', memberCredential: origin.memberCredential })
    const seeded2 = nextEvent<[Uint8Array]>(blind2, 'seeded', (k) => hex(k) === hex(phone.writerKey))
    link(phone, blind2)
    await seeded2
    expect(blind2.seeded().map((core) => hex(core.key)).sort()).toEqual([hex(origin.key), hex(phone.writerKey)].sort())
  })

  it('always-on nodes pass announcements on, in a ring too, without a storm; the bound still holds', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    const [a1, a2, a3] = [
      await node({ role: 'always-on', memberCredential: origin.memberCredential }),
      await node({ role: 'always-on', memberCredential: origin.memberCredential }),
      await node({ role: 'always-on', memberCredential: origin.memberCredential })
    ]
    // A full ring of always-on nodes; only A1 meets the writers, and a capped one (its bound is the
    // origin's core alone) hangs off A3.
    const capped = await node({ role: 'always-on', memberCredential: origin.memberCredential, maxSeededCores: 1 })
    const received = new Map<HyphaNode, number>()
    for (const n of [a1, a2, a3, capped]) {
      received.set(n, 0)
      n.ephemeral.on('message', ({ contentType }) => {
        if (contentType === SEED_CONTENT_TYPE) received.set(n, received.get(n)! + 1)
      })
    }
    link(origin, a1)
    link(phone, a1)
    link(a1, a2)
    link(a2, a3)
    link(a3, a1)
    link(a3, capped)
    const refused = nextEvent<[Uint8Array, unknown]>(capped, 'seed-refused', (k) => hex(k) === hex(phone.writerKey))

    await origin.addWriter(phone.writerKey!)
    // A core nobody announces, seeded by hand on A3: A3 announces it too.
    const extra = key(0x42)
    await a3.seed(extra)
    const all = [hex(origin.key), hex(phone.writerKey), hex(extra)].sort()
    for (const n of [a1, a2, a3]) {
      await eventually(() => n.seeded().map((core) => hex(core.key)).sort().join() === all.join(), 'every core on every always-on node')
    }
    expect(((await refused)[1] as SeedError).code).toBe('ERR_SEED_LIMIT')
    expect(capped.seeded().map((core) => hex(core.key))).toEqual([hex(origin.key)])

    // Writes that change no set announce nothing more: wait until they reached the ring's far end.
    await phone.put('more', 'data')
    const phoneLength = await writerLength(phone)
    await eventually(
      () => a2.seeded().some((core) => hex(core.key) === hex(phone.writerKey) && core.contiguousLength >= phoneLength),
      "A2 holds the phone's writes"
    )
    // Each peer sends its set once on connecting and once per growth (at most 2 here): no loop.
    const bound = (peers: number) => peers * (1 + 2)
    expect(received.get(a1)).toBeLessThanOrEqual(bound(4))
    expect(received.get(a2)).toBeLessThanOrEqual(bound(2))
    expect(received.get(a3)).toBeLessThanOrEqual(bound(3))
    expect(received.get(capped)).toBeLessThanOrEqual(bound(1))
  })

  it('refuses cores past maxSeededCores and reports bad announcements, and keeps working', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential, maxSeededCores: 1 })
    link(origin, blind)

    const refused = nextEvent<[Uint8Array, unknown]>(blind, 'seed-refused')
    await origin.addWriter(phone.writerKey!)
    const [refusedKey, error] = await refused
    expect(hex(refusedKey)).toBe(hex(phone.writerKey))
    expect(error).toBeInstanceOf(SeedError)
    expect((error as SeedError).code).toBe('ERR_SEED_LIMIT')
    expect(blind.seeded().map((core) => hex(core.key))).toEqual([hex(origin.key)])
    await expect(blind.seed(phone.writerKey!)).rejects.toMatchObject({ code: 'ERR_SEED_LIMIT' })

    // A peer sending garbage under the seed content type is reported, not obeyed, and not fatal.
    const peer = origin.connections[0]!.ephemeral
    const bad = nextEvent<[SeedError]>(blind, 'bad-announcement')
    origin.ephemeral.send(peer, sealList(new Uint8Array([5, 1, 2, 3]), origin.memberKey), { contentType: SEED_CONTENT_TYPE })
    const [badError] = await bad
    expect(badError.code).toBe('ERR_MALFORMED_ANNOUNCEMENT')
    // Unsealed, or sealed with another key: a stranger's, reported as not a member's.
    for (const [payload, contentType] of [
      [b4a.concat([b4a.from([1]), key(3)]), SEED_CONTENT_TYPE_V1],
      [encodeWith([key(3)], key(0xbb)), SEED_CONTENT_TYPE]
    ] as Array<[Uint8Array, string]>) {
      const stranger = nextEvent<[SeedError]>(blind, 'bad-announcement')
      origin.ephemeral.send(peer, payload, { contentType })
      expect((await stranger)[0].code).toBe('ERR_NOT_A_MEMBER')
    }

    // Still replicating the origin's core afterwards.
    const before = blind.seeded()[0]!.contiguousLength
    await origin.put('after', 'garbage')
    await eventually(() => blind.seeded()[0]!.contiguousLength > before, 'always-on still replicates')
    expect(blind.closed).toBe(false)

    expect(() => new HyphaNode({ role: 'always-on', memberCredential: origin.memberCredential, maxSeededCores: 0 })).toThrow(HyphaNodeError)
  })
})

describe('an always-on node keeps cores within byte budgets', () => {
  let root: Uint8Array
  beforeAll(async () => {
    root = rootSecret('byte budgets')
  })

  const cleanups = cleanupsAfterEach(afterEach)
  const node = (options: HyphaNodeOptions) => startNode(options, cleanups)
  const link = (x: HyphaNode, y: HyphaNode) => cleanups.push(connect(x, y))
  const KiB = 1024

  /** A writer added by the origin, writable, and seeded by `blind`. */
  async function writer(origin: HyphaNode, blind: HyphaNode): Promise<HyphaNode> {
    const n = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    link(n, origin)
    link(n, blind)
    const seeded = nextEvent<[Uint8Array]>(blind, 'seeded', (k) => hex(k) === hex(n.writerKey))
    await origin.addWriter(n.writerKey!)
    await seeded
    await eventually(() => n.writable, 'writer writable')
    return n
  }

  /** How many blocks of a core `n` holds (through a passive session on its store: it fetches nothing). */
  async function heldBlocks(n: HyphaNode, coreKey: Uint8Array): Promise<number> {
    const core = corestoreOf(n).get({ key: coreKey })
    await core.ready()
    let held = 0
    for (let i = 0; i < core.length; i++) if (await core.has(i)) held++
    await core.close()
    return held
  }

  /** The length of `of`'s own writer core, once `blind` holds all of it. */
  async function keptWhole(blind: HyphaNode, of: HyphaNode): Promise<void> {
    const core = corestoreOf(of).get({ key: of.writerKey })
    await core.ready()
    const length: number = core.length
    await core.close()
    await eventually(
      () => blind.seeded().some((kept) => hex(kept.key) === hex(of.writerKey) && kept.contiguousLength >= length),
      'always-on holds the whole core'
    )
  }

  const keys = (blind: HyphaNode) => blind.seeded().map((core) => hex(core.key)).sort()

  it('refuses a writer core that grows past maxCoreBytes once, stops fetching it and clears it; the others keep syncing', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential, maxCoreBytes: 64 * KiB })
    link(origin, blind)
    const phone = await writer(origin, blind)
    await phone.put('small', 'within the budget')
    await keptWhole(blind, phone)
    expect(blind.seeded().find((core) => hex(core.key) === hex(phone.writerKey))!.byteLength).toBeGreaterThan(0)

    const refusals: Array<[Uint8Array, SeedError]> = []
    blind.on('seed-refused', (k, err) => refusals.push([k, err as SeedError]))
    await phone.put('big', new Uint8Array(100 * KiB))
    await eventually(() => refusals.length > 0, 'refused past maxCoreBytes')
    const [refusedKey, error] = refusals[0]!
    expect(hex(refusedKey)).toBe(hex(phone.writerKey))
    expect(error).toBeInstanceOf(SeedError)
    expect(error.code).toBe('ERR_SEED_BUDGET')
    expect(error.message).toMatch(/maxCoreBytes/)
    expect(keys(blind)).toEqual([hex(origin.key)])
    await expect(blind.seed(phone.writerKey!)).rejects.toMatchObject({ code: 'ERR_SEED_BUDGET' })

    // Writes go on: the origin's core still syncs, the phone's is not fetched (nor held: it was cleared).
    await phone.put('more', new Uint8Array(10 * KiB))
    await origin.put('after', 'the refusal')
    await keptWhole(blind, origin)
    await eventually(async () => (await heldBlocks(origin, phone.writerKey!)) >= 3, 'the origin has the phone\'s writes')
    expect(await heldBlocks(blind, phone.writerKey!)).toBe(0)

    // Announced again (a new connection announces every writer): ignored, not refused twice.
    const announced = nextEvent(blind.ephemeral, 'message', ({ contentType }) => contentType === SEED_CONTENT_TYPE)
    link(phone, blind)
    await announced
    await settle()
    expect(refusals).toHaveLength(1)
    expect(keys(blind)).toEqual([hex(origin.key)])
  })

  it('refuses the writer core that would take the kept cores past maxKeptBytes; the origin\'s core counts but is never refused', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential, maxKeptBytes: 160 * KiB })
    link(origin, blind)
    const phone = await writer(origin, blind)
    const laptop = await writer(origin, blind)

    await phone.put('a', new Uint8Array(100 * KiB))
    await keptWhole(blind, phone)
    const refused = nextEvent<[Uint8Array, SeedError]>(blind, 'seed-refused')
    await laptop.put('b', new Uint8Array(100 * KiB))
    const [laptopKey, error] = await refused
    expect(hex(laptopKey)).toBe(hex(laptop.writerKey))
    expect(error.code).toBe('ERR_SEED_BUDGET')
    expect(error.message).toMatch(/maxKeptBytes/)
    expect(keys(blind)).toEqual([hex(origin.key), hex(phone.writerKey)].sort())
    expect(blind.seeded().reduce((sum, core) => sum + core.byteLength, 0)).toBeLessThanOrEqual(160 * KiB)
    expect(await heldBlocks(blind, laptop.writerKey!)).toBe(0)

    // The origin's core takes the total past the budget and is still kept; the phone's next write is refused.
    await origin.put('c', new Uint8Array(100 * KiB))
    await keptWhole(blind, origin)
    expect(blind.seeded().reduce((sum, core) => sum + core.byteLength, 0)).toBeGreaterThan(160 * KiB)
    const phoneRefused = nextEvent<[Uint8Array, SeedError]>(blind, 'seed-refused')
    await phone.put('d', 'one more')
    expect(hex((await phoneRefused)[0])).toBe(hex(phone.writerKey))
    expect(keys(blind)).toEqual([hex(origin.key)])
  })

  it('does not save a refused core as kept; restarted, it refuses it at once when a member announces it', async () => {
    const storage = memoryStorage()
    const origin = await node({ role: 'origin', rootSecret: root })
    const options = { role: 'always-on', memberCredential: origin.memberCredential, maxCoreBytes: 64 * KiB, storage } as const
    const blind = await node(options)
    link(origin, blind)
    const phone = await writer(origin, blind)
    const refused = nextEvent<[Uint8Array, SeedError]>(blind, 'seed-refused')
    await phone.put('big', new Uint8Array(100 * KiB))
    await refused
    await blind.close()

    const again = await node(options)
    expect(keys(again)).toEqual([hex(origin.key)])
    const refusedAgain = nextEvent<[Uint8Array, SeedError]>(again, 'seed-refused')
    link(origin, again) // the origin announces every writer on connecting
    const [refusedKey, error] = await refusedAgain
    expect(hex(refusedKey)).toBe(hex(phone.writerKey))
    expect(error.code).toBe('ERR_SEED_BUDGET')
    expect(keys(again)).toEqual([hex(origin.key)])
  })

  it('restarted with a lower budget, reports the saved cores now past it and keeps the rest', async () => {
    const storage = memoryStorage()
    const origin = await node({ role: 'origin', rootSecret: root })
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential, storage })
    link(origin, blind)
    const phone = await writer(origin, blind)
    await phone.put('k', 'v')
    await keptWhole(blind, phone)
    await blind.close()

    const again = new HyphaNode({ role: 'always-on', memberCredential: origin.memberCredential, storage, maxCoreBytes: 1 })
    cleanups.push(() => again.close())
    const refusals: Array<[Uint8Array, unknown]> = []
    again.on('seed-refused', (k, err) => refusals.push([k, err]))
    await again.ready()
    expect(refusals.map(([k, err]) => [hex(k), (err as SeedError).code])).toEqual([[hex(phone.writerKey), 'ERR_SEED_BUDGET']])
    expect(keys(again)).toEqual([hex(origin.key)])
  })

  it('takes maxCoreBytes and maxKeptBytes as positive integers (bytes) only', () => {
    const credential = '01' + '00'.repeat(128)
    for (const name of ['maxCoreBytes', 'maxKeptBytes']) {
      for (const value of [0, -1, 1.5, NaN, Infinity, 2 ** 53, '5', null]) {
        const options = { role: 'always-on', memberCredential: credential, [name]: value } as unknown as HyphaNodeOptions
        expect(() => new HyphaNode(options), `${name}: ${String(value)}`).toThrow(new RegExp(name))
      }
    }
  })
})
