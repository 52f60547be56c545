// Heads messages (heads.ts) from a peer that sends garbage: reported as 'bad-heads', never obeyed.
import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import c from 'compact-encoding'
import { nextEvent, cleanupsAfterEach } from '@hypha/test-utils'
import type { EphemeralPeer } from '@hypha/ephemeral-ext'
import { HEADS_CONTENT_TYPE, HeadsError, memoryStorage, type HyphaNodeOptions } from '../src/index.js'
import { discoveryKeyOf } from '../src/engine/autobase.js'
import { decodeHeads, headsEncoding, MAX_HEADS_PER_MESSAGE } from '../src/heads.js'
import { rootSecret, connect, eventually, startNode } from './fixtures/helpers.js'

let root: Uint8Array
beforeAll(() => {
  root = rootSecret()
})

const cleanups = cleanupsAfterEach(afterEach)
const node = (options: HyphaNodeOptions) => startNode(options, cleanups)
const hex = (b: Uint8Array) => b4a.toString(b, 'hex')

describe('heads messages', () => {
  it('decode errors are HeadsError with a code', () => {
    const one = c.encode(headsEncoding, [{ key: b4a.alloc(32, 1), length: 5, treeHash: b4a.alloc(32, 2) }])
    const cases: Array<[Uint8Array, string]> = [
      ['not bytes' as unknown as Uint8Array, 'ERR_MALFORMED_HEADS'],
      [b4a.concat([one, b4a.from([0])]), 'ERR_MALFORMED_HEADS'],
      [one.subarray(0, one.byteLength - 1), 'ERR_MALFORMED_HEADS'],
      [new Uint8Array(0), 'ERR_MALFORMED_HEADS'],
      [c.encode(c.uint, MAX_HEADS_PER_MESSAGE + 1), 'ERR_TOO_MANY_HEADS']
    ]
    for (const [bytes, code] of cases) {
      let thrown: unknown = null
      try {
        decodeHeads(bytes)
      } catch (err) {
        thrown = err
      }
      expect(thrown).toBeInstanceOf(HeadsError)
      expect((thrown as HeadsError).code).toBe(code)
    }
  })

  it('a malformed one is reported as bad-heads with the peer; the node keeps replicating', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    const disconnect = connect(origin, phone)
    cleanups.push(disconnect)
    await eventually(() => origin.connections.length === 1 && origin.connections[0]!.ephemeral.opened, 'connected')
    const peer = origin.connections[0]!.ephemeral

    for (const [payload, code] of [
      [new Uint8Array([1, 2, 3]), 'ERR_MALFORMED_HEADS'],
      [c.encode(c.uint, MAX_HEADS_PER_MESSAGE + 1), 'ERR_TOO_MANY_HEADS']
    ] as const) {
      const bad = nextEvent<[HeadsError, EphemeralPeer]>(phone, 'bad-heads')
      origin.ephemeral.send(peer, payload, { contentType: HEADS_CONTENT_TYPE })
      const [error, from] = await bad
      expect(error).toBeInstanceOf(HeadsError)
      expect(error.code).toBe(code)
      expect(hex(from.remotePublicKey!)).toBe(hex(origin.noiseKeyPair.publicKey))
    }

    await origin.put('after', 'garbage')
    await eventually(async () => (await phone.get('after')) === 'garbage', 'still replicating')
    expect(phone.closed).toBe(false)
  })

  it('heads of cores that are not writers of the database are ignored: no core is made for them', async () => {
    const opened: string[] = []
    const memory = memoryStorage()
    const storage = (name: string) => {
      opened.push(name)
      return memory(name)
    }
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key, storage })
    cleanups.push(connect(origin, phone))
    await eventually(() => origin.connections.length === 1 && origin.connections[0]!.ephemeral.opened, 'connected')

    const stranger = b4a.alloc(32, 9)
    const strangerId = hex(discoveryKeyOf(stranger))
    const bad = nextEvent<[HeadsError, EphemeralPeer]>(phone, 'bad-heads')
    const heads = [{ key: stranger, length: 1, treeHash: b4a.alloc(32, 1) }]
    origin.ephemeral.send(origin.connections[0]!.ephemeral, c.encode(headsEncoding, heads), { contentType: HEADS_CONTENT_TYPE })
    // A malformed message after it: once it is reported, the one before was handled.
    origin.ephemeral.send(origin.connections[0]!.ephemeral, new Uint8Array([1]), { contentType: HEADS_CONTENT_TYPE })
    await bad
    await new Promise((r) => setTimeout(r, 100))
    expect(opened.filter((name) => name.includes(strangerId))).toEqual([])
  })
})
