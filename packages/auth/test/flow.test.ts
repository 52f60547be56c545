import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import { WebSocket } from 'ws'
import { HyphaNode, type Transport } from '@hypha/node-core'
import { webSocketClient } from '@hypha/transport-websocket'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { tcpClient, tcpServer } from '@hypha/transport-tcp'
import { SECURE_CONTENT_TYPE } from '@hypha/secure-channel'
import type { EphemeralMessage } from '@hypha/ephemeral-ext'
import { signUp, signIn, AUTH_CONTENT_TYPE, type AuthorisationPrompt } from '@hypha/auth'
import { until, settle, collect, cleanupsAfterEach, freePort } from '@hypha/test-utils'
import { accountFixtures, authorise, nextPrompt, KDF, PERSON, PASSPHRASE , sendAuth } from './fixtures.js'

const cleanups = cleanupsAfterEach(afterEach)
const { origin, device, port } = accountFixtures(cleanups)

async function alwaysOn(transports: Transport[], locator: string) {
  // The always-on node is given the locator only (topic, database key, proof): never the passphrase.
  const node = new HyphaNode({ role: 'always-on', locator, transports })
  await node.ready()
  cleanups.push(() => node.close())
  return node
}

describe('sign up and sign in', () => {
  it('sign-up without a passphrase generates one and a recovery code; sign-in with it finds the same database, read-only', async () => {
    const server = tcpServer({ port: 0 })
    const generated = await signUp({ name: PERSON, nodeName: 'Laptop', kdf: KDF, transports: [server], existingAccountCheckMs: 0 })
    cleanups.push(() => generated.close())
    expect(generated.passphrase!.split(' ').length).toBeGreaterThanOrEqual(8)
    expect(generated.recoveryCode).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){7}$/)
    expect(generated.writable).toBe(true)
    const phone = await signIn({
      passphrase: generated.passphrase!,
      name: PERSON,
      nodeName: 'Phone',
      kdf: KDF,
      transports: [tcpClient({ port: server.port! })]
    })
    cleanups.push(() => phone.close())
    expect(b4a.equals(phone.node.key, generated.node.key)).toBe(true)
    expect(phone.writable).toBe(false)
    expect(phone.passphrase).toBeNull()
    expect(phone.recoveryCode).toBeNull()
    const devices = await generated.devices()
    expect(devices.filter((d) => !d.recovery).map((d) => [d.name, d.origin, d.current])).toEqual([['Laptop', true, true]])
    expect(devices.filter((d) => d.recovery)).toHaveLength(1)
    await expect(signIn({ passphrase: '', name: PERSON, nodeName: 'x', kdf: KDF })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    // A blank device name is auth's own error, naming auth's option (not node-core's).
    await expect(signIn({ passphrase: PASSPHRASE, name: PERSON, nodeName: '   ', kdf: KDF })).rejects.toMatchObject({
      name: 'AuthError',
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining('nodeName')
    })
  })
})

describe('authorisation end to end', () => {
  it('origin over TCP, new device over WebSocket, through an always-on relay that sees only ciphertext', async () => {
    const laptopServer = tcpServer({ port: 0 })
    const laptop = await origin({ transports: [laptopServer] })
    await laptop.node.put('note', 'written on the laptop')
    const tcp = tcpServer({ port: 0 })
    const ws = webSocketServer({ port: 0 })
    const relay = await alwaysOn([tcp, ws, tcpClient({ port: port(laptop) })], laptop.locator)
    const relayFrames: Uint8Array[] = []
    relay.ephemeral.on('message', (m: EphemeralMessage) => {
      if (m.contentType === SECURE_CONTENT_TYPE) relayFrames.push(m.payload)
    })
    await until(() => relay.peerCount > 0, 15_000, 'the relay to reach the laptop')

    // Firefox reaches only the relay: it learns the database key there, and asks through it.
    const firefox = await device('Firefox on Ubuntu 64-bit', [], {
      transports: [webSocketClient({ url: `ws://127.0.0.1:${ws.port}`, WebSocket: WebSocket as any })]
    })
    expect(b4a.equals(firefox.node.key, laptop.node.key)).toBe(true)

    const prompted = nextPrompt(laptop)
    const request = firefox.requestAuthorisation({ retryMs: 300 })
    const prompt = await prompted
    expect(prompt.nodeName).toBe('Firefox on Ubuntu 64-bit')
    expect(prompt.code).toMatch(/^\d{3} \d{3}$/)
    expect(request.codes.map((c) => [c.approverName, b4a.toString(c.approver, 'hex'), c.code])).toEqual([
      ['Laptop', b4a.toString(laptop.node.channel.publicKey!, 'hex'), prompt.code]
    ])
    expect(b4a.equals(prompt.writerKey, firefox.node.writerKey!)).toBe(true)
    expect(b4a.equals(prompt.requester, firefox.node.channel.publicKey!)).toBe(true)

    await prompt.approve()
    await request.done
    expect(firefox.writable).toBe(true)
    expect(prompt.status).toBe('approved')
    expect(await firefox.node.get('note')).toBe('written on the laptop')

    await firefox.node.put('from-firefox', 'hello laptop')
    await until(async () => (await laptop.node.get('from-firefox')) === 'hello laptop', 15_000, 'the new writer’s entry')

    // Everything the relay carried was sealed: no node name, no verification code, nothing decrypted.
    expect(relayFrames.length).toBeGreaterThan(0)
    for (const frame of relayFrames) {
      const text = b4a.toString(frame, 'latin1')
      expect(text).not.toContain('Firefox on Ubuntu')
      expect(text).not.toContain(AUTH_CONTENT_TYPE)
    }
    expect(relay.channel.canDecrypt).toBe(false)
    expect(relay.channel.stats.delivered).toBe(0)
    expect(relay.channel.stats.relayed).toBeGreaterThan(0)
  })

  it('any authorised node can approve: a second device approves a third while the origin is gone', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    await authorise(laptop, phone)
    await laptop.close()

    const tablet = await device('Tablet', [phone])
    const p2 = nextPrompt(phone)
    const r2 = tablet.requestAuthorisation({ retryMs: 200 })
    const prompt = await p2
    expect(prompt.nodeName).toBe('Tablet')
    await prompt.approve()
    await r2.done
    await tablet.node.put('k', 'from the tablet')
    await until(async () => (await phone.node.get('k')) === 'from the tablet')
  })

  it('a re-sent request shows one prompt, not one per retry', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    const prompts = collect<AuthorisationPrompt>(laptop, 'authorisation-request')
    const request = phone.requestAuthorisation({ retryMs: 50 })
    await until(() => prompts.length === 1)
    await settle(400) // about eight re-sends
    expect(prompts).toHaveLength(1)
    expect(laptop.node.channel.stats.delivered).toBeGreaterThan(3)
    await prompts[0]!.approve()
    await request.done
  })

  it('one device cannot flood the person: at most maxPendingPerDevice prompts, the rest refused', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    await until(() => phone.node.ephemeral.peers.length === 1)
    const prompts = collect<AuthorisationPrompt>(laptop, 'authorisation-request')
    const refused = collect<{ reason: string }>(laptop, 'request-refused')
    const requests = Array.from({ length: 6 }, () => phone.requestAuthorisation({ retryMs: 60_000 }))
    await until(() => prompts.length + refused.length === 6)
    expect(prompts).toHaveLength(3)
    expect(refused.map((r) => r.reason)).toEqual(['too-many-pending', 'too-many-pending', 'too-many-pending'])
    for (const request of requests) request.cancel()
  })

  it('two nodes approving at once add the writer once', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    await authorise(laptop, phone)

    const tablet = await device('Tablet', [laptop, phone])
    await until(() => tablet.node.peerCount === 2)
    const atLaptop = nextPrompt(laptop)
    const atPhone = nextPrompt(phone)
    const request = tablet.requestAuthorisation({ retryMs: 200 })
    const [a, b] = await Promise.all([atLaptop, atPhone])
    // One code per approver, each shown beside the approver's name on the tablet.
    await until(() => request.codes.length === 2)
    expect(request.codes.map((c) => [c.approverName, c.code]).sort()).toEqual(
      [['Laptop', a.code], ['Phone', b.code]].sort()
    )
    await Promise.all([a.approve(), b.approve()])
    await request.done
    // Laptop, phone, tablet and the recovery key.
    await until(async () => (await laptop.writers()).length === 4 && (await phone.writers()).length === 4)
    const keys = (await laptop.writers()).map((w) => b4a.toString(w.key, 'hex'))
    expect(new Set(keys).size).toBe(4)
    expect(keys).toContain(b4a.toString(tablet.node.writerKey!, 'hex'))
  })
})

describe('refusals', () => {
  it('deny rejects the request with ERR_DENIED and closes the prompt on the other writers', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    await authorise(laptop, phone)

    const stranger = await device('Unknown device', [laptop, phone])
    const atLaptop = nextPrompt(laptop)
    const atPhone = nextPrompt(phone)
    const request = stranger.requestAuthorisation({ retryMs: 200 })
    const [denier, other] = await Promise.all([atLaptop, atPhone])
    denier.deny('not mine')
    await expect(request.done).rejects.toMatchObject({ code: 'ERR_DENIED', message: 'denied: not mine' })
    await until(() => other.status !== 'pending')
    expect(denier.status).toBe('denied')
    expect(other.status).toBe('denied-elsewhere')
    expect(() => other.deny()).toThrow(expect.objectContaining({ code: 'ERR_ALREADY_SETTLED' }))
    expect(stranger.writable).toBe(false)
  })

  it('deny refuses a reason it could not send (over 256 bytes, a lone surrogate) with ERR_INVALID_ARGUMENT and settles nothing', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    const settled = collect<AuthorisationPrompt>(laptop, 'authorisation-settled')
    const atLaptop = nextPrompt(laptop)
    const request = phone.requestAuthorisation({ retryMs: 200 })
    const prompt = await atLaptop
    for (const reason of ['x'.repeat(257), 'é'.repeat(128) + 'x', '\uD800', 'ok \uDC00', 42 as unknown as string, null as unknown as string]) {
      let thrown: unknown = null
      try {
        prompt.deny(reason)
      } catch (err) {
        thrown = err
      }
      expect(thrown, String(reason).slice(0, 10)).toMatchObject({ name: 'AuthError', code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('reason') })
      expect(prompt.status).toBe('pending')
    }
    expect(settled).toHaveLength(0)
    // The limit itself is sent, and the requester hears it.
    const atLimit = 'é'.repeat(128)
    prompt.deny(atLimit)
    await expect(request.done).rejects.toMatchObject({ code: 'ERR_DENIED', message: `denied: ${atLimit}` })
    expect(prompt.status).toBe('denied')
  })

  it('timeout rejects with ERR_TIMEOUT and closes the prompt; cancel rejects with ERR_CANCELLED', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    const settled = collect<AuthorisationPrompt>(laptop, 'authorisation-settled')

    const p1 = nextPrompt(laptop)
    const timedOut = phone.requestAuthorisation({ retryMs: 100, timeoutMs: 500 })
    const prompt1 = await p1
    await expect(timedOut.done).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    await until(() => settled.length === 1)
    expect(prompt1.status).toBe('cancelled')
    await expect(prompt1.approve()).rejects.toMatchObject({ code: 'ERR_ALREADY_SETTLED' })

    const p2 = nextPrompt(laptop)
    const cancelled = phone.requestAuthorisation({ retryMs: 100 })
    const prompt2 = await p2
    expect(cancelled.code).toBe(prompt2.code)
    cancelled.cancel()
    await expect(cancelled.done).rejects.toMatchObject({ code: 'ERR_CANCELLED' })
    await until(() => settled.length === 2)
    expect(prompt2.status).toBe('cancelled')
    expect(phone.writable).toBe(false)
  })

  it('a wrong passphrase finds nothing and reaches no prompt anywhere', async () => {
    const laptop = await origin()
    const prompts = collect(laptop, 'authorisation-request')
    await expect(
      signIn({
        passphrase: 'wrong passphrase entirely',
        name: PERSON,
        nodeName: 'Intruder',
        kdf: KDF,
        lookupTimeoutMs: 1000,
        transports: [tcpClient({ port: port(laptop) })]
      })
    ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' })
    expect(prompts).toHaveLength(0)
    expect(laptop.node.channel.stats.received).toBe(0) // not even an envelope: other topic, no channel
  })

  it('a revoked device’s later writes are not applied', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    await authorise(laptop, phone)
    await phone.node.put('before', 'kept')
    await until(async () => (await laptop.node.get('before')) === 'kept')

    await laptop.revoke(phone.node.writerKey!)
    await until(() => !phone.writable, 15_000, 'the phone to see its removal')
    await expect(phone.node.put('after', 'dropped')).rejects.toMatchObject({ code: 'ERR_NOT_WRITABLE' })
    await settle(200)
    expect(await laptop.node.get('after')).toBeNull()
    expect(await laptop.node.get('before')).toBe('kept')
    expect((await laptop.writers()).some((w) => b4a.equals(w.key, phone.node.writerKey!))).toBe(false)
  })

  it('garbage under the auth content type from a keyed node is reported, never prompted', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    await until(() => phone.node.channel.send(b4a.from('ping'), { contentType: 'x' }).peers > 0)
    const bad = collect(laptop, 'bad-message')
    const prompts = collect(laptop, 'authorisation-request')
    phone.node.channel.send(b4a.from([1, 2, 3]), { contentType: AUTH_CONTENT_TYPE })
    await until(() => bad.length === 1)
    expect(prompts).toHaveLength(0)
  })
})

describe('replays and forgeries', () => {
  it('a replayed request envelope is rejected and shows no second prompt', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    const frames: Uint8Array[] = []
    laptop.node.ephemeral.on('message', (m: EphemeralMessage) => {
      if (m.contentType === SECURE_CONTENT_TYPE) frames.push(m.payload)
    })
    const prompts = collect<AuthorisationPrompt>(laptop, 'authorisation-request')
    const request = phone.requestAuthorisation({ retryMs: 60_000 }) // no retries: sent when the connection opens
    await until(() => prompts.length === 1)
    prompts[0]!.deny()
    await expect(request.done).rejects.toMatchObject({ code: 'ERR_DENIED' })

    const captured = [...frames]
    expect(captured.length).toBeGreaterThan(0)
    const rejected = collect<{ reason: string }>(laptop.node.channel, 'rejected')
    for (const frame of captured) phone.node.ephemeral.broadcast(frame, { contentType: SECURE_CONTENT_TYPE })
    await until(() => rejected.length === captured.length)
    expect(rejected.every((r) => r.reason === 'duplicate')).toBe(true)
    await settle(100)
    expect(prompts).toHaveLength(1)
  })

  it('an answer bound to another request does not settle this one', async () => {
    const laptop = await origin()
    const phone = await device('Phone', [laptop])
    const prompted = nextPrompt(laptop)
    const request = phone.requestAuthorisation({ retryMs: 200 })
    const prompt = await prompted
    // A deny with this request's id but another digest (another request, or another requester).
    sendAuth(laptop, { type: 'deny', requestId: request.requestId, requestDigest: b4a.alloc(32, 9), reason: 'forged' })
    await settle(200)
    await prompt.approve()
    await request.done // approved, not denied by the forged answer
    expect(phone.writable).toBe(true)
  })
})

describe('faults', () => {
  it('the relay restarts mid-request and the request still completes', async () => {
    const port = await freePort()
    const reconnect = { initialDelayMs: 50, maxDelayMs: 200 }
    const laptop = await origin({ transports: [tcpClient({ port, reconnect })] })
    const relay = await alwaysOn([tcpServer({ port })], laptop.locator)
    const phone = await device('Phone', [], { transports: [tcpClient({ port, reconnect })] })
    await until(() => laptop.node.peerCount > 0 && phone.node.peerCount > 0, 15_000, 'both to reach the relay')

    const prompted = nextPrompt(laptop)
    const request = phone.requestAuthorisation({ retryMs: 100 })
    const prompt = await prompted
    await relay.close() // the relay goes away before the answer
    await until(() => laptop.node.peerCount === 0 && phone.node.peerCount === 0, 15_000, 'both to notice')
    await prompt.approve() // written locally; the approval message has nowhere to go yet

    await alwaysOn([tcpServer({ port })], laptop.locator) // a fresh relay on the same address
    await request.done
    expect(phone.writable).toBe(true)
    await phone.node.put('after-restart', 'yes')
    await until(async () => (await laptop.node.get('after-restart')) === 'yes', 15_000, 'the entry via the new relay')
  })
})
