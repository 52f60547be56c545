import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import b4a from 'b4a'
import {
  deriveSubkey,
  deriveChannelKey,
  deriveEncryptionKey,
  deriveAccountKeys,
  lookupProof,
  CONTEXTS,
  deriveMemberKey,
  HyphaNodeError,
  type HyphaNodeErrorCode
} from '../src/index.js'

// The passphrase → root secret step (Argon2id) and its vectors are @hypha/auth's: node-core starts at the root secret.
const fixture = JSON.parse(readFileSync(new URL('./fixtures/subkey-vectors.json', import.meta.url), 'utf8')) as {
  derived: Record<string, string>
}

const hex = (b: Uint8Array) => b4a.toString(b, 'hex')

async function expectCode(p: Promise<unknown> | (() => unknown), code: string) {
  const run = typeof p === 'function' ? Promise.resolve().then(p) : p
  const err = await run.then(() => null, (e: unknown) => e)
  expect(err).toBeInstanceOf(HyphaNodeError)
  expect((err as HyphaNodeError).code).toBe(code)
}

describe('purpose keys (deriveAccountKeys)', () => {
  const root = b4a.from(fixture.derived.rootSecretHex!, 'hex')
  const PURPOSES = ['channelKey', 'encryptionKey', 'lookupTopic', 'lookupKey', 'accountId', 'memberKey'] as const

  it('match the stored vector (BLAKE2b-256 keyed with the root secret over context ‖ 0x00)', () => {
    const keys = deriveAccountKeys(root)
    expect(Object.keys(keys).sort()).toEqual([...PURPOSES].sort())
    expect(hex(keys.channelKey)).toBe(fixture.derived.channelKeyHex)
    expect(hex(keys.encryptionKey)).toBe(fixture.derived.encryptionKeyHex)
    expect(hex(keys.lookupTopic)).toBe(fixture.derived.lookupTopicHex)
    expect(hex(keys.lookupKey)).toBe(fixture.derived.lookupKeyHex)
    expect(hex(keys.accountId)).toBe(fixture.derived.accountIdHex)
    expect(hex(keys.memberKey)).toBe(fixture.derived.memberKeyHex)
    expect(hex(deriveMemberKey(root))).toBe(hex(keys.memberKey))
    // The single-purpose helpers and deriveSubkey agree with it.
    expect(hex(deriveChannelKey(root))).toBe(hex(keys.channelKey))
    expect(hex(deriveEncryptionKey(root))).toBe(hex(keys.encryptionKey))
    expect(hex(deriveSubkey(root, CONTEXTS.lookupTopic))).toBe(hex(keys.lookupTopic))
    expect(hex(deriveSubkey(root, CONTEXTS.lookupKey))).toBe(hex(keys.lookupKey))
    expect(hex(deriveSubkey(root, CONTEXTS.accountId))).toBe(hex(keys.accountId))
  })

  it('are deterministic, 32 bytes each, and distinct per purpose and per root secret', () => {
    const keys = deriveAccountKeys(root)
    const again = deriveAccountKeys(b4a.from(root))
    for (const purpose of PURPOSES) {
      expect(keys[purpose]).toBeInstanceOf(Uint8Array)
      expect(keys[purpose].byteLength).toBe(32)
      expect(hex(again[purpose])).toBe(hex(keys[purpose]))
    }
    // Six purposes, six different keys; none is the root secret itself.
    const all = PURPOSES.map((p) => hex(keys[p]))
    expect(new Set(all).size).toBe(PURPOSES.length)
    expect(all).not.toContain(hex(root))

    // One flipped bit of the root secret changes every one of them.
    const otherRoot = b4a.from(root)
    otherRoot[0]! ^= 1
    const other = deriveAccountKeys(otherRoot)
    for (const purpose of PURPOSES) expect(hex(other[purpose]), purpose).not.toBe(hex(keys[purpose]))
  })

  it('hold nothing that writes or identifies a device: no key pair, only 32-byte secrets', () => {
    const keys = deriveAccountKeys(root) as unknown as Record<string, unknown>
    for (const value of Object.values(keys)) expect(value).toBeInstanceOf(Uint8Array)
    expect(Object.keys(CONTEXTS).sort()).toEqual(['accountId', 'channelKey', 'encryptionKey', 'lookupKey', 'lookupTopic', 'memberKey'])
  })

  it('the lookup proof is keyed by the lookup key and bound to the database key', () => {
    const { lookupKey } = deriveAccountKeys(root)
    const databaseKey = new Uint8Array(32).fill(7)
    const proof = lookupProof(lookupKey, databaseKey)
    expect(proof.byteLength).toBe(32)
    expect(hex(lookupProof(b4a.from(lookupKey), b4a.from(databaseKey)))).toBe(hex(proof))
    expect(hex(lookupProof(lookupKey, new Uint8Array(32).fill(8)))).not.toBe(hex(proof))
    const otherKey = b4a.from(lookupKey)
    otherKey[31]! ^= 1
    expect(hex(lookupProof(otherKey, databaseKey))).not.toBe(hex(proof))
  })

  it('refuse a root secret that is not 32 bytes', async () => {
    await expectCode(() => deriveSubkey(new Uint8Array(31), 'ctx'), 'ERR_INVALID_ARGUMENT')
    await expectCode(() => deriveAccountKeys(new Uint8Array(31)), 'ERR_INVALID_ARGUMENT')
    await expectCode(() => deriveAccountKeys('x'.repeat(32) as unknown as Uint8Array), 'ERR_INVALID_ARGUMENT')
  })
})

describe('error codes', () => {
  it('have no ERR_KDF: node-core derives nothing from passphrases (@hypha/auth has its own ERR_KDF)', () => {
    // @ts-expect-error ERR_KDF is not a node-core code
    const kdf: HyphaNodeErrorCode = 'ERR_KDF'
    const code: HyphaNodeErrorCode = 'ERR_INVALID_ARGUMENT'
    expect([kdf, code]).toHaveLength(2)
    expect(readFileSync(new URL('../README.md', import.meta.url), 'utf8')).not.toContain('ERR_KDF')
  })
})
