// One file on purpose (over 400 lines): every test of what identifies a device (random keys,
// the device record, lookup, the registry), which share set-ups.
// A device's own keys (random, held by its storage), the account lookup that tells a new device
// the database key, and the device registry. Real nodes on in-process Noise streams.
import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sodium from 'sodium-universal'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { nextEvent, collect, cleanupsAfterEach } from '@hypha/test-utils'
import {
  HyphaNode,
  AccountLookup,
  LOOKUP_CONTENT_TYPE,
  MEMBER_CREDENTIAL_BYTES,
  decodeMemberCredential,
  deriveAccountKeys,
  lookupProof,
  writerCoreKey,
  memoryStorage,
  DEVICE_FILE_MAX_BYTES,
  type Device,
  type InvalidOp,
  memberGate,
  type HyphaNodeOptions
} from '../src/index.js'
import { encodeOp } from '../src/engine/ops.js'
import { appendRawOplog, autobaseOf } from '../src/debug.js'
import { rootSecret, connect, eventually, startNode, expectCode, LoopbackTransport } from './fixtures/helpers.js'

const cleanups = cleanupsAfterEach(afterEach)

let root: Uint8Array
let otherRoot: Uint8Array
beforeAll(async () => {
  root = rootSecret()
  otherRoot = rootSecret('another person entirely')
})

const hex = (b: Uint8Array | null | undefined) => (b == null ? null : b4a.toString(b, 'hex'))
const random32 = () => crypto.getRandomValues(new Uint8Array(32))

const node = (options: HyphaNodeOptions) => startNode(options, cleanups)

/** A node not yet opened (its clean-up registered): connect it, then await `ready()`. */
function unopened(options: HyphaNodeOptions): HyphaNode {
  const n = new HyphaNode(options)
  cleanups.push(() => n.close())
  return n
}

function link(x: HyphaNode, y: HyphaNode): () => void {
  const disconnect = connect(x, y)
  cleanups.push(disconnect)
  return disconnect
}

/** The keys that identify a device: its writer core, its Noise identity, its channel signing key. */
function deviceIdentity(n: HyphaNode) {
  return { writer: hex(n.writerKey), noise: hex(n.noiseKeyPair.publicKey), channel: hex(n.channel.publicKey) }
}

async function entries(n: HyphaNode): Promise<string[]> {
  return (await n.list()).map((e) => `${e.key}=${String(e.value)}`)
}

/**
 * A peer that only speaks the lookup channel, answering with whatever locator payload it is given:
 * a stranger who knows the lookup topic (not hard: it is in every always-on node's locator).
 */
/**
 * A bare lookup channel on the account's topic that passes the membership gate with `memberKey`
 * (default: the account's; what a stolen always-on credential gives), to show what the lookup
 * itself checks.
 */
function lookupPeer(topic: Uint8Array, answer?: { databaseKey: Uint8Array; proof: Uint8Array }, memberKey = deriveAccountKeys(root).memberKey) {
  const lookup = new AccountLookup({ topic, lookupKey: null })
  cleanups.push(() => lookup.close())
  if (answer) lookup.answerWith(answer.databaseKey, answer.proof)
  let sent = 0
  const send = lookup.ephemeral.send.bind(lookup.ephemeral)
  lookup.ephemeral.send = (...args: Parameters<typeof send>) => {
    sent++
    return send(...args)
  }
  const keyPair = NoiseSecretStream.keyPair()
  return {
    lookup,
    get sent() {
      return sent
    },
    connectTo(n: HyphaNode) {
      const a = new NoiseSecretStream(true, undefined, { keyPair })
      const b = new NoiseSecretStream(false, undefined, { keyPair: NoiseSecretStream.keyPair() })
      a.on('error', () => {})
      a.rawStream.pipe(b.rawStream).pipe(a.rawStream)
      memberGate(a, memberKey).then(() => lookup.attach(a), () => {})
      n.addConnection(b, { transport: 'test', isInitiator: false })
      cleanups.push(() => {
        a.destroy()
        b.destroy()
      })
    }
  }
}

describe('device keys', () => {
  it('are random per storage, and the same when a storage is reopened', async () => {
    const laptopStorage = memoryStorage()
    const phoneStorage = memoryStorage()
    const laptop = await node({ role: 'origin', rootSecret: root, storage: laptopStorage })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: laptop.key, storage: phoneStorage })
    // A third device of the same person, and another origin: every key of each is its own.
    const tablet = await node({ role: 'read-only', rootSecret: root, databaseKey: laptop.key })
    const ids = [laptop, phone, tablet].map(deviceIdentity)
    for (const kind of ['writer', 'noise', 'channel'] as const) {
      expect(new Set(ids.map((id) => id[kind])).size, kind).toBe(3)
    }
    // Within one device the three keys differ too, and none is anything the passphrase gives.
    const fromPassphrase = Object.values(deriveAccountKeys(root)).map(hex)
    for (const id of ids) {
      expect(new Set([id.writer, id.noise, id.channel]).size).toBe(3)
      for (const k of [id.writer, id.noise, id.channel]) expect(fromPassphrase).not.toContain(k)
    }

    await laptop.close()
    await phone.close()
    // Reopened (even asked for the other role, and with no database key): the same devices.
    const laptopAgain = await node({ role: 'read-only', rootSecret: root, storage: laptopStorage })
    const phoneAgain = await node({ role: 'origin', rootSecret: root, storage: phoneStorage })
    expect(deviceIdentity(laptopAgain)).toEqual(ids[0])
    expect(deviceIdentity(phoneAgain)).toEqual(ids[1])
    expect(laptopAgain.role).toBe('origin')
    expect(phoneAgain.role).toBe('read-only')
    expect(hex(laptopAgain.key)).toBe(hex(laptop.key))
    expect(hex(phoneAgain.key)).toBe(hex(laptop.key))
    expect(laptopAgain.writable).toBe(true)
    expect(phoneAgain.writable).toBe(false)
  })

  it('are read from storage in ready(): the getters throw ERR_NOT_OPEN before', async () => {
    const n = unopened({ role: 'origin', rootSecret: root })
    for (const get of [() => n.key, () => n.discoveryKey, () => n.noiseKeyPair, () => n.ephemeral, () => n.channel, () => n.locator, () => n.memberCredential]) {
      await expectCode(get, 'ERR_NOT_OPEN')
    }
    expect(n.writerKey).toBeNull()
    expect(n.writable).toBe(false)
    // The rendezvous topic comes from the root secret: known before the database is.
    expect(hex(n.topic)).toBe(hex(deriveAccountKeys(root).lookupTopic))
    await n.ready()
    expect(n.key.byteLength).toBe(32)
    expect(n.locator.byteLength).toBe(MEMBER_CREDENTIAL_BYTES)
    expect(n.memberCredential).toBe(hex(n.locator))
    expect(hex(n.memberKey)).toBe(hex(deriveAccountKeys(root).memberKey))
    expect(n.channel.publicKey!.byteLength).toBe(32)
  })

  it('a storage holding a device of another account is refused (ERR_OTHER_ACCOUNT), and of another database (ERR_OTHER_DATABASE)', async () => {
    const storage = memoryStorage()
    const mine = await node({ role: 'origin', rootSecret: root, storage })
    const databaseKey = mine.key
    await mine.put('k', 'mine')
    await mine.close()

    for (const role of ['origin', 'read-only'] as const) {
      const stranger = unopened({ role, rootSecret: otherRoot, storage })
      await expectCode(stranger.ready(), 'ERR_OTHER_ACCOUNT')
      expect(stranger.closed).toBe(true)
    }
    const elsewhere = unopened({ role: 'read-only', rootSecret: root, databaseKey: random32(), storage })
    await expectCode(elsewhere.ready(), 'ERR_OTHER_DATABASE')

    // Nothing was changed by the refused nodes: the device opens as it was.
    const again = await node({ role: 'origin', rootSecret: root, storage })
    expect(hex(again.key)).toBe(hex(databaseKey))
    expect(await again.get('k')).toBe('mine')
    expect(again.writable).toBe(true)
  })
})

describe('device files', () => {
  it('keep small bytes with the device across a reopen (memory and directory storage), replaced whole; bad names and sizes are refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hypha-device-file-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    for (const storage of [memoryStorage(), dir]) {
      const first = await node({ role: 'origin', rootSecret: root, storage })
      expect(await first.readDeviceFile('auth-settled')).toBeNull()
      await first.writeDeviceFile('auth-settled', b4a.alloc(100, 7))
      await first.writeDeviceFile('auth-settled', b4a.from([1, 2, 3])) // shorter: the rest is cut
      await first.writeDeviceFile('other', b4a.from([9]))
      await first.close()
      const again = await node({ role: 'origin', rootSecret: root, storage })
      expect(hex(await again.readDeviceFile('auth-settled'))).toBe('010203')
      expect(hex(await again.readDeviceFile('other'))).toBe('09')
      await again.writeDeviceFile('other', new Uint8Array(0))
      expect(await again.readDeviceFile('other')).toBeNull()
      for (const name of ['', 'A', '../hypha-device', 'a/b', 'x'.repeat(65)]) {
        await expectCode(again.readDeviceFile(name), 'ERR_INVALID_ARGUMENT')
        await expectCode(again.writeDeviceFile(name, b4a.from([1])), 'ERR_INVALID_ARGUMENT')
      }
      await expectCode(again.writeDeviceFile('big', new Uint8Array(DEVICE_FILE_MAX_BYTES + 1)), 'ERR_INVALID_ARGUMENT')
      await again.close()
      await expectCode(again.readDeviceFile('other'), 'ERR_CLOSED')
    }
  })
})

describe('the account lookup', () => {
  it('a new device given no database key finds it through a connected origin and reads its entries', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    await origin.batch([
      { type: 'put', key: 'a', value: '1' },
      { type: 'put', key: 'b', value: '2' }
    ])
    const storage = memoryStorage()
    const transport = new LoopbackTransport(origin)
    const phone = unopened({ role: 'read-only', rootSecret: root, storage, lookupTimeoutMs: 10_000, transports: [transport] })
    await phone.ready()
    expect(hex(transport.context!.topic)).toBe(hex(origin.topic))
    expect(hex(phone.key)).toBe(hex(origin.key))
    expect(phone.role).toBe('read-only')
    expect(phone.writable).toBe(false)
    expect(phone.peerCount).toBe(1)
    await eventually(async () => (await entries(phone)).join() === 'a=1,b=2', "the origin's entries on the phone")

    // The storage now records the database: reopened with no peers, it needs no lookup.
    await phone.close()
    const offline = await node({ role: 'read-only', rootSecret: root, storage, lookupTimeoutMs: 1 })
    expect(hex(offline.key)).toBe(hex(origin.key))
    expect(await entries(offline)).toEqual(['a=1', 'b=2'])
  })

  it('with no peer to answer, ready() rejects ERR_NOT_FOUND after lookupTimeoutMs', async () => {
    const storage = memoryStorage()
    const lonely = unopened({ role: 'read-only', rootSecret: root, storage, lookupTimeoutMs: 200 })
    // The message says why nobody answered: here, a node without transports.
    await expect(lonely.ready()).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', message: expect.stringContaining('no transports') })
    expect(lonely.closed).toBe(true)
    await expectCode(lonely.get('k'), 'ERR_CLOSED')
    // No database was recorded: the storage can still become an origin.
    const origin = await node({ role: 'origin', rootSecret: root, storage })
    expect(origin.role).toBe('origin')
    expect(origin.writable).toBe(true)
  })

  it('two proven databases for one account: a joining node rejects ERR_ACCOUNT_CONFLICT, the two origins report account-conflict', async () => {
    // Two sign-ups with one passphrase on two devices, before either heard of the other.
    const first = await node({ role: 'origin', rootSecret: root })
    const second = await node({ role: 'origin', rootSecret: root })
    expect(hex(first.key)).not.toBe(hex(second.key))

    const joiner = unopened({ role: 'read-only', rootSecret: root, lookupTimeoutMs: 10_000, lookupSettleMs: 10_000 })
    link(first, joiner)
    link(second, joiner)
    await expectCode(joiner.ready(), 'ERR_ACCOUNT_CONFLICT')
    expect(joiner.closed).toBe(true)

    const atFirst = nextEvent<[Uint8Array]>(first, 'account-conflict')
    const atSecond = nextEvent<[Uint8Array]>(second, 'account-conflict')
    link(first, second)
    const [[heardByFirst], [heardBySecond]] = await Promise.all([atFirst, atSecond])
    expect(hex(heardByFirst)).toBe(hex(second.key))
    expect(hex(heardBySecond)).toBe(hex(first.key))
    // Each keeps its own database.
    expect(first.writable && second.writable).toBe(true)
  })

  it('a looked-up database is read during the settle window, but a conflict heard in it still rejects ready() and records nothing', async () => {
    const first = await node({ role: 'origin', rootSecret: root })
    await first.put('k', 'from the first database')
    const storage = memoryStorage()
    const joiner = unopened({ role: 'read-only', rootSecret: root, storage, lookupTimeoutMs: 30_000, lookupSettleMs: 30_000 })
    let settled = false
    const opened = joiner.ready().then(
      () => (settled = true),
      (err) => {
        settled = true
        throw err
      }
    )
    link(first, joiner)
    // The first answer's database is opened and replicated while the window runs: its view holds
    // the first origin's entry before ready() resolved.
    await eventually(async () => {
      try {
        // The view's user entries are keyed 0x00 ‖ key (engine/autobase.ts).
        return (await autobaseOf(joiner).view.get(b4a.concat([b4a.from([0]), b4a.from('k')]))) !== null
      } catch {
        return false // not opened yet
      }
    }, 'the joiner to read the first database during the settle window')
    expect(settled).toBe(false)
    // A second proven database within the window: the same failure as when nothing was read yet.
    const second = await node({ role: 'origin', rootSecret: root })
    link(second, joiner)
    await expectCode(opened, 'ERR_ACCOUNT_CONFLICT')
    expect(joiner.closed).toBe(true)
    // Nothing was recorded: the storage looks the database up again (here it finds the second one).
    const again = unopened({ role: 'read-only', rootSecret: root, storage, lookupTimeoutMs: 30_000, lookupSettleMs: 50 })
    link(second, again)
    await again.ready()
    expect(again.reopened).toBe(false)
    expect(hex(again.key)).toBe(hex(second.key))
  })

  it('a conflict heard while a node is still opening is reported once it knows its own database', async () => {
    const storage = memoryStorage()
    const first = await node({ role: 'origin', rootSecret: root, storage })
    const firstKey = hex(first.key)
    await first.close()
    const second = await node({ role: 'origin', rootSecret: root })
    const reopened = unopened({ role: 'read-only', rootSecret: root, storage })
    const heard = nextEvent<[Uint8Array]>(reopened, 'account-conflict')
    link(reopened, second) // before ready(): the answer arrives while it opens
    await reopened.ready()
    expect(hex(reopened.key)).toBe(firstKey)
    const [[key]] = await Promise.all([heard])
    expect(hex(key)).toBe(hex(second.key))
  })

  it('close() during a lookup or an existing-account check ends it at once: ready() rejects ERR_CLOSED, close() resolves', async () => {
    const joining = new HyphaNode({ role: 'read-only', rootSecret: root, lookupTimeoutMs: 60_000 })
    const checking = new HyphaNode({ role: 'origin', rootSecret: root, existingAccountCheckMs: 60_000 })
    const creating = new HyphaNode({ role: 'origin', rootSecret: root })
    for (const n of [joining, checking, creating]) {
      const opened = n.ready()
      await new Promise((r) => setTimeout(r, 50))
      await n.close()
      if (n !== creating) await expectCode(opened, 'ERR_CLOSED')
      else await opened.catch(() => {}) // it may have finished opening before close()
      expect(n.closed).toBe(true)
    }
  })

  it('an always-on node needs the member credential: the database key alone is refused', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    expect(() => new HyphaNode({ role: 'always-on', databaseKey: origin.key })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('memberCredential') })
    )
    const credential = decodeMemberCredential(origin.memberCredential)
    expect(hex(credential.databaseKey)).toBe(hex(origin.key))
    expect(hex(credential.memberKey)).toBe(hex(origin.memberKey))
  })

  it('ignores locator answers with a wrong proof', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const { lookupTopic, lookupKey } = deriveAccountKeys(root)
    const fake = random32()
    const wrongKey = deriveAccountKeys(otherRoot).lookupKey

    // Right topic, proof made with the wrong lookup key.
    const forger = lookupPeer(lookupTopic, { databaseKey: fake, proof: lookupProof(wrongKey, fake) })
    const lonely = unopened({ role: 'read-only', rootSecret: root, lookupTimeoutMs: 1_500 })
    forger.connectTo(lonely)
    await eventually(() => forger.sent >= 1 && forger.lookup.ephemeral.peers.length === 1, 'the forged answer sent')
    // More of the same kind, raw on the lookup channel: the origin's real proof beside another key,
    // a truncated answer, and a real answer under another content type.
    const [peer] = forger.lookup.ephemeral.peers
    const send = (payload: Uint8Array, contentType = LOOKUP_CONTENT_TYPE) => forger.lookup.ephemeral.send(peer!, payload, { contentType })
    send(b4a.concat([fake, lookupProof(lookupKey, origin.key)]))
    send(b4a.concat([origin.key, lookupProof(lookupKey, origin.key)]).subarray(0, 63))
    send(b4a.concat([fake, lookupProof(lookupKey, fake)]), 'application/octet-stream')
    await expectCode(lonely.ready(), 'ERR_NOT_FOUND')

    // Beside a real member, the forged answer changes nothing: the real database is found, no conflict.
    const joiner = unopened({ role: 'read-only', rootSecret: root, lookupTimeoutMs: 10_000, lookupSettleMs: 1_000 })
    const forger2 = lookupPeer(lookupTopic, { databaseKey: fake, proof: lookupProof(wrongKey, fake) })
    forger2.connectTo(joiner)
    await eventually(() => forger2.sent >= 1, 'the second forged answer sent')
    link(origin, joiner)
    await joiner.ready()
    expect(hex(joiner.key)).toBe(hex(origin.key))

    // Control: the same peer with a proof made with the right lookup key is believed (so the forged
    // answers above did arrive and were refused for their proof alone).
    const conflicted = unopened({ role: 'read-only', rootSecret: root, lookupTimeoutMs: 10_000, lookupSettleMs: 10_000 })
    const member = lookupPeer(lookupTopic, { databaseKey: fake, proof: lookupProof(lookupKey, fake) })
    member.connectTo(conflicted)
    link(origin, conflicted)
    await expectCode(conflicted.ready(), 'ERR_ACCOUNT_CONFLICT')
  })

  it('an always-on node given only the member credential answers lookups', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    await origin.put('kept', 'by the always-on node')
    const credential = decodeMemberCredential(origin.memberCredential)
    expect(hex(credential.topic)).toBe(hex(origin.topic))
    expect(hex(credential.databaseKey)).toBe(hex(origin.key))
    expect(hex(decodeMemberCredential(origin.locator).proof)).toBe(hex(credential.proof))

    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential })
    expect(hex(blind.key)).toBe(hex(origin.key))
    expect(hex(blind.topic)).toBe(hex(origin.topic))
    expect(blind.memberCredential).toBe(origin.memberCredential)
    expect(hex(blind.locator)).toBe(hex(origin.locator))
    const disconnect = link(origin, blind)
    const length = autobaseOf(origin).local.length as number
    await eventually(() => blind.seeded()[0]!.contiguousLength >= length, "the always-on node holds the origin's core")
    disconnect()
    await origin.close()

    // A new device connected to the always-on node alone finds the database and reads it.
    const phone = unopened({ role: 'read-only', rootSecret: root, lookupTimeoutMs: 10_000, transports: [new LoopbackTransport(blind)] })
    await phone.ready()
    expect(hex(phone.key)).toBe(hex(origin.key))
    await eventually(async () => (await phone.get('kept')) === 'by the always-on node', 'data relayed by the always-on node')

    // Bad always-on options are refused at once.
    const refused = [
      () => new HyphaNode({ role: 'always-on' }),
      () => new HyphaNode({ role: 'always-on', databaseKey: origin.key }),
      () => new HyphaNode({ role: 'always-on', locator: 'abcd' }),
      () => new HyphaNode({ role: 'always-on', locator: origin.locator.subarray(0, 64) }),
      () => new HyphaNode({ role: 'always-on', memberCredential: origin.locator.subarray(1, 97) }), // the old 96-byte locator
      () => new HyphaNode({ role: 'always-on', locator: origin.locator, databaseKey: random32() })
    ]
    for (const make of refused) await expectCode(make, 'ERR_INVALID_ARGUMENT')
  })

  it('creating with existingAccountCheckMs rejects ERR_ACCOUNT_EXISTS when a member answers, and creates when none does', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })

    // A second sign-up on a new device, connected to a member (here a read-only one).
    const storage = memoryStorage()
    const signUp = unopened({ role: 'origin', rootSecret: root, storage, existingAccountCheckMs: 10_000 })
    link(phone, signUp)
    await expectCode(signUp.ready(), 'ERR_ACCOUNT_EXISTS')
    expect(signUp.closed).toBe(true)
    // It recorded no database: the same storage can still join the existing one.
    const joined = await node({ role: 'read-only', rootSecret: root, storage, databaseKey: origin.key })
    expect(joined.role).toBe('read-only')

    // Nobody answers within the check: a new database.
    const alone = await node({ role: 'origin', rootSecret: root, existingAccountCheckMs: 100 })
    expect(alone.role).toBe('origin')
    expect(alone.writable).toBe(true)
    expect(hex(alone.key)).not.toBe(hex(origin.key))
  })
})

describe('the device registry', () => {
  const find = (devices: Device[], writerKey: Uint8Array | null) => devices.find((d) => hex(d.writerKey) === hex(writerKey))
  /** A device record as comparable plain data. */
  const plain = (d: Device | null | undefined) =>
    d == null
      ? d
      : {
          ...d,
          writerKey: hex(d.writerKey),
          channelKey: hex(d.channelKey),
          addedBy: hex(d.addedBy),
          revokedBy: hex(d.revokedBy)
        }

  it('records added, registered and removed devices, finds them by channel key, and survives a reopen', async () => {
    const originStorage = memoryStorage()
    const origin = await node({ role: 'origin', rootSecret: root, storage: originStorage })
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })

    // The origin is a writer from the start, with no record until it registers.
    expect((await origin.devices()).map(plain)).toEqual([
      plain({
        writerKey: origin.key,
        name: '',
        channelKey: null,
        origin: true,
        indexer: true,
        recovery: false,
        active: true,
        addedBy: null,
        addedAt: null,
        revokedBy: null,
        revokedAt: null
      })
    ])
    const beforeRegister = Date.now()
    await origin.registerDevice('Laptop')
    const laptop = find(await origin.devices(), origin.writerKey)!
    expect(laptop).toMatchObject({ name: 'Laptop', origin: true, indexer: true, active: true, addedBy: null })
    expect(hex(laptop.channelKey)).toBe(hex(origin.channel.publicKey))
    expect(laptop.addedAt).toBeGreaterThanOrEqual(beforeRegister)
    expect(plain(await origin.deviceByChannelKey(origin.channel.publicKey!))).toEqual(plain(laptop))

    // A device that is not a writer cannot register itself.
    await expectCode(phone.registerDevice('Phone'), 'ERR_NOT_WRITABLE')

    link(origin, phone)
    const before = Date.now()
    await origin.addWriter(phone.writerKey!, { name: 'Phone', channelKey: phone.channel.publicKey!, channelProof: phone.channelProof() })
    const after = Date.now()
    await eventually(() => phone.writable, 'phone writable')
    const added = find(await origin.devices(), phone.writerKey)!
    expect(added).toMatchObject({ name: 'Phone', origin: false, indexer: false, recovery: false, active: true, revokedBy: null, revokedAt: null })
    expect(hex(added.channelKey)).toBe(hex(phone.channel.publicKey))
    expect(hex(added.addedBy)).toBe(hex(origin.writerKey))
    expect(typeof added.addedAt).toBe('number')
    expect(added.addedAt).toBeGreaterThanOrEqual(before)
    expect(added.addedAt).toBeLessThanOrEqual(after)
    // The phone's view says the same, and both find it by its channel key.
    await eventually(async () => find(await phone.devices(), phone.writerKey) !== undefined, 'the registry on the phone')
    expect(plain(find(await phone.devices(), phone.writerKey))).toEqual(plain(added))
    for (const n of [origin, phone]) {
      expect(plain(await n.deviceByChannelKey(phone.channel.publicKey!))).toEqual(plain(added))
      expect(await n.deviceByChannelKey(random32())).toBeNull()
    }

    // A recovery key: a writer that signs no channel messages.
    const recoveryKey = random32()
    await origin.addWriter(recoveryKey, { name: 'recovery key', recovery: true })
    expect(find(await origin.devices(), recoveryKey)).toMatchObject({ recovery: true, channelKey: null, active: true })

    // Removing the phone keeps its record, marked revoked by the remover.
    const beforeRemove = Date.now()
    await origin.removeWriter(phone.writerKey!)
    const revoked = find(await origin.devices(), phone.writerKey)!
    expect(revoked).toMatchObject({ name: 'Phone', active: false, indexer: false })
    expect(hex(revoked.revokedBy)).toBe(hex(origin.writerKey))
    expect(revoked.revokedAt).toBeGreaterThanOrEqual(beforeRemove)
    expect(hex(revoked.addedBy)).toBe(hex(origin.writerKey))
    expect(added.addedAt).toBe(revoked.addedAt)
    expect((await origin.writers()).map((w) => hex(w.key)).sort()).toEqual([hex(origin.key), hex(recoveryKey)].sort())
    expect(plain(await origin.deviceByChannelKey(phone.channel.publicKey!))).toEqual(plain(revoked))
    await eventually(() => !phone.writable, 'phone no longer writable')

    // Bad arguments.
    await expectCode(origin.addWriter(random32(), { name: 'x'.repeat(129) }), 'ERR_INVALID_ARGUMENT')
    await expectCode(origin.addWriter(random32(), { channelKey: new Uint8Array(31) }), 'ERR_INVALID_ARGUMENT')
    await expectCode(origin.addWriter(random32(), { channelKey: random32() }), 'ERR_INVALID_ARGUMENT') // no proof
    await expectCode(origin.registerDevice('\uD800'), 'ERR_INVALID_ARGUMENT')
    await expectCode(origin.deviceByChannelKey(new Uint8Array(8)), 'ERR_INVALID_ARGUMENT')

    // Reopened from its storage, the origin has the same registry.
    const registry = (await origin.devices()).map(plain)
    expect(registry).toHaveLength(3)
    await origin.close()
    const reopened = await node({ role: 'origin', rootSecret: root, storage: originStorage })
    expect((await reopened.devices()).map(plain)).toEqual(registry)
    expect(plain(await reopened.deviceByChannelKey(reopened.channel.publicKey!))).toEqual(plain(laptop))
  })

  it('a channel key is recorded only with its holder’s proof: a writer cannot claim another device’s key', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    await origin.registerDevice('Laptop')
    const phone = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key })
    link(origin, phone)
    await origin.addWriter(phone.writerKey!, { name: 'Phone', channelKey: phone.channel.publicKey!, channelProof: phone.channelProof() })
    await eventually(() => phone.writable, 'phone writable')
    const invalid = collect<InvalidOp>(origin, 'invalid-op')

    // The phone (a writer) records the laptop's channel key as its own, with its own proof, as a
    // raw op: apply skips it on every node, and the laptop's key still maps to the laptop.
    const laptopChannel = origin.channel.publicKey!
    const claim = encodeOp({ type: 'register-device', name: 'Laptop', channelKey: laptopChannel, channelProof: phone.channelProof(), at: Date.now() })
    // And adds a new writer with the laptop's key and a proof made for another writer.
    const stranger = random32()
    const add = encodeOp({
      type: 'add-writer',
      key: stranger,
      indexer: false,
      recovery: false,
      name: 'Laptop',
      channelKey: laptopChannel,
      channelProof: origin.channelProof(), // a real proof, but for the laptop's own writer
      at: Date.now()
    })
    await appendRawOplog(phone, [claim, add])
    await eventually(() => invalid.length === 2, 'both ops reported')
    expect(invalid.map((op) => op.reason)).toEqual(['bad-channel-proof', 'bad-channel-proof'])
    expect(hex((await origin.deviceByChannelKey(laptopChannel))!.writerKey)).toBe(hex(origin.writerKey))
    expect(await origin.isWriter(stranger)).toBe(false)
    expect(find(await origin.devices(), phone.writerKey)!.name).toBe('Phone')
  })

  it('two holders of one writer key that fork its core are reported as writer-conflict when they meet', async () => {
    // One writer key pair held on two devices (what a recovery code used on both sides of a
    // partition amounts to): each appends block 0 of the same core while apart.
    const origin = await node({ role: 'origin', rootSecret: root })
    const shared = { publicKey: new Uint8Array(32), secretKey: new Uint8Array(64) }
    sodium.crypto_sign_keypair(shared.publicKey, shared.secretKey)
    await origin.addWriter(writerCoreKey(shared.publicKey))
    const b = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key, writerKeyPair: shared })
    const disconnect = link(origin, b)
    await eventually(() => b.writable, 'b writable')
    disconnect()
    const a = await node({ role: 'read-only', rootSecret: root, databaseKey: origin.key, writerKeyPair: shared })
    link(origin, a)
    await eventually(() => a.writable, 'a writable')
    await a.put('from-a', '1')
    await eventually(async () => (await origin.get('from-a')) === '1', 'the origin has a’s block 0')
    await b.put('from-b', '1') // b's own block 0 of the same core

    const atOrigin = nextEvent<[Uint8Array]>(origin, 'writer-conflict')
    const atB = nextEvent<[Uint8Array]>(b, 'writer-conflict')
    link(origin, b)
    const [[k1], [k2]] = await Promise.all([atOrigin, atB])
    expect(hex(k1)).toBe(hex(writerCoreKey(shared.publicKey)))
    expect(hex(k2)).toBe(hex(writerCoreKey(shared.publicKey)))
  })
})
