// What a request and a sign-in report when the device is out of reach: asleep during the approval
// (issue 12, item 3), or reaching only another account's peers (a wrong passphrase, item 6b).
// Real nodes over real TCP; sleep is the device's transport stopped and started again.
import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import { HyphaNode, type Transport, type TransportContext } from '@hypha/node-core'
import { tcpClient, tcpServer } from '@hypha/transport-tcp'
import { signIn, decodeAuthMessage, AUTH_CONTENT_TYPE, type AuthorisationPrompt } from '@hypha/auth'
import type { SecureMessage } from '@hypha/secure-channel'
import { until, settle, collect, cleanupsAfterEach } from '@hypha/test-utils'
import { accountFixtures, nextPrompt, sendAuth, KDF, PERSON } from './fixtures.js'
import { OTHER_ACCOUNT_MESSAGE } from '../src/other-account.js'

const cleanups = cleanupsAfterEach(afterEach)
const { origin, device, port } = accountFixtures(cleanups)
const reconnect = { initialDelayMs: 50, maxDelayMs: 200 }

/** A transport that can be stopped (the device sleeps) and started again with the node's context (it wakes). */
function sleepable(transport: Transport) {
  let context: TransportContext | null = null
  const start = transport.start.bind(transport)
  transport.start = (ctx: TransportContext) => {
    context = ctx
    return start(ctx)
  }
  return {
    transport,
    get context() {
      return context!
    },
    sleep: () => transport.stop(),
    wake: () => start(context!)
  }
}

async function alwaysOn(transports: Transport[], locator: string) {
  const node = new HyphaNode({ role: 'always-on', locator, transports })
  await node.ready()
  cleanups.push(() => node.close())
  return node
}

describe('a device asleep during approval', () => {
  it('timeoutMs 4000, the device disconnects, the laptop approves, the device wakes after 5 s: done resolves, no cancel, the prompt stays approved', async () => {
    const laptop = await origin()
    const link = sleepable(tcpClient({ port: port(laptop), reconnect }))
    const phone = await device('Phone', [], { transports: [link.transport] })
    const settled = collect<AuthorisationPrompt>(laptop, 'authorisation-settled')
    const prompted = nextPrompt(laptop)
    const request = phone.requestAuthorisation({ timeoutMs: 4000, retryMs: 200 })
    const prompt = await prompted
    const asked = Date.now()
    await until(() => request.codes.length === 1)

    await link.sleep()
    await until(() => laptop.node.peerCount === 0 && phone.node.peerCount === 0, 10_000, 'both to notice the sleep')
    await prompt.approve() // in the laptop's database; the phone hears of it only when it wakes
    await settle(Math.max(0, asked + 5000 - Date.now()))
    expect(phone.writable).toBe(false)
    await link.wake()

    await request.done // writable: the approval stands
    expect(phone.writable).toBe(true)
    expect(request.state).toBe('writable')
    expect(prompt.status).toBe('approved')
    await settle(500)
    expect(settled.map((p) => p.status)).toEqual(['approved'])
    await phone.node.put('after-sleep', 'yes')
    await until(async () => (await laptop.node.get('after-sleep')) === 'yes', 15_000, 'the new writer’s entry')
  })

  it('asleep at the timeout and nothing approved: ERR_TIMEOUT once it wakes, and the prompt is cancelled then', async () => {
    const laptop = await origin()
    const link = sleepable(tcpClient({ port: port(laptop), reconnect }))
    const phone = await device('Phone', [], { transports: [link.transport] })
    const prompted = nextPrompt(laptop)
    const request = phone.requestAuthorisation({ timeoutMs: 1500, retryMs: 200 })
    const prompt = await prompted
    const inDoubt = collect(request, 'in-doubt')
    let outcome: unknown = 'pending'
    request.done.then(() => (outcome = 'resolved'), (err) => (outcome = err))

    await link.sleep()
    await until(() => phone.node.peerCount === 0)
    await until(() => request.state === 'in-doubt', 10_000, 'the timeout to pass while asleep')
    expect(inDoubt).toHaveLength(1)
    await settle(300)
    expect(outcome).toBe('pending') // nobody could tell it the answer: it does not guess
    expect(prompt.status).toBe('pending')

    await link.wake()
    await expect(request.done).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    await until(() => prompt.status === 'cancelled', 10_000, 'the cancel to reach the laptop')
    await expect(prompt.approve()).rejects.toMatchObject({ code: 'ERR_ALREADY_SETTLED' })
    expect(phone.writable).toBe(false)
  })

  it('a request no peer ever heard times out on time: nobody could have approved it', async () => {
    const laptop = await origin()
    const link = sleepable(tcpClient({ port: port(laptop), reconnect }))
    const phone = await device('Phone', [], { transports: [link.transport] })
    await link.sleep()
    await until(() => phone.node.peerCount === 0)
    const started = Date.now()
    const request = phone.requestAuthorisation({ timeoutMs: 300 })
    await expect(request.done).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(request.state).toBe('timed-out')
  })

  it('a cancel that reaches an approver after it approved is answered with the approval, which stands', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    const settled = collect<AuthorisationPrompt>(laptop, 'authorisation-settled')
    const prompted = nextPrompt(laptop)
    const request = phone.requestAuthorisation({ retryMs: 60_000 })
    const prompt = await prompted
    // The approval and the requester's timeout cross: the laptop approves while the phone's
    // timeout fires (its cancel then finds an approved prompt).
    await prompt.approve()
    ;(request as unknown as { expire(): void }).expire()
    await request.done
    expect(phone.writable).toBe(true)
    expect(prompt.status).toBe('approved')
    expect(settled.map((p) => p.status)).toEqual(['approved'])
  })

  it('an approver answers its requester’s cancel of an approved request with the approval again; the prompt stays approved', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    const settled = collect<AuthorisationPrompt>(laptop, 'authorisation-settled')
    const approvals: string[] = []
    phone.node.channel.on('message', (m: SecureMessage) => {
      if (m.contentType === AUTH_CONTENT_TYPE && decodeAuthMessage(m.payload).type === 'approve') approvals.push('approve')
    })
    const prompted = nextPrompt(laptop)
    const request = phone.requestAuthorisation({ retryMs: 60_000 })
    const prompt = await prompted
    await prompt.approve()
    await request.done
    await until(() => approvals.length === 1)
    sendAuth(phone, { type: 'cancel', requestId: request.requestId, requestDigest: request.digest })
    await until(() => approvals.length === 2, 10_000, 'the approval sent again')
    expect(prompt.status).toBe('approved')
    expect(settled.map((p) => p.status)).toEqual(['approved'])
  })
})

describe('another account’s peers', () => {
  it('a wrong passphrase dialling the account’s always-on node fails fast with ERR_OTHER_ACCOUNT, not after lookupTimeoutMs', async () => {
    const laptop = await origin()
    const server = tcpServer({ port: 0 })
    const relay = await alwaysOn([server, tcpClient({ port: port(laptop), reconnect })], laptop.locator)
    await until(() => relay.peerCount > 0, 10_000, 'the relay to reach the laptop')
    const refused = collect(relay, 'peer-refused')

    // lookupTimeoutMs is 60 s: the slow path would end in ERR_NOT_FOUND, so the code itself shows
    // the fast one (no timing bound in the test).
    const signingIn = signIn({
      passphrase: 'a wrong passphrase for this account',
      name: PERSON,
      nodeName: 'Phone',
      kdf: KDF,
      lookupTimeoutMs: 60_000,
      transports: [tcpClient({ port: server.port!, reconnect })]
    })
    signingIn.then((a) => cleanups.push(() => a.close()), () => {})
    await expect(signingIn).rejects.toMatchObject({
      name: 'AuthError',
      code: 'ERR_OTHER_ACCOUNT',
      message: OTHER_ACCOUNT_MESSAGE
    })
    expect(refused.length).toBeGreaterThan(0)
  })

  it('one refusal among member peers is a stranger, not a wrong passphrase: the sign-in finds the database', async () => {
    const laptop = await origin()
    const stranger = await origin({ passphrase: 'another account altogether, not this one', existingAccountCheckMs: 0 })
    const phone = await device('Phone', [stranger, laptop])
    expect(b4a.equals(phone.node.key, laptop.node.key)).toBe(true)
    // …and its request is not failed by the stranger's refusals either.
    const prompted = nextPrompt(laptop)
    const request = phone.requestAuthorisation({ retryMs: 200 })
    const prompt = await prompted
    await settle(2500)
    await prompt.approve()
    await request.done
  })

  it('refusals of connections others dialled to the device do not count: a stranger dialling its listener fails nothing', async () => {
    const laptop = await origin()
    const link = sleepable(tcpClient({ port: port(laptop), reconnect }))
    const phone = await device('Phone', [], { transports: [link.transport] })
    await link.sleep()
    await until(() => phone.node.peerCount === 0)
    // Another account's node keeps dialling the phone's listener; the phone refuses it each time.
    const refusedAtPhone = collect(phone.node, 'peer-refused')
    await origin({ passphrase: 'another account altogether, not this one', transports: [tcpClient({ port: port(phone), reconnect })] })
    await until(() => refusedAtPhone.length > 0)
    const request = phone.requestAuthorisation({ timeoutMs: 60_000, retryMs: 200 })
    await settle(3000) // past otherAccountSettleMs
    expect(request.state).toBe('waiting')
    const prompted = nextPrompt(laptop)
    await link.wake()
    await (await prompted).approve()
    await request.done
  })

  it('a request whose every peer refuses the device (another account) fails fast with ERR_OTHER_ACCOUNT', async () => {
    const laptop = await origin()
    const other = await origin({ passphrase: 'another account altogether, not this one' })
    const link = sleepable(tcpClient({ port: port(laptop), reconnect }))
    const phone = await device('Phone', [], { transports: [link.transport] })
    await link.sleep()
    await until(() => phone.node.peerCount === 0)
    // Its only peer now is another account's node (say the address was re-used).
    const wrong = tcpClient({ port: port(other), reconnect })
    const started = Date.now()
    await wrong.start(link.context)
    const request = phone.requestAuthorisation({ timeoutMs: 60_000, retryMs: 200 })
    await expect(request.done).rejects.toMatchObject({ code: 'ERR_OTHER_ACCOUNT' })
    expect(Date.now() - started).toBeLessThan(8_000)
    await wrong.stop()
  })
})
