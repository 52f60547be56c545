import { describe, it, expect, afterEach } from 'vitest'
import b4a from 'b4a'
import { WebSocket } from 'ws'
import { HyphaNode, deriveRootSecret, deriveDatabaseKey, webSocketClient, webSocketServer, type Transport } from '@hypha/node-core'
import { tcpClient, tcpServer } from '@hypha/node-core/native'
import { SECURE_CONTENT_TYPE } from '@hypha/secure-channel'
import type { EphemeralMessage } from '@hypha/ephemeral-ext'
import { signUp, signIn, AUTH_CONTENT_TYPE, type Account, type AuthorisationPrompt } from '@hypha/auth'
import { connectNodes, until, settle, collect, cleanupsAfterEach } from '@hypha/test-utils'

// Cheap Argon2id: the KDF itself is tested at full cost in @hypha/node-core.
const KDF = { iterations: 1, memoryKiB: 64 }
const PERSON = 'ada@example.com'
const PASSPHRASE = 'correct horse battery staple hypha test'

const cleanups = cleanupsAfterEach(afterEach)

async function origin(transports: Transport[] = [], nodeName = 'Laptop') {
  const account = await signUp({ passphrase: PASSPHRASE, name: PERSON, nodeName, kdf: KDF, transports })
  cleanups.push(() => account.close())
  return account
}

async function device(nodeName: string, transports: Transport[] = [], passphrase = PASSPHRASE) {
  const account = await signIn({ passphrase, name: PERSON, nodeName, kdf: KDF, transports })
  cleanups.push(() => account.close())
  return account
}

async function alwaysOn(transports: Transport[]) {
  const rootSecret = await deriveRootSecret(PASSPHRASE, PERSON, KDF)
  // The always-on node is given the public database key only: never the passphrase.
  const node = new HyphaNode({ role: 'always-on', databaseKey: deriveDatabaseKey(rootSecret), transports })
  await node.ready()
  cleanups.push(() => node.close())
  return node
}

function link(x: Account, y: Account) {
  const disconnect = connectNodes(x.node, y.node)
  cleanups.push(disconnect)
  return disconnect
}

function nextPrompt(account: Account): Promise<AuthorisationPrompt> {
  return new Promise((resolve) => account.once('authorisation-request', resolve))
}

describe('sign up and sign in', () => {
  it('sign-up without a passphrase generates one; sign-in with it opens the same database, read-only', async () => {
    const generated = await signUp({ name: PERSON, nodeName: 'Laptop', kdf: KDF })
    cleanups.push(() => generated.close())
    expect(generated.passphrase!.split(' ').length).toBeGreaterThanOrEqual(8)
    expect(generated.writable).toBe(true)
    const phone = await signIn({ passphrase: generated.passphrase!, name: PERSON, nodeName: 'Phone', kdf: KDF })
    cleanups.push(() => phone.close())
    expect(b4a.equals(phone.node.key, generated.node.key)).toBe(true)
    expect(phone.writable).toBe(false)
    expect(phone.passphrase).toBeNull()
    await expect(signIn({ passphrase: '', name: PERSON, nodeName: 'x', kdf: KDF })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
  })
})

describe('authorisation end to end', () => {
  it('origin over TCP, new device over WebSocket, through an always-on relay that sees only ciphertext', async () => {
    const tcp = tcpServer({ port: 0 })
    const ws = webSocketServer({ port: 0 })
    const relay = await alwaysOn([tcp, ws])
    const relayFrames: Uint8Array[] = []
    relay.ephemeral.on('message', (m: EphemeralMessage) => {
      if (m.contentType === SECURE_CONTENT_TYPE) relayFrames.push(m.payload)
    })

    const laptop = await origin([tcpClient({ port: tcp.port! })])
    await laptop.node.put('note', 'written on the laptop')
    const firefox = await device('Firefox on Ubuntu 64-bit', [
      webSocketClient({ url: `ws://127.0.0.1:${ws.port}`, WebSocket: WebSocket as any })
    ])
    await until(() => laptop.node.peerCount > 0 && firefox.node.peerCount > 0, 15_000, 'both to reach the relay')

    const prompted = nextPrompt(laptop)
    const request = firefox.requestAuthorisation({ retryMs: 300 })
    const prompt = await prompted
    expect(prompt.nodeName).toBe('Firefox on Ubuntu 64-bit')
    expect(prompt.code).toBe(request.code)
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
    const phone = await device('Phone')
    link(laptop, phone)
    const p1 = nextPrompt(laptop)
    const r1 = phone.requestAuthorisation({ retryMs: 200 })
    await (await p1).approve()
    await r1.done
    await laptop.close()

    const tablet = await device('Tablet')
    link(phone, tablet)
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
    const phone = await device('Phone')
    link(laptop, phone)
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
    const phone = await device('Phone')
    link(laptop, phone)
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
    const phone = await device('Phone')
    link(laptop, phone)
    const first = nextPrompt(laptop)
    const r1 = phone.requestAuthorisation({ retryMs: 200 })
    await (await first).approve()
    await r1.done

    const tablet = await device('Tablet')
    link(laptop, tablet)
    link(phone, tablet)
    const atLaptop = nextPrompt(laptop)
    const atPhone = nextPrompt(phone)
    const request = tablet.requestAuthorisation({ retryMs: 200 })
    const [a, b] = await Promise.all([atLaptop, atPhone])
    expect(a.code).toBe(b.code)
    await Promise.all([a.approve(), b.approve()])
    await request.done
    await until(async () => (await laptop.writers()).length === 3 && (await phone.writers()).length === 3)
    const keys = (await laptop.writers()).map((w) => b4a.toString(w.key, 'hex'))
    expect(new Set(keys).size).toBe(3)
    expect(keys).toContain(b4a.toString(tablet.node.writerKey!, 'hex'))
  })
})

describe('refusals', () => {
  it('deny rejects the request with ERR_DENIED and closes the prompt on the other writers', async () => {
    const laptop = await origin()
    const phone = await device('Phone')
    link(laptop, phone)
    const r1 = phone.requestAuthorisation({ retryMs: 200 })
    await (await nextPrompt(laptop)).approve()
    await r1.done

    const stranger = await device('Unknown device')
    link(laptop, stranger)
    link(phone, stranger)
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

  it('timeout rejects with ERR_TIMEOUT and closes the prompt; cancel rejects with ERR_CANCELLED', async () => {
    const laptop = await origin()
    const phone = await device('Phone')
    link(laptop, phone)
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
    expect(prompt2.code).toBe(cancelled.code)
    cancelled.cancel()
    await expect(cancelled.done).rejects.toMatchObject({ code: 'ERR_CANCELLED' })
    await until(() => settled.length === 2)
    expect(prompt2.status).toBe('cancelled')
    expect(phone.writable).toBe(false)
  })

  it('a wrong passphrase reaches no prompt anywhere', async () => {
    const tcp = tcpServer({ port: 0 })
    const laptop = await origin([tcp])
    const prompts = collect(laptop, 'authorisation-request')
    const intruder = await device('Intruder', [tcpClient({ port: tcp.port! })], 'wrong passphrase entirely')
    await until(() => laptop.node.peerCount > 0 && intruder.node.peerCount > 0, 15_000, 'the TCP connection')
    expect(b4a.equals(intruder.node.key, laptop.node.key)).toBe(false)
    const request = intruder.requestAuthorisation({ retryMs: 100, timeoutMs: 1000 })
    await expect(request.done).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    expect(prompts).toHaveLength(0)
    expect(laptop.node.channel.stats.received).toBe(0) // not even an envelope: other database, other channel
  })

  it('a revoked device’s later writes are not applied', async () => {
    const laptop = await origin()
    const phone = await device('Phone')
    link(laptop, phone)
    const request = phone.requestAuthorisation({ retryMs: 200 })
    await (await nextPrompt(laptop)).approve()
    await request.done
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
    const phone = await device('Phone')
    link(laptop, phone)
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
    const phone = await device('Phone')
    link(laptop, phone)
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
    const phone = await device('Phone')
    link(laptop, phone)
    const prompted = nextPrompt(laptop)
    const request = phone.requestAuthorisation({ retryMs: 200 })
    const prompt = await prompted
    // A deny with this request's id but another digest (another request, or another requester).
    laptop.send({ type: 'deny', requestId: request.requestId, requestDigest: b4a.alloc(32, 9), reason: 'forged' })
    await settle(200)
    await prompt.approve()
    await request.done // approved, not denied by the forged answer
    expect(phone.writable).toBe(true)
  })
})

describe('faults', () => {
  it('the relay restarts mid-request and the request still completes', async () => {
    const first = tcpServer({ port: 0 })
    const relay = await alwaysOn([first])
    const port = first.port!
    const laptop = await origin([tcpClient({ port, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } })])
    const phone = await device('Phone', [tcpClient({ port, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } })])
    await until(() => laptop.node.peerCount > 0 && phone.node.peerCount > 0, 15_000, 'both to reach the relay')

    const prompted = nextPrompt(laptop)
    const request = phone.requestAuthorisation({ retryMs: 100 })
    const prompt = await prompted
    await relay.close() // the relay goes away before the answer
    await until(() => laptop.node.peerCount === 0 && phone.node.peerCount === 0, 15_000, 'both to notice')
    await prompt.approve() // written locally; the approval message has nowhere to go yet

    await alwaysOn([tcpServer({ port })]) // a fresh relay on the same address
    await request.done
    expect(phone.writable).toBe(true)
    await phone.node.put('after-restart', 'yes')
    await until(async () => (await laptop.node.get('after-restart')) === 'yes', 15_000, 'the entry via the new relay')
  })
})
