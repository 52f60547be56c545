import b4a from 'b4a'
import sodium from 'sodium-universal'
import { EphemeralExtension, type EphemeralMessage } from '@hypha/ephemeral-ext'
import {
  ENVELOPE_VERSION,
  SecureChannel,
  SECURE_CONTENT_TYPE,
  assembleEnvelope,
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

  /** Connects two nodes (replication stream + ephemeral channel) and waits until both sides are open. */
  async connect(a: TestNode, b: TestNode, over: 'memory' | 'tcp' = 'memory'): Promise<Connection> {
    const conn = over === 'tcp' ? await connectTcp(a.store, b.store) : connectInProcess(a.store, b.store)
    this.cleanups.push(() => conn.destroy())
    const pa = a.ephemeral.attach(conn.a)
    const pb = b.ephemeral.attach(conn.b)
    await until(() => pa.opened && pb.opened, 10_000, `${a.name}↔${b.name} to open`)
    return conn
  }

  /**
   * A hostile peer connected to `victim`: it speaks the ephemeral protocol directly (with a larger
   * size limit) and returns a function that injects any bytes as a secure-channel frame.
   */
  async hostile(victim: TestNode): Promise<(frame: Uint8Array) => number> {
    const { store } = await createStore()
    const ephemeral = new EphemeralExtension({ discoveryKey: this.discoveryKey, maxPayloadBytes: 64 * 1024 })
    const conn = connectInProcess(store, victim.store)
    this.cleanups.push(async () => {
      conn.destroy()
      ephemeral.close()
      await store.close()
    })
    const peer = ephemeral.attach(conn.a)
    victim.ephemeral.attach(conn.b)
    await until(() => peer.opened, 10_000, 'the hostile peer to connect')
    return (frame) => ephemeral.broadcast(frame, { contentType: SECURE_CONTENT_TYPE })
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

export const text = (s: string) => b4a.from(s)
export const str = (u: Uint8Array) => b4a.toString(u)
