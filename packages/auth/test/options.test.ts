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
    ['otherAccountSettleMs', { otherAccountSettleMs: 0 }],
    ['otherAccountSettleMs', { otherAccountSettleMs: '2s' }],
    ['kdf', { kdf: 'cheap' }],
    ['iterations', { kdf: { iterations: 0 } }],
    ['memoryKiB', { kdf: { memoryKiB: 4 } }],
    ['now', { now: 5 }],
    ['now', { now: 'Date.now' }]
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

  const recoverWith = (options: typeof base) => recover({ ...options, recoveryCode: '0000-0000-0000-0000-0000-0000-0000-0000' })
  it.each([
    ['signUp', 'of over 128 bytes', (o: typeof base) => signUp(o), 'x'.repeat(129)],
    ['signIn', 'of over 128 bytes', (o: typeof base) => signIn(o), 'x'.repeat(129)],
    ['recover', 'of over 128 bytes', recoverWith, 'x'.repeat(129)],
    ['signUp', 'of over 128 bytes (65 × é)', (o: typeof base) => signUp(o), 'é'.repeat(65)],
    ['signIn', 'with a lone surrogate', (o: typeof base) => signIn(o), '\uD800'],
    ['signUp', 'with a lone surrogate', (o: typeof base) => signUp(o), 'Phone \uD800'],
    ['recover', 'with a lone surrogate', recoverWith, '\uDC00 tablet']
  ] as const)('%s refuses a nodeName %s with an AuthError naming nodeName', async (_, __, open, nodeName) => {
    const err = await rejection(open({ ...base, nodeName }))
    expect(err.message).toContain('nodeName')
    expect(err.cause).toBeUndefined() // auth's own check, not the node's error wrapped
  })

  it('a nodeName of exactly 128 UTF-8 bytes is fine', async () => {
    const account = await signUp({ ...base, nodeName: 'é'.repeat(64), existingAccountCheckMs: 0 })
    cleanups.push(() => account.close())
    expect((await account.devices()).find((d) => d.current)?.name).toBe('é'.repeat(64))
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
