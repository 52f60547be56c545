/** Recovery: with the passphrase and the recovery code, a new device becomes a writer alone. */
import b4a from 'b4a'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { HyphaNode, memoryStorage, writerCoreKey } from '@hypha/node-core'
import { randomBytes, type SecureMessage } from '@hypha/secure-channel'
import type { Account } from './account.js'
import { checkAccountOptions, checkTimerMs, type SignInOptions } from './account-options.js'
import { rootSecrets, signIn } from './open-account.js'
import { AuthError, wrapError } from './errors.js'
import {
  RECOVERY_CLAIM_CONTENT_TYPE,
  RECOVERY_CLAIM_WINDOW_MS,
  decodeRecoveryClaim,
  decodeRecoveryCode,
  encodeRecoveryClaim,
  addRecoveryKey,
  generateRecoveryCode,
  recoveryKeyPair
} from './recovery.js'

const DEFAULT_RECOVERY_TIMEOUT_MS = 30_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Options of `recover`: those of `signIn`, the recovery code, and how long to wait for the database. */
export interface RecoverOptions extends SignInOptions {
  /** The recovery code `signUp` gave (or the last `recover` gave). */
  recoveryCode: string
  /** How long to wait for the database to show the recovery key (ms). Default 30 000. */
  recoveryTimeoutMs?: number
}


/**
 * Signs in and makes this device a writer with the recovery code, with no other device online
 * (the database must still be reachable, from an always-on node for example). The code works
 * once: a new one replaces it (`account.recoveryCode`, show it once). Rejects with AuthError
 * `ERR_RECOVERY_CODE_INVALID` (not this account's, or already used) after `recoveryTimeoutMs`.
 */
export async function recover(options: RecoverOptions): Promise<Account> {
  checkAccountOptions(options)
  checkTimerMs(options.recoveryTimeoutMs, 'recoveryTimeoutMs')
  const codeBytes = decodeRecoveryCode(options.recoveryCode)
  const account = await signIn(options)
  try {
    if (!account.writable) await recoverWith(account, codeBytes, options.recoveryTimeoutMs ?? DEFAULT_RECOVERY_TIMEOUT_MS)
    return account
  } catch (err) {
    await account.close()
    throw wrapError(err)
  }
}

async function recoverWith(account: Account, codeBytes: Uint8Array, timeoutMs: number): Promise<void> {
  const node = account.node
  const keyPair = recoveryKeyPair(codeBytes)
  const recoveryWriter = writerCoreKey(keyPair.publicKey)
  // The recovery key writes through a node of its own (its own writer core, in memory), joined
  // to this device's node by an in-process connection: it adds this device, adds a new recovery
  // key and removes itself, and this device's node replicates those ops like any other writer's.
  const helper = new HyphaNode({
    role: 'read-only',
    rootSecret: rootSecrets.get(node)!,
    databaseKey: node.key,
    writerKeyPair: keyPair,
    storage: memoryStorage(),
    now: node.now
  })
  let disconnect = () => {}
  const claim = new ClaimContest(node, keyPair)
  try {
    // A recovery key writes once. Its core holds blocks only if it was used: ask the peers.
    if ((await node.writerCoreLength(recoveryWriter, { waitMs: 1000 })).length > 0) {
      throw new AuthError('ERR_RECOVERY_CODE_INVALID', 'this recovery code was used already')
    }
    await helper.ready()
    disconnect = connectInProcess(node, helper)
    const deadline = Date.now() + timeoutMs
    while (!helper.writable) {
      const known = (await helper.devices().catch(() => [])).find((d) => b4a.equals(d.writerKey, recoveryWriter))
      if (known && !known.active) throw new AuthError('ERR_RECOVERY_CODE_INVALID', 'this recovery code was used already')
      if (Date.now() > deadline) {
        throw new AuthError('ERR_RECOVERY_CODE_INVALID', 'this recovery code is not one of this account’s (or the database did not sync in time)')
      }
      await helper.update().catch(() => {})
      await sleep(50)
    }
    // Claim the code: stop if another device is using it at the same time (see recovery.ts).
    await claim.contest()
    const next = generateRecoveryCode()
    await helper.addWriter(node.writerKey!, {
      name: account.nodeName,
      channelKey: node.channel.publicKey,
      channelProof: node.channelProof()
    })
    await addRecoveryKey(helper, next)
    await helper.removeWriter(recoveryWriter)
    while (!node.writable || (await node.isWriter(recoveryWriter))) {
      if (Date.now() > deadline + timeoutMs) throw new AuthError('ERR_TIMEOUT', 'the recovery did not replicate to this device')
      await node.update().catch(() => {})
      await sleep(20)
    }
    account.recoveryCode = next
    // Let a peer (an always-on node) hold the spent recovery core before the claim stops, so the
    // code is seen as used by the next device that tries it; bounded, there may be no peer at all.
    const until = Date.now() + Math.min(timeoutMs, 5000)
    while (node.peerCount > 0 && Date.now() < until) {
      const { held, peerHeld } = await node.writerCoreLength(recoveryWriter)
      if (peerHeld >= held) break
      await sleep(20)
    }
  } finally {
    claim.stop()
    disconnect()
    await helper.close()
  }
}

/** One device's claim on a recovery code, broadcast on the secure channel (see recovery.ts). */
class ClaimContest {
  private readonly nonce = randomBytes(32)
  private committed = false
  private conflict: AuthError | null = null
  private timer: ReturnType<typeof setInterval> | null = null
  private readonly onMessage = (message: SecureMessage) => {
    if (message.contentType !== RECOVERY_CLAIM_CONTENT_TYPE) return
    const other = decodeRecoveryClaim(message.payload, this.node.key)
    if (!other || !b4a.equals(other.publicKey, this.keyPair.publicKey) || b4a.equals(other.nonce, this.nonce)) return
    if (this.committed) return // ours is being written: the other device stops when it hears ours
    if (other.committed || b4a.compare(other.nonce, this.nonce) < 0) {
      this.conflict = new AuthError('ERR_RECOVERY_CONFLICT', 'another device is using this recovery code right now')
    }
  }

  constructor(
    private readonly node: HyphaNode,
    private readonly keyPair: { publicKey: Uint8Array; secretKey: Uint8Array }
  ) {
    node.channel.on('message', this.onMessage)
  }

  /** Broadcasts the claim for the window; throws ERR_RECOVERY_CONFLICT, else marks it committed. */
  async contest(): Promise<void> {
    this.timer = setInterval(() => this.broadcast(), 200)
    this.broadcast()
    const end = Date.now() + RECOVERY_CLAIM_WINDOW_MS
    while (Date.now() < end && !this.conflict) await sleep(25)
    if (this.conflict) throw this.conflict
    this.committed = true
    this.broadcast()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.node.channel.off('message', this.onMessage)
  }

  private broadcast(): void {
    try {
      this.node.channel.send(encodeRecoveryClaim(this.keyPair, this.node.key, this.nonce, this.committed), {
        contentType: RECOVERY_CLAIM_CONTENT_TYPE
      })
    } catch {
      // Closing.
    }
  }
}

function connectInProcess(a: HyphaNode, b: HyphaNode): () => void {
  const x = new NoiseSecretStream(true, undefined, { keyPair: a.noiseKeyPair })
  const y = new NoiseSecretStream(false, undefined, { keyPair: b.noiseKeyPair })
  x.rawStream.pipe(y.rawStream).pipe(x.rawStream)
  a.addConnection(x, { transport: 'in-process', isInitiator: true })
  b.addConnection(y, { transport: 'in-process', isInitiator: false })
  return () => {
    x.destroy()
    y.destroy()
  }
}
