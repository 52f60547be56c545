// A failure of Argon2id itself (here: the WASM cannot get its memory) is ERR_KDF with the cause.
import { describe, it, expect, vi } from 'vitest'
import { AuthError, deriveRootSecret, signIn } from '@hypha/auth'

const failure = new Error('WebAssembly.Memory(): could not allocate memory')
vi.mock('hash-wasm', () => ({
  argon2id: async () => {
    throw failure
  }
}))

describe('Argon2id failing', () => {
  it('deriveRootSecret rejects with AuthError ERR_KDF, the original as cause', async () => {
    const err = await deriveRootSecret('a passphrase', 'ada', { iterations: 1, memoryKiB: 64 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect(err).toMatchObject({ code: 'ERR_KDF', cause: failure })
  })

  it('bad arguments stay ERR_INVALID_ARGUMENT (checked before Argon2id runs)', async () => {
    await expect(deriveRootSecret('   ', 'ada')).rejects.toMatchObject({ name: 'AuthError', code: 'ERR_INVALID_ARGUMENT' })
  })

  it('signIn passes ERR_KDF through', async () => {
    await expect(signIn({ passphrase: 'a passphrase', name: 'ada', nodeName: 'Laptop' })).rejects.toMatchObject({
      code: 'ERR_KDF',
      cause: failure
    })
  })
})
