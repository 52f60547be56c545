// The Hypha demo, as far as the project has come: two nodes of one person exchange end-to-end
// encrypted ephemeral messages through an always-on relay that cannot read them, over real TCP
// connections on 127.0.0.1 that also replicate the database.
import net from 'node:net'
import { once } from 'node:events'
import b4a from 'b4a'
import Corestore from 'corestore'
import RAM from 'random-access-memory'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { EphemeralExtension, type EphemeralMessage } from '@hypha/ephemeral-ext'
import {
  SecureChannel,
  SECURE_CONTENT_TYPE,
  createChannelKey,
  createKeyPair,
  decodeEnvelope,
  type SecureMessage
} from '@hypha/secure-channel'

const short = (key: Uint8Array) => b4a.toString(key, 'hex').slice(0, 8)
const step = (n: number, text: string) => console.log(`\n${n}. ${text}`)

interface DemoNode {
  name: string
  store: any
  core: any
  ephemeral: EphemeralExtension
  channel: SecureChannel
}

async function createNode(name: string, dbKey: Uint8Array | null, channelKey: Uint8Array | null): Promise<DemoNode> {
  const store = new Corestore(RAM.reusable())
  const core = dbKey ? store.get({ key: dbKey }) : store.get({ name: 'db' })
  await core.ready()
  const ephemeral = new EphemeralExtension({ discoveryKey: core.discoveryKey })
  const channel = new SecureChannel({ ephemeral, channelKey, keyPair: channelKey ? createKeyPair() : null })
  return { name, store, core, ephemeral, channel }
}

const sockets: net.Socket[] = []

/** Replicates the store over a Noise-encrypted TCP socket and opens the ephemeral channel on it. */
function attach(node: DemoNode, socket: net.Socket, isInitiator: boolean) {
  sockets.push(socket)
  const stream = node.store.replicate(new NoiseSecretStream(isInitiator, socket))
  stream.on('error', () => {}) // a closing peer is not the demo's concern
  return node.ephemeral.attach(stream)
}

async function main() {
  step(1, 'The always-on relay starts a TCP server on 127.0.0.1. It knows the database key, not the channel key.')
  const channelKey = createChannelKey() // later issues derive it from the passphrase
  const origin = await createNode('laptop', null, channelKey) // creates the database
  const relay = await createNode('always-on', origin.core.key, null)
  relay.core.download({ start: 0, end: -1 }) // an always-on node keeps a full copy, live
  const server = net.createServer((socket) => attach(relay, socket, false))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  console.log(`   relay listening on 127.0.0.1:${port}; can decrypt: ${relay.channel.canDecrypt}`)
  relay.channel.on('relayed', (r) => {
    console.log(`   [relay] forwarded ${r.bytes} bytes from ${short(r.sender)} to ${r.peers} peer(s), ${r.ttl} hops left`)
  })
  const relayFrames: Uint8Array[] = []
  relay.ephemeral.on('message', (m: EphemeralMessage) => {
    if (m.contentType === SECURE_CONTENT_TYPE) relayFrames.push(m.payload)
  })

  step(2, 'Two nodes of the same person (a laptop and a phone) dial the relay; they have no connection to each other.')
  const phone = await createNode('phone', origin.core.key, channelKey)
  const peers = [origin, phone].map((node) => attach(node, net.connect(port, '127.0.0.1'), true))
  while (!peers.every((p) => p.opened) || relay.ephemeral.peers.length < 2) await new Promise((r) => setTimeout(r, 10))
  console.log(`   laptop ${short(origin.channel.publicKey!)} and phone ${short(phone.channel.publicKey!)} connected`)

  step(3, 'The laptop writes to the database; the phone replicates it through the relay.')
  await origin.core.append(b4a.from('first entry'))
  console.log(`   phone reads block 0: "${b4a.toString(await phone.core.get(0))}"`)

  step(4, 'Encrypted ephemeral messages both ways, through the relay.')
  const delivered = (node: DemoNode) =>
    new Promise<SecureMessage>((resolve) => node.channel.once('message', resolve))
  const atPhone = delivered(phone)
  origin.channel.send(b4a.from('Authorise node "Phone"? (a later issue makes this a real request)'), {
    contentType: 'text/plain'
  })
  const m1 = await atPhone
  console.log(`   [phone] from ${short(m1.sender)}: ${b4a.toString(m1.payload)}`)
  const atLaptop = delivered(origin)
  phone.channel.send(b4a.from('Hello laptop, phone here'), { contentType: 'text/plain' })
  const m2 = await atLaptop
  console.log(`   [laptop] from ${short(m2.sender)}: ${b4a.toString(m2.payload)}`)

  step(5, 'What the relay saw: envelopes whose headers it can parse and whose content it cannot open.')
  for (const frame of relayFrames) {
    const envelope = decodeEnvelope(frame)
    console.log(
      `   ${frame.byteLength} bytes, sender ${short(envelope.sender)}, ciphertext ${b4a.toString(envelope.ciphertext, 'hex').slice(0, 24)}…`
    )
  }
  const plaintextLeaked = relayFrames.some((f) => b4a.toString(f, 'latin1').includes('Hello laptop'))
  console.log(`   plaintext visible to the relay: ${plaintextLeaked}; messages it decrypted: ${relay.channel.stats.delivered}`)

  step(6, 'A replayed envelope is refused.')
  const rejected = new Promise<string>((resolve) => phone.channel.once('rejected', (r) => resolve(r.reason)))
  relay.ephemeral.broadcast(relayFrames[0]!, { contentType: SECURE_CONTENT_TYPE })
  console.log(`   phone rejected the replay: ${await rejected}`)

  for (const node of [origin, phone, relay]) {
    node.channel.close()
    node.ephemeral.close()
    await node.store.close()
  }
  for (const socket of sockets) socket.destroy()
  server.close()
  console.log('\nDone: the relay forwarded every message and could read none.')
  if (plaintextLeaked) process.exitCode = 1
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
