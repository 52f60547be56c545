// Each package checks its own options: a bad auth option is an AuthError naming auth's option;
// one only the node below checks comes back as an AuthError with the node's error as `cause`.
import { describe, it, expect, afterEach } from 'vitest'
import { HyphaNodeError } from '@hypha/node-core'
import { AuthError, signUp, signIn, recover, type SignUpOptions } from '@hypha/auth'
import { cleanupsAfterEach } from '@hypha/test-utils'
import { KDF, PERSON, PASSPHRASE } from './fixtures.js'

const cleanups = cleanupsAfterEach(afterEach)
const base = { passphrase: PASSPHRASE, name: PERSON, nodeName: 'Laptop', kdf: KDF }

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<AuthError> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(AuthError)
  expect((err as AuthError).code).toBe('ERR_INVALID_ARGUMENT')
  return err as AuthError
}

describe('auth options', () => {
  it.each([
    ['promptTimeoutMs', { promptTimeoutMs: 0 }],
    ['promptTimeoutMs', { promptTimeoutMs: Number.NaN }],
    ['promptTimeoutMs', { promptTimeoutMs: 2 ** 31 }],
    ['maxPendingPerDevice', { maxPendingPerDevice: 0 }],
    ['maxOpenPrompts', { maxOpenPrompts: 1.5 }],
    ['kdf', { kdf: 'cheap' }],
    ['iterations', { kdf: { iterations: 0 } }],
    ['memoryKiB', { kdf: { memoryKiB: 4 } }]
  ] as const)('signUp refuses a bad %s with an AuthError naming it', async (what, extra) => {
    const err = await rejection(signUp({ ...base, ...(extra as Partial<SignUpOptions>) }))
    expect(err.message).toContain(what)
  })

  it('refuses missing options and blank names, in signIn and recover too', async () => {
    await rejection(signUp(undefined as unknown as SignUpOptions))
    await rejection(signIn({ ...base, name: '  ' }))
    await rejection(recover(undefined as unknown as Parameters<typeof recover>[0]))
    await rejection(recover({ ...base, recoveryCode: '00', recoveryTimeoutMs: -1 }))
  })

  it('an option only the node checks comes back as an AuthError with the node error as cause', async () => {
    const err = await rejection(signIn({ ...base, lookupTimeoutMs: -1 }))
    expect(err.cause).toBeInstanceOf(HyphaNodeError)
    expect((err.cause as HyphaNodeError).code).toBe('ERR_INVALID_ARGUMENT')
    expect(err.message).toContain('lookupTimeoutMs')
  })

  it('requestAuthorisation refuses bad timings before sending anything', async () => {
    const account = await signUp({ ...base, existingAccountCheckMs: 0 })
    cleanups.push(() => account.close())
    const err = await rejection(() => account.requestAuthorisation({ retryMs: 0 }))
    expect(err.message).toContain('retryMs')
    await rejection(() => account.requestAuthorisation({ timeoutMs: -5 }))
  })
})
