// The relay of relay-load.ts and flood.ts, run in a child process (forked by RelayProcess in
// common.ts) so that its memory and CPU are its own. Env: RELAY_TRANSPORT (tcp | ws), RELAY_KIND
// (node | proof | open | raw, see RelayKind), RELAY_MEMBER_CREDENTIAL (node), RELAY_MEMBER_KEY and
// RELAY_DISCOVERY_KEY (hex; the light kinds). Answers: memory (after a full GC), cpu, state, peak
// (RSS and heap peaks sampled every 50 ms, and the kernel's maxRSS), close. RELAY_UNBATCHED=1: the
// relay's ephemeral extension writes each message at once (batchWrites false: the "before" of
// per-turn batching, same run).
import fs from 'node:fs'
import path from 'node:path'
import { Session } from 'node:inspector'
import b4a from 'b4a'
import { HyphaNode, type TransportContext } from '@hypha/node-core'
import { EphemeralExtension } from '@hypha/ephemeral-ext'
import { SecureChannel, SECURE_CONTENT_TYPE, createKeyPair } from '@hypha/secure-channel'
import { createStore } from '@hypha/test-utils'
import { cpuMs, listener, memoryAfterGc, noop, peakSampler, serveParent, type Kind, type RelayKind, type RelayState } from './common.js'

async function main(): Promise<void> {
  const kind = process.env.RELAY_TRANSPORT as Kind
  const relayKind = process.env.RELAY_KIND as RelayKind
  const unbatched = process.env.RELAY_UNBATCHED === '1'
  const server = listener(kind)
  // Started by the first 'peak' request (flood.ts; its first one resets): process.memoryUsage() every
  // 50 ms was 2–3% of the relay's CPU in relay-load's profile, which never asks for peaks.
  let peaks: ReturnType<typeof peakSampler> | null = null
  let state: () => RelayState
  let close: () => Promise<void>
  let discoveryKey: Uint8Array
  /** Connections the channel closed for abuse, by reason and error code ("rate-limited ERR_RATE_LIMITED"). */
  const drops: Record<string, number> = {}
  const countDrops = (channel: SecureChannel) =>
    channel.on('peer-dropped', ({ reason, error }) => {
      const key = `${reason} ${error.code}`
      drops[key] = (drops[key] ?? 0) + 1
    })

  let gateRefused = 0
  if (relayKind === 'node') {
    const node = new HyphaNode({ role: 'always-on', memberCredential: process.env.RELAY_MEMBER_CREDENTIAL!, transports: [server] })
    await node.ready()
    if (unbatched) node.ephemeral.batchWrites = false
    discoveryKey = node.discoveryKey
    countDrops(node.channel)
    // Connections the membership gate closed (no channel of the node ever ran on them).
    node.on('peer-refused', (error) => {
      const key = `gate ${error.code}`
      drops[key] = (drops[key] ?? 0) + 1
      gateRefused++
    })
    state = () => ({ peerCount: node.peerCount, ephemeralPeers: node.ephemeral.peers.length, stats: { ...node.channel.stats, droppedPeers: node.channel.stats.droppedPeers + gateRefused }, drops })
    close = () => node.close()
  } else {
    discoveryKey = b4a.from(process.env.RELAY_DISCOVERY_KEY!, 'hex')
    const { store } = await createStore()
    const ephemeral = new EphemeralExtension({ discoveryKey, batchWrites: !unbatched })
    let connections = 0
    const context: TransportContext = {
      topic: discoveryKey,
      keyPair: createKeyPair(),
      onConnection: (stream) => {
        connections++
        stream.on('error', noop)
        stream.on('close', () => connections--)
        store.replicate(stream)
        ephemeral.attach(stream)
      }
    }
    if (relayKind === 'raw') {
      // Forwards every secure-channel frame to every other open connection: no check at all.
      const stats = { received: 0, relayed: 0, delivered: 0, rejected: {}, droppedPeers: 0, provenPeers: 0, forwardLimited: 0 }
      ephemeral.on('message', ({ peer, contentType, payload }) => {
        if (contentType !== SECURE_CONTENT_TYPE) return
        stats.received++
        if (ephemeral.broadcast(payload, { contentType, except: peer }) > 0) stats.relayed++
      })
      state = () => ({ peerCount: connections, ephemeralPeers: ephemeral.peers.length, stats, drops })
      close = async () => {
        ephemeral.close()
        await store.close()
      }
    } else {
      const channel = new SecureChannel({
        ephemeral,
        memberKey: b4a.from(process.env.RELAY_MEMBER_KEY!, 'hex'),
        relay: true,
        requireMemberProof: relayKind === 'proof'
      })
      countDrops(channel)
      state = () => ({ peerCount: connections, ephemeralPeers: ephemeral.peers.length, stats: channel.stats, drops })
      close = async () => {
        channel.close()
        ephemeral.close()
        await store.close()
      }
    }
    await server.start(context)
    const stop = close
    close = async () => {
      await server.stop()
      await stop()
    }
  }

  serveParent(
    {
      memory: async () => ({ memory: await memoryAfterGc() }),
      cpu: () => ({ cpuMs: cpuMs() }),
      state: () => state(),
      peak: (msg: { reset: boolean }) => (peaks ??= peakSampler(50)).read(msg.reset),
      // BENCH_RELAY_PROF: the parent profiles the relay over the load run only (not the handshakes).
      'profile-start': () => profiler.start(),
      'profile-stop': (msg: { file: string }) => profiler.stop(msg.file),
      close: () => close()
    },
    { port: server.port, discoveryKey: b4a.toString(discoveryKey, 'hex') }
  )
}

/** A CPU profile of this process between start() and stop(file) (the .cpuprofile format of --cpu-prof). */
const profiler = {
  session: null as Session | null,
  start(): Promise<object> {
    const session = (this.session = new Session())
    session.connect()
    return new Promise((resolve, reject) =>
      session.post('Profiler.enable', () => session.post('Profiler.start', (err) => (err ? reject(err) : resolve({}))))
    )
  },
  stop(file: string): Promise<object> {
    const session = this.session!
    return new Promise((resolve, reject) =>
      session.post('Profiler.stop', (err, result) => {
        if (err) return reject(err)
        fs.mkdirSync(path.dirname(file), { recursive: true })
        fs.writeFileSync(file, JSON.stringify(result.profile))
        session.disconnect()
        resolve({ file })
      })
    )
  }
}

main().catch((err) => {
  console.error('relay process:', err)
  process.exit(1)
})
