/**
 * Issue 12, item 2: a requesting device whose clock is off. Each device runs on its own injected
 * clock (`now`), with real nodes on 127.0.0.1, directly and through an always-on relay.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { HyphaNode } from '@hypha/node-core'
import { tcpClient, tcpServer } from '@hypha/transport-tcp'
import { AuthError, type Account, type AuthorisationPrompt } from '@hypha/auth'
import { until, collect, cleanupsAfterEach } from '@hypha/test-utils'
import { accountFixtures, nextPrompt, relayHoldsWriter } from './fixtures.js'

const cleanups = cleanupsAfterEach(afterEach)
const { origin, device, dial } = accountFixtures(cleanups)

const MIN = 60_000
const HOUR = 60 * MIN
const clock = (offset: number) => () => Date.now() + offset

/** An always-on relay on the right time, dialling the laptop and holding its core; gives its port. */
async function relayFor(laptop: Account): Promise<number> {
  const server = tcpServer({ port: 0 })
  const relay = new HyphaNode({ role: 'always-on', locator: laptop.locator, transports: [server, dial(laptop)] })
  cleanups.push(() => relay.close())
  await relay.ready()
  await until(() => relayHoldsWriter(relay, laptop), 15_000, 'the relay to hold the laptop’s core')
  return server.port!
}

/** Asks from `phone`, approves on `laptop`'s prompt; checks the prompt carries the phone's clock. */
async function approveSkewed(laptop: Account, phone: Account, offset: number): Promise<AuthorisationPrompt> {
  const prompted = nextPrompt(laptop)
  const refused = collect(laptop, 'request-refused')
  const request = phone.requestAuthorisation({ retryMs: 200 })
  const prompt = await prompted
  expect(Math.abs(prompt.createdAt - (Date.now() + offset))).toBeLessThan(15_000) // stamped by the phone's clock
  await until(() => request.codes.length === 1, 10_000, 'the phone’s code')
  expect(request.code).toBe(prompt.code)
  await prompt.approve()
  await request.done
  expect(phone.writable).toBe(true)
  expect(refused).toEqual([])
  return prompt
}

describe('a requesting device whose clock is off by minutes gets its prompt and is approved', () => {
  for (const offset of [45_000, 5 * MIN, -5 * MIN]) {
    it(`directly, ${offset / 1000} s off`, async () => {
      const laptop = await origin()
      const phone = await device('Phone', [laptop], { now: clock(offset) })
      await approveSkewed(laptop, phone, offset)
    }, 30_000)

    it(`through an always-on relay, ${offset / 1000} s off`, async () => {
      const laptop = await origin()
      const port = await relayFor(laptop)
      const phone = await device('Phone', [], { now: clock(offset), transports: [tcpClient({ port })] })
      await approveSkewed(laptop, phone, offset)
    }, 30_000)
  }

  it('the approver whose clock is 5 minutes off approves a device on time', async () => {
    const laptop = await origin({ now: clock(-5 * MIN) })
    const phone = await device('Phone', [laptop])
    await approveSkewed(laptop, phone, 0)
  }, 30_000)
})

describe('past the limit, both sides fail fast with a distinct error', () => {
  for (const offset of [2 * HOUR, -2 * HOUR]) {
    it(`a requester ${offset / HOUR} hours off: ERR_CLOCK_SKEW on the requester, request-refused 'clock-skew' on the approver`, async () => {
      const laptop = await origin()
      const phone = await device('Phone', [laptop], { now: clock(offset) })
      const refused = collect(laptop, 'request-refused')
      const prompts = collect(laptop, 'authorisation-request')
      const started = Date.now()
      const request = phone.requestAuthorisation({ retryMs: 200 })
      const error = (await request.done.catch((err: unknown) => err)) as AuthError
      expect(Date.now() - started).toBeLessThan(10_000) // not the five-minute ERR_TIMEOUT
      expect(error).toBeInstanceOf(AuthError)
      expect(error.code).toBe('ERR_CLOCK_SKEW')
      // This device's clock against the approver's: positive when ahead.
      expect(Math.abs(error.skewMs! - offset)).toBeLessThan(15_000)
      expect(error.message).toMatch(/clock/)
      await until(() => refused.length >= 1, 10_000, 'the approver’s event')
      expect(refused[0]).toMatchObject({ reason: 'clock-skew', nodeName: 'Phone' })
      expect(Math.abs(refused[0]!.skewMs! - offset)).toBeLessThan(15_000)
      expect(prompts).toHaveLength(0)
      expect(phone.writable).toBe(false)
    }, 30_000)
  }
})
