import { describe, it, expect } from 'vitest'
import * as common from '@zxcvbn-ts/language-common'
import { passphraseStrengthBits, checkPassphraseStrength, generatePassphrase, MIN_PASSPHRASE_BITS } from '@hypha/auth'
import { COMMON_PASSWORDS, ADJACENCY_GRAPHS } from '../src/common-passwords.js'

describe('passphrase strength', () => {
  it('the embedded lists are the first 10,000 of @zxcvbn-ts/language-common and its graphs', () => {
    expect(COMMON_PASSWORDS).toEqual(common.dictionary['passwords-common'].slice(0, 10_000))
    expect(ADJACENCY_GRAPHS).toEqual(common.adjacencyGraphs)
  })

  it('refuses dictionary words, keyboard walks, repeats and the person’s own name; accepts long random-looking ones', () => {
    for (const weak of ['sunshine', 'password123', 'qwertyuiopasdfgh', 'passwordpasswordpassword', 'Tr0ub4dor&3']) {
      expect(passphraseStrengthBits(weak), weak).toBeLessThan(MIN_PASSPHRASE_BITS)
      expect(() => checkPassphraseStrength(weak)).toThrow(expect.objectContaining({ code: 'ERR_WEAK_PASSPHRASE' }))
    }
    expect(() => checkPassphraseStrength('ada lovelace ada', ['ada lovelace'])).toThrow(expect.objectContaining({ code: 'ERR_WEAK_PASSPHRASE' }))
    for (const ok of ['correct horse battery staple hypha test', generatePassphrase()]) {
      expect(passphraseStrengthBits(ok), ok).toBeGreaterThanOrEqual(MIN_PASSPHRASE_BITS)
      expect(() => checkPassphraseStrength(ok)).not.toThrow()
    }
  })
})
