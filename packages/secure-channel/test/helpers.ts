import b4a from 'b4a'
import sodium from 'sodium-universal'
import { EphemeralExtension, type EphemeralMessage, type EphemeralPeer } from '@hypha/ephemeral-ext'
import {
  ENVELOPE_VERSION,
  SecureChannel,
  SECURE_CONTENT_TYPE,
  MEMBER_PROOF_CONTENT_TYPE,
  assembleEnvelope,
  encodeMemberProof,
  createKeyPair,
  encodeHeader,
  randomBytes,
  type EnvelopeFields,
  type KeyPair,
  type SecureChannelOptions,
  type SecureMessage,
  type Rejection,
  type Relayed
} from '@hypha/secure-channel'
import { createStore, connectInProcess, connectTcp, until, collect, type Connection } from '@hypha/test-utils'

export interface TestNode {
  name: string
  store: any
  ephemeral: EphemeralExtension
  channel: SecureChannel
  keyPair: KeyPair | null
  messages: SecureMessage[]
  rejected: Rejection[]
  relayed: Relayed[]
  /** Every secure-channel frame this node's connections delivered to it, as raw bytes. */
  frames: Uint8Array[]
}

export interface RawPeer {
  ephemeral: EphemeralExtension
  /** Its side of the connection. */
  peer: EphemeralPeer
  /** The victim's side of the connection. */
  victimPeer: EphemeralPeer
  conn: Connection
  /** Secure-channel frames the victim sent it. */
  frames: Uint8Array[]
  /** Membership proof messages the victim sent it. */
  proofs: Uint8Array[]
  inject(frame: Uint8Array): number
  /** Sends bytes as a membership proof message. */
  proof(message: Uint8Array): void
}

/** The member key every test node shares unless a test gives another (a stranger's). */
export const MEMBER_KEY = b4a.alloc(32, 2)

export class Net {
  readonly discoveryKey = b4a.alloc(32, 7)
  readonly channelKey = b4a.alloc(32, 1)
  readonly memberKey = MEMBER_KEY
  private readonly cleanups: Array<() => unknown> = []

  async node(
    name: string,
    options: Partial<Omit<SecureChannelOptions, 'ephemeral'>> & { keyless?: boolean; maxPayloadBytes?: number } = {}
  ): Promise<TestNode> {
    const { store } = await createStore()
    const ephemeral = new EphemeralExtension({ discoveryKey: this.discoveryKey, maxPayloadBytes: options.maxPayloadBytes })
    const keyPair = options.keyless ? null : (options.keyPair ?? createKeyPair())
    const channel = new SecureChannel({
      ...options,
      ephemeral,
      channelKey: options.keyless ? null : (options.channelKey ?? this.channelKey),
      memberKey: options.memberKey ?? this.memberKey,
      keyPair
    })
    const frames: Uint8Array[] = []
    ephemeral.on('message', (m: EphemeralMessage) => {
      if (m.contentType === SECURE_CONTENT_TYPE) frames.push(m.payload)
    })
    this.cleanups.push(async () => {
      channel.close()
      ephemeral.close()
      await store.close()
    })
    return {
      name,
      store,
      ephemeral,
      channel,
      keyPair,
      messages: collect(channel, 'message'),
      rejected: collect(channel, 'rejected'),
      relayed: collect(channel, 'relayed'),
      frames
    }
  }

  /**
   * Connects two nodes (replication stream + ephemeral channel) and waits until both sides are open
   * and, unless `proven: false`, have verified each other's membership proof.
   */
  async connect(a: TestNode, b: TestNode, over: 'memory' | 'tcp' = 'memory', { proven = true } = {}): Promise<Connection> {
    const conn = over === 'tcp' ? await connectTcp(a.store, b.store) : connectInProcess(a.store, b.store)
    this.cleanups.push(() => conn.destroy())
    const pa = a.ephemeral.attach(conn.a)
    const pb = b.ephemeral.attach(conn.b)
    await until(() => pa.opened && pb.opened, 10_000, `${a.name}↔${b.name} to open`)
    if (proven) {
      await until(() => a.channel.isProven(pa) && b.channel.isProven(pb), 10_000, `${a.name}↔${b.name} to prove membership`)
    }
    return conn
  }

  /**
   * The line most relay tests use: nodes A and C, each connected only to a keyless relay R (made
   * with `relayOptions`), all proven.
   */
  async line(relayOptions: Partial<Omit<SecureChannelOptions, 'ephemeral'>> = {}): Promise<{ a: TestNode; relay: TestNode; c: TestNode }> {
    const a = await this.node('A')
    const relay = await this.node('R', { keyless: true, ...relayOptions })
    const c = await this.node('C')
    await this.connect(a, relay)
    await this.connect(relay, c)
    return { a, relay, c }
  }

  /**
   * A hostile peer connected to `victim`: it speaks the ephemeral protocol directly (with a larger
   * size limit) and returns a function that injects any bytes as a secure-channel frame. With
   * `memberKey` (default: the account's, a member gone bad) it first sends a membership proof made
   * with it and waits until the victim accepts it; with `memberKey: null` (a stranger) it sends none.
   */
  async hostile(victim: TestNode, { memberKey = MEMBER_KEY as Uint8Array | null } = {}): Promise<(frame: Uint8Array) => number> {
    const raw = await this.rawPeer(victim)
    if (memberKey) {
      raw.proof(encodeMemberProof(memberKey, raw.peer, false)!)
      if (b4a.equals(memberKey, this.memberKey)) {
        await until(() => victim.channel.isProven(raw.victimPeer), 10_000, 'the victim to accept the hostile peer\'s proof')
      }
    }
    return raw.inject
  }

  /** A peer speaking the ephemeral protocol directly to `victim`, with no secure channel: it proves nothing unless told to. */
  async rawPeer(victim: TestNode): Promise<RawPeer> {
    const { store } = await createStore()
    const ephemeral = new EphemeralExtension({ discoveryKey: this.discoveryKey, maxPayloadBytes: 64 * 1024 })
    const frames: Uint8Array[] = []
    const proofs: Uint8Array[] = []
    ephemeral.on('message', (m: EphemeralMessage) => {
      if (m.contentType === SECURE_CONTENT_TYPE) frames.push(m.payload)
      if (m.contentType === MEMBER_PROOF_CONTENT_TYPE) proofs.push(m.payload)
    })
    const conn = connectInProcess(store, victim.store)
    this.cleanups.push(async () => {
      conn.destroy()
      ephemeral.close()
      await store.close()
    })
    const peer = ephemeral.attach(conn.a)
    const victimPeer = victim.ephemeral.attach(conn.b)
    await until(() => peer.opened && victimPeer.opened, 10_000, 'the hostile peer to connect')
    return {
      ephemeral,
      peer,
      victimPeer,
      conn,
      frames,
      proofs,
      inject: (frame) => ephemeral.broadcast(frame, { contentType: SECURE_CONTENT_TYPE }),
      proof: (message) => ephemeral.send(peer, message, { contentType: MEMBER_PROOF_CONTENT_TYPE })
    }
  }

  async destroy(): Promise<void> {
    while (this.cleanups.length) await this.cleanups.pop()!()
  }
}

/**
 * Builds an envelope from any fields and signs it with any key: how an attacker with the code would
 * (tagged with the test member key unless another is given: an attacker who is a member).
 */
export function craft(fields: EnvelopeFields, signer: KeyPair, signature?: Uint8Array, memberKey = MEMBER_KEY): Uint8Array {
  return assembleEnvelope(fields, signature ? { signature } : { secretKey: signer.secretKey }, { memberKey })
}

/**
 * An envelope sealing `plaintext` exactly as given (sealEnvelope only seals what it encodes
 * itself): what a key holder could send that sealEnvelope never would.
 */
export function sealRaw(channelKey: Uint8Array, signer: KeyPair, plaintext: Uint8Array, timestamp = Date.now()): Uint8Array {
  const header = { version: ENVELOPE_VERSION, id: randomBytes(16), sender: signer.publicKey, recipient: null, timestamp, nonce: randomBytes(24) }
  const boxKey = b4a.alloc(32)
  sodium.crypto_generichash(boxKey, encodeHeader(header), channelKey)
  const ciphertext = b4a.alloc(plaintext.byteLength + 16)
  sodium.crypto_secretbox_easy(ciphertext, plaintext, header.nonce, boxKey)
  return craft({ ...header, ttl: 4, ciphertext }, signer)
}

/** The reasons of everything `node` rejected, in order. */
export const reasons = (node: TestNode) => node.rejected.map((r) => r.reason)

export const text = (s: string) => b4a.from(s)
export const str = (u: Uint8Array) => b4a.toString(u)
