// Throughput of 1 KiB messages through @hypha/secure-channel, against raw libsodium doing the same
// cryptographic work (secretbox + sign on the sender, verify + open on the receiver) in the same run.
import os from 'node:os'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import { SecureChannel, createKeyPair, createChannelKey } from '@hypha/secure-channel'
import { createStore, connectInProcess, connectTcp, until, type Connection } from '@hypha/test-utils'
import { median } from './common.js'

const MESSAGE_BYTES = 1024
const COUNT = Number(process.env.BENCH_MESSAGES ?? 20_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

interface Figure {
  name: string
  messagesPerSecond: number
}

function rawLibsodium(count: number): number {
  const key = createChannelKey()
  const { publicKey, secretKey } = createKeyPair()
  const payload = b4a.alloc(MESSAGE_BYTES, 1)
  const nonce = b4a.alloc(24)
  const box = b4a.alloc(MESSAGE_BYTES + 16)
  const opened = b4a.alloc(MESSAGE_BYTES)
  const signature = b4a.alloc(64)
  const start = performance.now()
  for (let i = 0; i < count; i++) {
    sodium.randombytes_buf(nonce)
    sodium.crypto_secretbox_easy(box, payload, nonce, key)
    sodium.crypto_sign_detached(signature, box, secretKey)
    if (!sodium.crypto_sign_verify_detached(signature, box, publicKey)) throw new Error('verify failed')
    if (!sodium.crypto_secretbox_open_easy(opened, box, nonce, key)) throw new Error('open failed')
  }
  return count / ((performance.now() - start) / 1000)
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
async function throughChannel(relays: number, over: 'memory' | 'tcp', count: number): Promise<number> {
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
  receiver.channel.on('message', () => received++)

  const payload = b4a.alloc(MESSAGE_BYTES, 2)
  const start = performance.now()
  // Windows of 1,000 so the measurement is of steady flow, not of one huge buffered burst.
  for (let sent = 0; sent < count; ) {
    const window = Math.min(1000, count - sent)
    for (let i = 0; i < window; i++) sender.channel.send(payload)
    sent += window
    await until(() => received >= sent - 500, 60_000, 'the receiver to catch up')
  }
  await until(() => received === count, 60_000, 'all messages')
  const rate = count / ((performance.now() - start) / 1000)
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
  await throughChannel(0, 'memory', 2000)

  const runs: Array<[string, () => Promise<number> | number]> = [
    ['raw libsodium: secretbox + sign + verify + open (baseline)', () => rawLibsodium(COUNT)],
    ['secure-channel, direct, in-process pair', () => throughChannel(0, 'memory', COUNT)],
    ['secure-channel, through one relay, in-process pairs', () => throughChannel(1, 'memory', COUNT)],
    ['secure-channel, direct, TCP on loopback', () => throughChannel(0, 'tcp', COUNT)],
    ['secure-channel, through one relay, TCP on loopback', () => throughChannel(1, 'tcp', COUNT)]
  ]
  const only = process.env.BENCH_CASES
  const figures: Figure[] = []
  for (const [name, run] of runs) {
    if (only && name !== runs[0]![0] && !name.includes(only)) continue
    const rates: number[] = []
    for (let r = 0; r < ROUNDS; r++) rates.push(await run())
    figures.push({ name, messagesPerSecond: median(rates) })
  }
  const baseline = figures[0]!.messagesPerSecond
  const rows = figures.map((f) => ({
    case: f.name,
    'msg/s': Math.round(f.messagesPerSecond),
    'MB/s': ((f.messagesPerSecond * MESSAGE_BYTES) / 1e6).toFixed(1),
    'vs baseline': (f.messagesPerSecond / baseline).toFixed(2)
  }))
  console.table(rows)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
