import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import b4a from 'b4a'
import sodiumUniversal from 'sodium-universal'
import {
  AuthError,
  deriveRootSecret,
  generatePassphrase,
  passphraseEntropyBits,
  saltFor,
  normaliseName,
  normalisePassphrase,
  WORDLIST,
  DEFAULT_KDF_PARAMS
} from '@hypha/auth'

// In Node, sodium-universal IS sodium-native (libsodium): an Argon2id independent of hash-wasm.
const sodium = sodiumUniversal as typeof sodiumUniversal & {
  crypto_pwhash(out: Uint8Array, pwd: Uint8Array, salt: Uint8Array, ops: number, mem: number, alg: number): void
  crypto_pwhash_ALG_ARGON2ID13: number
}

const fixture = JSON.parse(readFileSync(new URL('./vectors/kdf-vectors.json', import.meta.url), 'utf8')) as {
  vectors: Array<{
    passphrase: string
    name: string
    iterations: number
    memoryKiB: number
    normalisedPassphrase: string
    normalisedName: string
    saltHex: string
    rootSecretHex: string
  }>
}

const hex = (b: Uint8Array) => b4a.toString(b, 'hex')
const SMALL = { iterations: 1, memoryKiB: 256 }

function libsodiumArgon2id(passphrase: string, name: string, iterations: number, memoryKiB: number): Uint8Array {
  const out = new Uint8Array(32)
  sodium.crypto_pwhash(
    out,
    new TextEncoder().encode(normalisePassphrase(passphrase)),
    saltFor(name),
    iterations,
    memoryKiB * 1024,
    sodium.crypto_pwhash_ALG_ARGON2ID13
  )
  return out
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: string) {
  const run = typeof p === 'function' ? Promise.resolve().then(p) : p
  const err = await run.then(() => null, (e: unknown) => e)
  expect(err).toBeInstanceOf(AuthError)
  expect((err as AuthError).code).toBe(code)
}

describe('root secret (Argon2id)', () => {
  const small = fixture.vectors.filter((v) => v.memoryKiB < 65536)

  it.each(small.map((v) => [v.name, v] as const))('matches the stored libsodium vector for %j', async (_n, v) => {
    expect(normalisePassphrase(v.passphrase)).toBe(v.normalisedPassphrase)
    expect(normaliseName(v.name)).toBe(v.normalisedName)
    expect(hex(saltFor(v.name))).toBe(v.saltHex)
    const root = await deriveRootSecret(v.passphrase, v.name, { iterations: v.iterations, memoryKiB: v.memoryKiB })
    expect(hex(root)).toBe(v.rootSecretHex)
  })

  it('matches libsodium crypto_pwhash on fresh random inputs', async () => {
    for (let i = 0; i < 3; i++) {
      const passphrase = generatePassphrase()
      const name = `person-${hex(b4a.from(String(Math.random())))}@example.net`
      const params = { iterations: 1 + i, memoryKiB: 64 << i }
      const ours = await deriveRootSecret(passphrase, name, params)
      expect(hex(ours)).toBe(hex(libsodiumArgon2id(passphrase, name, params.iterations, params.memoryKiB)))
    }
  })

  it('uses t=3, m=64 MiB by default and matches the stored vector at those parameters', async () => {
    expect(DEFAULT_KDF_PARAMS).toEqual({ iterations: 3, memoryKiB: 65536 })
    const v = fixture.vectors.find((x) => x.memoryKiB === 65536 && x.iterations === 3)!
    const root = await deriveRootSecret(v.passphrase, v.name)
    expect(hex(root)).toBe(v.rootSecretHex)
  })

  it('normalises name and passphrase, and depends on both', async () => {
    const a = await deriveRootSecret('river  stone\tcloud', 'Alice@Example.com ', SMALL)
    const b = await deriveRootSecret(' river stone cloud ', 'alice@example.com', SMALL)
    const otherName = await deriveRootSecret('river stone cloud', 'bob@example.com', SMALL)
    const otherPass = await deriveRootSecret('river stone clouds', 'alice@example.com', SMALL)
    const caseMatters = await deriveRootSecret('River stone cloud', 'alice@example.com', SMALL)
    expect(hex(a)).toBe(hex(b))
    expect(new Set([a, otherName, otherPass, caseMatters].map(hex)).size).toBe(4)
    expect(saltFor('x').byteLength).toBe(16)
  })

  it('rejects bad arguments with typed errors', async () => {
    await expectCode(deriveRootSecret('', 'alice', SMALL), 'ERR_INVALID_ARGUMENT')
    await expectCode(deriveRootSecret('pass', '   ', SMALL), 'ERR_INVALID_ARGUMENT')
    await expectCode(deriveRootSecret('pass', 'alice', { iterations: 0, memoryKiB: 256 }), 'ERR_INVALID_ARGUMENT')
    await expectCode(deriveRootSecret('pass', 'alice', { iterations: 1, memoryKiB: 4 }), 'ERR_INVALID_ARGUMENT')
  })
})

describe('generatePassphrase', () => {
  it('has a list of 256 distinct lower-case words: 8 bits a word, 80 bits by default', () => {
    expect(WORDLIST.length).toBe(256)
    expect(new Set(WORDLIST).size).toBe(256)
    for (const w of WORDLIST) expect(w).toMatch(/^[a-z]{3,8}$/)
    expect(passphraseEntropyBits()).toBe(80)
  })

  it('draws words from the list, at random', () => {
    const a = generatePassphrase()
    const words = a.split(' ')
    expect(words).toHaveLength(10)
    for (const w of words) expect(WORDLIST).toContain(w)
    expect(generatePassphrase(12).split(' ')).toHaveLength(12)
    expect(generatePassphrase()).not.toBe(a) // 2^-80 chance of a false failure
    // Over many draws every byte value shows up: the index is the whole random byte.
    const seen = new Set<string>()
    for (let i = 0; i < 400; i++) for (const w of generatePassphrase(16).split(' ')) seen.add(w)
    expect(seen.size).toBe(256)
  })

  it('refuses too few words', async () => {
    await expectCode(() => generatePassphrase(3), 'ERR_INVALID_ARGUMENT')
  })
})
