// Throughput of 1 KiB messages through @hypha/secure-channel, against raw libsodium doing the same
// cryptographic work (secretbox + sign on the sender, verify + open on the receiver) in the same run.
// Rounds are interleaved (each round runs every case once) and each ratio is the median of the
// per-round ratios against that round's baseline, so a load change on a shared machine hits both.
// Reproduce: npx tsc -b && node bench/dist/secure-channel.js (env BENCH_MESSAGES, BENCH_ROUNDS,
// BENCH_CASES: run only the cases whose name contains it, with the baselines).
import os from 'node:os'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import { SecureChannel, createKeyPair, createChannelKey } from '@hypha/secure-channel'
import { createStore, connectInProcess, connectTcp, until, type Connection } from '@hypha/test-utils'
import { median } from './common.js'
import { PADDING_HEADROOM_BYTES, TAG_BYTES } from '@hypha/secure-channel'

const MESSAGE_BYTES = 1024
const COUNT = Number(process.env.BENCH_MESSAGES ?? 20_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

/** Messages per second of wall-clock time, and per second of this process's CPU time (user + system). */
interface Rates {
  wall: number
  cpu: number
}

/**
 * Wall clock and process CPU time from now. CPU time counts every node of a case (they share this
 * thread) and their sockets' kernel time, and not the time other processes take the cores: on a
 * shared machine it is the steadier of the two.
 */
function startClock(): { rates(count: number): Rates } {
  const wall = performance.now()
  const cpu = process.cpuUsage()
  return {
    rates(count) {
      const used = process.cpuUsage(cpu)
      return { wall: count / ((performance.now() - wall) / 1000), cpu: count / ((used.user + used.system) / 1e6) }
    }
  }
}

function rawLibsodium(count: number): Rates {
  const key = createChannelKey()
  const { publicKey, secretKey } = createKeyPair()
  const payload = b4a.alloc(MESSAGE_BYTES, 1)
  const nonce = b4a.alloc(24)
  const box = b4a.alloc(MESSAGE_BYTES + 16)
  const opened = b4a.alloc(MESSAGE_BYTES)
  const signature = b4a.alloc(64)
  const clock = startClock()
  for (let i = 0; i < count; i++) {
    sodium.randombytes_buf(nonce)
    sodium.crypto_secretbox_easy(box, payload, nonce, key)
    sodium.crypto_sign_detached(signature, box, secretKey)
    if (!sodium.crypto_sign_verify_detached(signature, box, publicKey)) throw new Error('verify failed')
    if (!sodium.crypto_secretbox_open_easy(opened, box, nonce, key)) throw new Error('open failed')
  }
  return clock.rates(count)
}

/**
 * The crypto the channel does per message, on the sizes it does it on, and nothing else: the
 * sealed plaintext is the 1 KiB class plus its headroom (1,154 bytes), the signature covers a
 * header (recipient-less: 130 bytes) and the ciphertext; a BLAKE2b box key on each side, the
 * member tag made by the sender and checked by the receiver, random id and nonce. Not included:
 * the connection's own encryption (secret-stream's XChaCha20-Poly1305 on each hop).
 */
function rawChannelCrypto(count: number): Rates {
  const key = createChannelKey()
  const memberKey = createChannelKey()
  const { publicKey, secretKey } = createKeyPair()
  const plaintext = b4a.alloc(MESSAGE_BYTES + PADDING_HEADROOM_BYTES, 1)
  const header = b4a.alloc(130, 4)
  const frame = b4a.alloc(header.byteLength + 3 + plaintext.byteLength + 16 + 64 + TAG_BYTES)
  const ciphertext = frame.subarray(header.byteLength + 3, header.byteLength + 3 + plaintext.byteLength + 16)
  const signedEnd = header.byteLength + 3 + ciphertext.byteLength
  const signature = frame.subarray(signedEnd, signedEnd + 64)
  const tag = frame.subarray(signedEnd + 64)
  const id = b4a.alloc(16)
  const nonce = b4a.alloc(24)
  const boxKey = b4a.alloc(32)
  const check = b4a.alloc(TAG_BYTES)
  const opened = b4a.alloc(plaintext.byteLength)
  const clock = startClock()
  for (let i = 0; i < count; i++) {
    sodium.randombytes_buf(id)
    sodium.randombytes_buf(nonce)
    sodium.crypto_generichash(boxKey, header, key)
    sodium.crypto_secretbox_easy(ciphertext, plaintext, nonce, boxKey)
    sodium.crypto_sign_detached(signature, frame.subarray(0, signedEnd), secretKey)
    sodium.crypto_generichash(tag, frame.subarray(0, signedEnd + 64), memberKey)
    sodium.crypto_generichash(check, frame.subarray(0, signedEnd + 64), memberKey)
    if (!sodium.sodium_memcmp(check, tag)) throw new Error('tag failed')
    if (!sodium.crypto_sign_verify_detached(signature, frame.subarray(0, signedEnd), publicKey)) throw new Error('verify failed')
    sodium.crypto_generichash(boxKey, header, key)
    if (!sodium.crypto_secretbox_open_easy(opened, ciphertext, nonce, boxKey)) throw new Error('open failed')
  }
  return clock.rates(count)
}

/** The member key every bench node shares (a Hypha node derives it from the root secret). */
const MEMBER_KEY = new Uint8Array(32).fill(9)
/**
 * The per-connection rate limits (1,000 envelopes/s, a burst of 5,000, a quarter of that
 * forwarded) are off: this measures throughput, and 20,000 envelopes at full speed are a flood
 * to them (the receiver never catches up).
 */
const UNLIMITED = { maxEnvelopesPerSecond: 1e9, envelopeBurst: 1e9, maxForwardedPerSecond: 1e9 }

async function node(channelKey: Uint8Array | null, discoveryKey: Uint8Array) {
  const { store } = await createStore()
  const ephemeral = new EphemeralExtension({ discoveryKey })
  const channel = new SecureChannel({
    ephemeral,
    channelKey,
    memberKey: MEMBER_KEY,
    keyPair: channelKey ? createKeyPair() : null,
    ...UNLIMITED
  })
  return { store, ephemeral, channel }
}

type BenchNode = Awaited<ReturnType<typeof node>>

async function link(a: BenchNode, b: BenchNode, over: 'memory' | 'tcp'): Promise<Connection> {
  const conn = over === 'tcp' ? await connectTcp(a.store, b.store) : connectInProcess(a.store, b.store)
  const pa = a.ephemeral.attach(conn.a)
  const pb = b.ephemeral.attach(conn.b)
  // Proven both ways first: a channel holds at most 64 envelopes for a connection that has not proven yet.
  await until(() => pa.opened && pb.opened && a.channel.isProven(pa) && b.channel.isProven(pb))
  return conn
}

/** Sends `count` messages from the first node to the last along a line, through any nodes between. */
async function throughChannel(relays: number, over: 'memory' | 'tcp', count: number): Promise<Rates> {
  const discoveryKey = b4a.alloc(32, 3)
  const key = createChannelKey()
  const line: BenchNode[] = [await node(key, discoveryKey)]
  for (let i = 0; i < relays; i++) line.push(await node(null, discoveryKey))
  line.push(await node(key, discoveryKey))
  const conns: Connection[] = []
  for (let i = 0; i + 1 < line.length; i++) conns.push(await link(line[i]!, line[i + 1]!, over))
  const sender = line[0]!
  const receiver = line.at(-1)!
  let received = 0
  // Woken by the message that reaches the mark, not by polling: no idle time in the measurement.
  let mark = 0
  let wake: (() => void) | null = null
  receiver.channel.on('message', () => {
    if (++received >= mark && wake) {
      wake()
      wake = null
    }
  })
  const reached = (n: number) =>
    received >= n
      ? Promise.resolve()
      : Promise.race([
          new Promise<void>((resolve) => {
            mark = n
            wake = resolve
          }),
          until(() => received >= n, 60_000, `${n} messages at the receiver`)
        ])

  const payload = b4a.alloc(MESSAGE_BYTES, 2)
  const clock = startClock()
  // Windows of 1,000 so the measurement is of steady flow, not of one huge buffered burst.
  for (let sent = 0; sent < count; ) {
    const window = Math.min(1000, count - sent)
    for (let i = 0; i < window; i++) sender.channel.send(payload)
    sent += window
    await reached(sent - 500)
  }
  await reached(count)
  const rate = clock.rates(count)
  const rejected = Object.values(receiver.channel.stats.rejected).reduce((x, y) => x + y, 0)
  if (rejected !== 0) throw new Error(`${rejected} messages rejected during the benchmark`)
  for (const c of conns) c.destroy()
  for (const n of line) {
    n.channel.close()
    n.ephemeral.close()
    await n.store.close()
  }
  return rate
}

async function main() {
  console.log(`secure-channel throughput, ${MESSAGE_BYTES}-byte messages, ${COUNT} per round, median of ${ROUNDS} rounds`)
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, node ${process.version}, ${new Date().toISOString()}`)
  rawLibsodium(2000) // warm up
  rawChannelCrypto(2000)
  await throughChannel(0, 'memory', 2000)

  const runs: Array<[string, () => Promise<Rates> | Rates]> = [
    ['raw libsodium: secretbox + sign + verify + open of 1 KiB (baseline, the target\'s)', () => rawLibsodium(COUNT)],
    ['raw libsodium: the channel\'s crypto on its sizes (second baseline)', () => rawChannelCrypto(COUNT)],
    ['secure-channel, direct, in-process pair', () => throughChannel(0, 'memory', COUNT)],
    ['secure-channel, through one relay, in-process pairs', () => throughChannel(1, 'memory', COUNT)],
    ['secure-channel, direct, TCP on loopback', () => throughChannel(0, 'tcp', COUNT)],
    ['secure-channel, through one relay, TCP on loopback', () => throughChannel(1, 'tcp', COUNT)]
  ]
  const only = process.env.BENCH_CASES
  const chosen = runs.filter(([name], i) => i < 2 || !only || name.includes(only))
  const rates: Rates[][] = chosen.map(() => [])
  // Interleaved: every case once per round, so both sides of a ratio see the same load.
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < chosen.length; i++) rates[i]!.push(await chosen[i]![1]())
  }
  const ratio = (i: number, base: number, of: keyof Rates) => median(rates[i]!.map((rate, r) => rate[of] / rates[base]![r]![of]))
  const rows = chosen.map(([name], i) => ({
    case: name,
    'msg/s': Math.round(median(rates[i]!.map((r) => r.wall))),
    'MB/s': ((median(rates[i]!.map((r) => r.wall)) * MESSAGE_BYTES) / 1e6).toFixed(1),
    'vs baseline': ratio(i, 0, 'wall').toFixed(2),
    'vs channel crypto': ratio(i, 1, 'wall').toFixed(2),
    'msg/CPU-s': Math.round(median(rates[i]!.map((r) => r.cpu))),
    'vs baseline, CPU': ratio(i, 0, 'cpu').toFixed(2),
    'vs channel crypto, CPU': ratio(i, 1, 'cpu').toFixed(2)
  }))
  console.table(rows)
  console.log('ratios: median of the per-round ratios; the target (issue 14) is "vs baseline": ≥ 0.9 direct, ≥ 0.8 through one relay')
  console.log('msg/s and its ratios are wall clock; msg/CPU-s and its ratios count this process\'s CPU time only (steadier on a shared machine)')
  console.log(`reproduce: npx tsc -b && BENCH_MESSAGES=${COUNT} BENCH_ROUNDS=${ROUNDS} node bench/dist/secure-channel.js`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
