import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { EventEmitter } from 'events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { cleanupsAfterEach } from '@hypha/test-utils'
import { HyphaNode, HyphaNodeError, memoryStorage, type HyphaNodeOptions } from '../src/index.js'
import { rootSecret, startNode } from './fixtures/helpers.js'

let root: Uint8Array
beforeAll(() => {
  root = rootSecret()
})

const cleanups = cleanupsAfterEach(afterEach)

const MAX_MS = 2 ** 31 - 1
const key32 = () => new Uint8Array(32).fill(7)

function signKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const publicKey = b4a.alloc(32)
  const secretKey = b4a.alloc(64)
  sodium.crypto_sign_keypair(publicKey, secretKey)
  return { publicKey, secretKey }
}

class FakeTransport extends EventEmitter {
  readonly name = 'fake'
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** Runs `make` expecting a synchronous HyphaNodeError ERR_INVALID_ARGUMENT whose message names `option`. */
function expectRefused(make: () => unknown, option: string): void {
  let thrown: unknown = null
  let made: unknown = null
  try {
    made = make()
  } catch (err) {
    thrown = err
  }
  if (made instanceof HyphaNode) cleanups.push(() => made.close())
  expect(thrown, `${option}: refused`).toBeInstanceOf(HyphaNodeError)
  expect((thrown as HyphaNodeError).code).toBe('ERR_INVALID_ARGUMENT')
  expect((thrown as HyphaNodeError).message).toContain(option)
}

/** A well-formed member credential (hex) for the all-zero database key. */
const credential = () => '01' + '00'.repeat(128)

describe('HyphaNode options', () => {
  // [option named in the error, options] — every invalid value of every option of every role.
  const invalidOptions = (): Array<[string, unknown]> => {
    const origin = { role: 'origin', rootSecret: root }
    const joining = { role: 'read-only', rootSecret: root }
    const alwaysOn = { role: 'always-on', memberCredential: credential() }
    const pair = signKeyPair()
    const common: Array<[string, Record<string, unknown>]> = []
    for (const base of [origin, joining, alwaysOn]) {
      for (const storage of [42, '', null, {}, true]) common.push(['storage', { ...base, storage }])
      for (const transports of [5, 'tcp', {}, null, new FakeTransport(), [5], [null], [{}], ['tcp']]) {
        common.push(['transports', { ...base, transports }])
      }
      common.push(['transports', { ...base, transports: [{ start() {}, stop() {} }] }]) // no `on`
      common.push(['transports', { ...base, transports: [{ on() {}, stop() {} }] }]) // no `start`
      const twice = new FakeTransport()
      common.push(['transports', { ...base, transports: [twice, twice] }])
      for (const now of [5, 'now', null, {}]) common.push(['now', { ...base, now }])
    }
    const full: Array<[string, Record<string, unknown>]> = []
    for (const base of [origin, joining]) {
      for (const rootSecret of [undefined, null, new Uint8Array(31), new Uint8Array(33), 'x'.repeat(32), Array(32).fill(0)]) {
        full.push(['rootSecret', { ...base, rootSecret }])
      }
      for (const databaseKey of [null, new Uint8Array(31), b4a.toString(key32(), 'hex'), 5]) full.push(['databaseKey', { ...base, databaseKey }])
      for (const ms of [-1, 0, 1.5, NaN, Infinity, MAX_MS + 1, 2 ** 40, '100', null]) full.push(['lookupTimeoutMs', { ...base, lookupTimeoutMs: ms }])
      for (const ms of [-1, 0.5, NaN, Infinity, MAX_MS + 1, 2 ** 40, '0', null]) {
        full.push(['lookupSettleMs', { ...base, lookupSettleMs: ms }])
        full.push(['existingAccountCheckMs', { ...base, existingAccountCheckMs: ms }])
      }
      for (const ms of [-1, 0, 1.5, NaN, Infinity, MAX_MS + 1, '1000', null]) full.push(['ackInterval', { ...base, ackInterval: ms }])
      for (const writerKeyPair of [
        null,
        5,
        {},
        { publicKey: pair.publicKey },
        { publicKey: pair.publicKey, secretKey: pair.secretKey.subarray(0, 32) },
        { publicKey: pair.publicKey.subarray(1), secretKey: pair.secretKey },
        { publicKey: signKeyPair().publicKey, secretKey: pair.secretKey }, // not one key pair
        { publicKey: b4a.toString(pair.publicKey, 'hex'), secretKey: pair.secretKey }
      ]) {
        full.push(['writerKeyPair', { ...base, writerKeyPair }])
      }
    }
    const blind: Array<[string, Record<string, unknown>]> = [
      ['memberCredential', { role: 'always-on' }],
      ['memberCredential', { role: 'always-on', databaseKey: key32() }], // the database key alone serves strangers too: refused
      ['databaseKey', { ...alwaysOn, databaseKey: new Uint8Array(31) }],
      ['databaseKey', { ...alwaysOn, databaseKey: null }],
      ['memberCredential', { ...alwaysOn, databaseKey: key32() }], // another database
      ['memberCredential', { role: 'always-on', memberCredential: 'abcd' }],
      ['memberCredential', { role: 'always-on', memberCredential: '01' + 'zz'.repeat(128) }],
      ['memberCredential', { role: 'always-on', memberCredential: new Uint8Array(96) }], // an old locator
      ['memberCredential', { role: 'always-on', memberCredential: b4a.concat([b4a.from([2]), new Uint8Array(128)]) }], // version 2
      ['memberCredential', { role: 'always-on', memberCredential: 5 }],
      ['memberCredential', { role: 'always-on', memberCredential: null }],
      ['locator', { role: 'always-on', locator: 'abcd' }],
      ['locator', { role: 'always-on', locator: new Uint8Array(96) }],
      ['locator', { role: 'always-on', locator: null }],
      ['memberCredential', { role: 'always-on', locator: credential(), memberCredential: credential() }], // both
      ['noiseKeyPair', { ...alwaysOn, noiseKeyPair: null }],
      ['noiseKeyPair', { ...alwaysOn, noiseKeyPair: {} }],
      ['noiseKeyPair', { ...alwaysOn, noiseKeyPair: { publicKey: pair.publicKey, secretKey: new Uint8Array(32) } }],
      ['noiseKeyPair', { ...alwaysOn, noiseKeyPair: { publicKey: signKeyPair().publicKey, secretKey: pair.secretKey } }]
    ]
    for (const bound of ['maxSeededCores', 'maxCoreBytes', 'maxKeptBytes']) {
      for (const value of [0, -1, 1.5, NaN, Infinity, 2 ** 53, '5', null]) blind.push([bound, { ...alwaysOn, [bound]: value }])
    }
    return [
      ['options', undefined],
      ['options', null],
      ['options', 5],
      ['options', 'origin'],
      ['role', { rootSecret: root }],
      ['role', { role: 'admin', rootSecret: root }],
      ['role', { role: 5 }],
      ...common,
      ...full,
      ...blind
    ]
  }

  it('refuses every invalid option of every role at once, with ERR_INVALID_ARGUMENT naming the option', () => {
    const cases = invalidOptions()
    expect(cases.length).toBeGreaterThan(150)
    for (const [option, options] of cases) expectRefused(() => new HyphaNode(options as HyphaNodeOptions), option)
  })

  it('takes the edges of every range, and options left undefined', async () => {
    const pair = signKeyPair()
    const dir = await mkdtemp(join(tmpdir(), 'hypha-options-'))
    cleanups.unshift(() => rm(dir, { recursive: true, force: true }))
    const valid: HyphaNodeOptions[] = [
      {
        role: 'origin',
        rootSecret: root,
        storage: memoryStorage(),
        transports: [new FakeTransport()],
        databaseKey: undefined,
        lookupTimeoutMs: MAX_MS,
        lookupSettleMs: 0,
        existingAccountCheckMs: 0,
        ackInterval: 1,
        writerKeyPair: pair
      },
      { role: 'read-only', rootSecret: root, lookupTimeoutMs: 1, lookupSettleMs: MAX_MS, existingAccountCheckMs: MAX_MS, ackInterval: MAX_MS },
      { role: 'origin', rootSecret: root, storage: dir, transports: [], writerKeyPair: undefined },
      { role: 'always-on', memberCredential: credential(), noiseKeyPair: pair, maxSeededCores: 1, transports: undefined, storage: undefined },
      { role: 'always-on', memberCredential: credential(), maxSeededCores: Number.MAX_SAFE_INTEGER, locator: undefined },
      { role: 'always-on', memberCredential: credential(), maxCoreBytes: 1, maxKeptBytes: Number.MAX_SAFE_INTEGER },
      { role: 'always-on', memberCredential: credential(), maxCoreBytes: Number.MAX_SAFE_INTEGER, maxKeptBytes: 1 },
      { role: 'always-on', locator: credential(), databaseKey: new Uint8Array(32), memberCredential: undefined }
    ]
    // Constructing opens nothing: each closes without ready().
    for (const options of valid) await new HyphaNode(options).close()

    // A writer key pair given is the one the node writes with.
    const node = await startNode({ role: 'origin', rootSecret: root, writerKeyPair: pair, ackInterval: 1 }, cleanups)
    expect(node.writable).toBe(true)
    await node.put('k', 'v')
    expect(await node.get('k')).toBe('v')
  })
})

describe('a storage function', () => {
  it('that gives something other than a random-access-storage file rejects ready() with ERR_INVALID_ARGUMENT, and nothing crashes', async () => {
    for (const storage of [() => 42, () => ({}), () => null, () => ({ read() {}, write() {} })]) {
      const node = new HyphaNode({ role: 'origin', rootSecret: root, storage })
      cleanups.push(() => node.close())
      const err = await node.ready().then(
        () => null,
        (e: unknown) => e
      )
      expect(err).toBeInstanceOf(HyphaNodeError)
      expect((err as HyphaNodeError).code).toBe('ERR_INVALID_ARGUMENT')
      expect((err as HyphaNodeError).message).toContain('storage')
      expect(node.closed).toBe(true)
    }
  })
})

describe('HyphaNode method options', () => {
  it('refuses an option bag that is not an object, or an option of the wrong type, with ERR_INVALID_ARGUMENT', async () => {
    const node = await startNode({ role: 'origin', rootSecret: root }, cleanups)
    const refused: Array<[string, () => Promise<unknown>]> = [
      ['options', () => node.addWriter(key32(), null as never)],
      ['options', () => node.addWriter(key32(), 5 as never)],
      ['indexer', () => node.addWriter(key32(), { indexer: 'yes' as never })],
      ['recovery', () => node.addWriter(key32(), { recovery: 1 as never })],
      ['options', () => node.writerCoreLength(key32(), null as never)],
      ['waitMs', () => node.writerCoreLength(key32(), { waitMs: -1 })],
      ['waitMs', () => node.writerCoreLength(key32(), { waitMs: 2 ** 40 })],
      ['waitMs', () => node.writerCoreLength(key32(), { waitMs: 1.5 })],
      ['range', () => node.list(null as never)],
      ['range', () => node.list(5 as never)],
      ['reverse', () => node.list({ reverse: 'yes' as never })],
      ['limit', () => node.list({ limit: -1 })]
    ]
    for (const [option, call] of refused) {
      const err = await call().then(
        () => null,
        (e: unknown) => e
      )
      expect(err, option).toBeInstanceOf(HyphaNodeError)
      expect((err as HyphaNodeError).code).toBe('ERR_INVALID_ARGUMENT')
      expect((err as HyphaNodeError).message).toContain(option)
    }
    expect(await node.writers()).toHaveLength(1)
  })
})
