// The Hypha demo: the whole flow on the embedded defaults (memory storage, loopback transports).
// A laptop signs up, a browser-like device signs in with the same passphrase (the always-on node,
// given the laptop's locator, tells it where the database is), asks to be authorised over the
// end-to-end encrypted channel, the laptop approves (same code on both), and both write to one
// database — every message relayed by an always-on node that can read none of it. The passphrase
// lets a device find, read and ask; only an approval by a current writer lets it write.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import b4a from 'b4a'
import { WebSocket } from 'ws'
import { HyphaNode } from '@hypha/node-core'
import { webSocketClient } from '@hypha/transport-websocket'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { tcpClient, tcpServer } from '@hypha/transport-tcp'
import { SECURE_CONTENT_TYPE } from '@hypha/secure-channel'
import type { EphemeralMessage } from '@hypha/ephemeral-ext'
import { signIn, signUp, type KdfParams } from '@hypha/auth'
import { deviceLines, warningTexts } from './format.js'

const PERSON = 'ada@example.com'
// Real Argon2id cost unless HYPHA_DEMO_FAST_KDF is set (the test of this demo sets it).
const KDF: Partial<KdfParams> | undefined = process.env.HYPHA_DEMO_FAST_KDF ? { iterations: 1, memoryKiB: 64 } : undefined

const short = (key: Uint8Array) => b4a.toString(key, 'hex').slice(0, 8)
let stepNumber = 0
const step = (text: string) => console.log(`\n${++stepNumber}. ${text}`)
const show = (text: string) => console.log(`   ${text}`)

async function main() {
  step('Sign up on the laptop: it becomes the origin node and gets a generated passphrase.')
  const started = Date.now()
  const laptop = await signUp({ name: PERSON, nodeName: 'Laptop', kdf: KDF })
  const passphrase = laptop.passphrase!
  show(`passphrase: "${passphrase}" (root secret in ${Date.now() - started} ms, Argon2id)`)
  show(`database key ${short(laptop.node.key)} (the laptop's own random writer key, not from the passphrase), writable: ${laptop.writable}`)
  await laptop.node.put('shopping/1', 'oat milk')
  show('laptop wrote shopping/1 = "oat milk"')

  step('Start the always-on node (TCP + WebSocket on 127.0.0.1) with the locator only.')
  const tcp = tcpServer({ port: 0 })
  const ws = webSocketServer({ port: 0 })
  // account.locator, the member credential: the lookup topic, the database key, a proof only a
  // member can make, and the member key. It lets the always-on node tell signing-in devices where
  // the database is and serve the account's devices only; it reads nothing.
  const alwaysOn = new HyphaNode({ role: 'always-on', memberCredential: laptop.locator, transports: [tcp, ws] })
  await alwaysOn.ready()
  show(`locator ${laptop.locator.slice(0, 16)}… (${laptop.locator.length / 2} bytes, copied from the laptop)`)
  show(`TCP on 127.0.0.1:${tcp.port}, WebSocket on ws://127.0.0.1:${ws.port}; can decrypt: ${alwaysOn.channel.canDecrypt}`)
  alwaysOn.channel.on('relayed', (r) => show(`[always-on] relayed ${r.bytes} bytes from ${short(r.sender)} (content unreadable)`))
  const relayed: Uint8Array[] = []
  alwaysOn.ephemeral.on('message', (m: EphemeralMessage) => {
    if (m.contentType === SECURE_CONTENT_TYPE) relayed.push(m.payload)
  })
  // The laptop dials it: any Transport can be started by hand with the node's context.
  const laptopDial = tcpClient({ port: tcp.port! })
  await laptopDial.start({ topic: laptop.node.topic, keyPair: laptop.node.noiseKeyPair, onConnection: laptop.node.addConnection })

  step('Sign in on "Firefox on Ubuntu 64-bit" with the same passphrase: the always-on node tells it where the database is; read-only.')
  const firefox = await signIn({
    passphrase,
    name: PERSON,
    nodeName: 'Firefox on Ubuntu 64-bit',
    kdf: KDF,
    transports: [webSocketClient({ url: `ws://127.0.0.1:${ws.port}`, WebSocket: WebSocket as any })]
  })
  show(`firefox found database ${short(firefox.node.key)} (a new device: its own random keys)`)
  await waitFor(async () => (await firefox.node.get('shopping/1')) !== null)
  show(`firefox reads shopping/1 = "${await firefox.node.get('shopping/1')}", writable: ${firefox.writable}`)

  step('Firefox asks to be authorised, over the encrypted channel through the always-on node.')
  laptop.on('authorisation-request', async (prompt) => {
    show(`[laptop] Authorise node "${prompt.nodeName}"?  code ${prompt.code}  [Authorise] [Deny]`)
    const warnings = warningTexts(prompt)
    show(`[laptop] warnings: ${warnings.length ? warnings.map((w) => w.text).join(' ') : 'none'}`)
    show('[laptop] the person compares the code and clicks Authorise')
    await prompt.approve()
  })
  const request = firefox.requestAuthorisation({ retryMs: 500 })
  show(`[firefox] waiting for approval; code: ${request.code ?? 'none yet (each approving device makes one with it)'}`)
  // The code is known once an approving device challenged: one per approver, beside its name.
  request.on('code', ({ approverName, code }) => show(`[firefox] this device shows code ${code} beside "${approverName}"`))
  await request.done
  show(`[firefox] writable: ${firefox.writable}`)

  step('Both write; each sees the other’s entries.')
  await firefox.node.put('shopping/2', 'coffee beans')
  await waitFor(async () => (await laptop.node.get('shopping/2')) !== null)
  for (const entry of await laptop.node.list({ gte: 'shopping/', lt: 'shopping0' })) {
    show(`[laptop] ${entry.key} = "${entry.value}"`)
  }

  step('What the always-on node saw.')
  const leaked = relayed.some((frame) => b4a.toString(frame, 'latin1').includes('Firefox'))
  show(`${relayed.length} envelopes relayed, ${alwaysOn.channel.stats.delivered} decrypted, device name visible: ${leaked}`)
  show(`its copy of the database is ciphertext: readable: ${alwaysOn.readable}`)

  step('The device list (the registry in the database), as the laptop sees it, and the recovery code.')
  await waitFor(async () => (await laptop.devices()).some((d) => d.name === 'Firefox on Ubuntu 64-bit'))
  for (const line of deviceLines(await laptop.devices())) show(line)
  show(`recovery code: ${laptop.recoveryCode} (show it once; kept apart from the passphrase, with it a new device becomes a writer when no other is left)`)

  await laptopDial.stop()
  await Promise.all([firefox.close(), laptop.close()])
  await alwaysOn.close()
  if (leaked) process.exitCode = 1
  const fast = KDF ? '?fastkdf=1' : ''
  const byHand = [
    `open http://127.0.0.1:4978/${fast} and "Sign up" as ${PERSON} (a new database: this one was in memory and is gone);`,
    'paste the locator the page shows into the always-on terminal (it then relays and keeps the database);',
    `then open http://localhost:4978/${fast} (another origin: another device) and "Sign in" with the same name and passphrase.`
  ]
  // At a terminal, keep going: start the always-on example serving the web page.
  if (process.stdout.isTTY && process.stdin.isTTY && !process.env.CI) {
    console.log('\nDone. Now do it by hand in two browser tabs (Ctrl-C to stop):')
    byHand.forEach((line) => show(line))
    await serveWebExample()
    return
  }
  console.log('\nDone. To do it by hand in two browser tabs (examples/README.md has more):')
  show('node examples/dist/always-on.js --web examples/web')
  byHand.forEach((line) => show(line))
}

/** Runs the always-on example program serving examples/web (it asks for the locator) until Ctrl-C. */
async function serveWebExample(): Promise<void> {
  const program = fileURLToPath(new URL('./always-on.js', import.meta.url))
  const web = fileURLToPath(new URL('../web', import.meta.url))
  const child = spawn(process.execPath, [program, '--web', web], { stdio: 'inherit' })
  process.once('SIGINT', () => child.kill('SIGINT'))
  await once(child, 'exit')
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000) {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error('the demo timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
