// Many genuine devices asking at once (issue 14): the approver's cap on open prompts still holds,
// and the devices it refused for it get in soon after, not a whole retry interval later. Real
// accounts over TCP on loopback.
import { describe, it, expect, afterEach } from 'vitest'
import { until, collect, cleanupsAfterEach } from '@hypha/test-utils'
import type { AuthorisationPrompt } from '@hypha/auth'
import { accountFixtures } from './fixtures.js'

const cleanups = cleanupsAfterEach(afterEach)
const { origin, device } = accountFixtures(cleanups)

describe('a burst of requests past maxOpenPrompts', () => {
  it('the cap holds, and the refused devices ask again soon: all become writable long before their retry interval', async () => {
    const laptop = await origin({ maxOpenPrompts: 2 })
    const devices = await Promise.all(['Phone', 'Tablet', 'Desktop', 'Watch'].map((name) => device(name, [laptop])))
    await until(() => laptop.node.peerCount === devices.length && devices.every((d) => d.node.ephemeral.peers.length === 1))
    // Each device has the registry (a refusal counts only from a writer it knows).
    for (const d of devices) await until(async () => (await d.devices()).some((x) => x.name === 'Laptop'))
    const refused = collect<{ reason: string }>(laptop, 'request-refused')
    let mostShown = 0
    const approvals: Promise<void>[] = []
    laptop.on('authorisation-request', (prompt: AuthorisationPrompt) => {
      mostShown = Math.max(mostShown, laptop.pendingPrompts.length)
      approvals.push(prompt.approve())
    })
    // A re-send interval far beyond the test's timeout: only the early re-send after a
    // `too-many-prompts` refusal can bring the refused devices in.
    const requests = devices.map((d) => d.requestAuthorisation({ retryMs: 10 * 60_000 }))
    await Promise.all(requests.map((r) => r.done))
    await Promise.all(approvals)
    for (const d of devices) expect(d.writable).toBe(true)
    expect(refused.some((r) => r.reason === 'too-many-prompts')).toBe(true) // the cap did refuse some
    expect(refused.every((r) => r.reason === 'too-many-prompts')).toBe(true)
    expect(mostShown).toBeLessThanOrEqual(2)
    expect(approvals).toHaveLength(devices.length) // each device prompted once
  }, 30_000)
})
