import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import c from 'compact-encoding'
import { nextEvent, cleanupsAfterEach } from '@hypha/test-utils'
import {
  HyphaNode,
  HyphaNodeError,
  SeedError,
  SEED_CONTENT_TYPE,
  MAX_ANNOUNCED_KEYS,
  encodeSeedAnnouncement,
  decodeSeedAnnouncement, type HyphaNodeOptions } from '../src/index.js'
import { corestoreOf } from '../src/debug.js'
import { rootSecret, connect, eventually, startNode } from './fixtures/helpers.js'

const key = (fill: number) => new Uint8Array(32).fill(fill)
const hex = (b: Uint8Array | null) => (b === null ? null : b4a.toString(b, 'hex'))

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
    // A count prefix and the keys, nothing else.
    expect(encodeSeedAnnouncement([key(7)]).byteLength).toBe(1 + 32)
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

  it('rejects malformed, truncated, trailing and oversized announcements', () => {
    const one = encodeSeedAnnouncement([key(1)])
    const cases: Array<[string, Uint8Array, string]> = [
      ['empty', new Uint8Array(0), 'ERR_MALFORMED_ANNOUNCEMENT'],
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
    for (const [what, payload, code] of cases) {
      expect(decodeError(payload).code, what).toBe(code)
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
    const blind = await node({ role: 'always-on', databaseKey: origin.key })
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
    const blind2 = await node({ role: 'always-on', databaseKey: origin.key })
    const seeded2 = nextEvent<[Uint8Array]>(blind2, 'seeded', (k) => hex(k) === hex(phone.writerKey))
    link(phone, blind2)
    await seeded2
    expect(blind2.seeded().map((core) => hex(core.key)).sort()).toEqual([hex(origin.key), hex(phone.writerKey)].sort())
  })

  it('refuses cores past maxSeededCores and reports bad announcements, and keeps working', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    const blind = await node({ role: 'always-on', databaseKey: origin.key, maxSeededCores: 1 })
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
    origin.ephemeral.send(peer, new Uint8Array([5, 1, 2, 3]), { contentType: SEED_CONTENT_TYPE })
    const [badError] = await bad
    expect(badError.code).toBe('ERR_MALFORMED_ANNOUNCEMENT')

    // Still replicating the origin's core afterwards.
    const before = blind.seeded()[0]!.contiguousLength
    await origin.put('after', 'garbage')
    await eventually(() => blind.seeded()[0]!.contiguousLength > before, 'always-on still replicates')
    expect(blind.closed).toBe(false)

    expect(() => new HyphaNode({ role: 'always-on', databaseKey: origin.key, maxSeededCores: 0 })).toThrow(HyphaNodeError)
  })
})
