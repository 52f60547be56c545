// Accounts on real TCP for the flow and attacker tests: every account listens, so later devices
// can find the database by dialling any of them.
import { expect } from 'vitest'
import b4a from 'b4a'
import type { HyphaNode } from '@hypha/node-core'
import { tcpClient, tcpServer } from '@hypha/transport-tcp'
import {
  signUp,
  signIn,
  encodeAuthMessage,
  AUTH_CONTENT_TYPE,
  type Account,
  type AuthMessage,
  type AuthorisationPrompt,
  type SignInOptions,
  type SignUpOptions
} from '@hypha/auth'

// Cheap Argon2id: the KDF itself is tested at full cost in passphrase.test.ts.
export const KDF = { iterations: 1, memoryKiB: 64 }
export const PERSON = 'ada@example.com'
export const PASSPHRASE = 'correct horse battery staple hypha test'

export function accountFixtures(cleanups: Array<() => unknown>) {
  const ports = new WeakMap<Account, number>()

  /** The origin: signs up, listening on TCP. */
  async function origin(extra: Partial<SignUpOptions> = {}): Promise<Account> {
    const server = tcpServer({ port: 0 })
    const account = await signUp({
      passphrase: PASSPHRASE,
      name: PERSON,
      nodeName: 'Laptop',
      kdf: KDF,
      existingAccountCheckMs: 0,
      ...extra,
      transports: [server, ...(extra.transports ?? [])]
    })
    cleanups.push(() => account.close())
    ports.set(account, server.port!)
    return account
  }

  /** A new device (fresh storage unless given) signing in through `via` (accounts it dials). */
  async function device(nodeName: string, via: Account[] = [], extra: Partial<SignInOptions> = {}): Promise<Account> {
    const server = tcpServer({ port: 0 })
    const account = await signIn({
      passphrase: PASSPHRASE,
      name: PERSON,
      nodeName,
      kdf: KDF,
      ...extra,
      transports: [server, ...via.map((a) => dial(a)), ...(extra.transports ?? [])]
    })
    cleanups.push(() => account.close())
    ports.set(account, server.port!)
    return account
  }

  /** A TCP client transport to an account's listener. */
  function dial(account: Account) {
    return tcpClient({ port: ports.get(account)! })
  }

  function port(account: Account): number {
    return ports.get(account)!
  }

  return { origin, device, dial, port }
}

/** The next prompt on `account` (that `filter` accepts). */
export function nextPrompt(account: Account, filter: (p: AuthorisationPrompt) => boolean = () => true) {
  return new Promise<AuthorisationPrompt>((resolve) => {
    const on = (p: AuthorisationPrompt) => {
      if (!filter(p)) return
      account.off('authorisation-request', on)
      resolve(p)
    }
    account.on('authorisation-request', on)
  })
}

/** Asks, waits for the prompt on `approver`, checks the requester shows its code, approves; resolves when writable. */
export async function authorise(approver: Account, newcomer: Account): Promise<AuthorisationPrompt> {
  const prompted = nextPrompt(approver)
  const request = newcomer.requestAuthorisation({ retryMs: 200 })
  const prompt = await prompted
  expect(request.codes.map((c) => c.code)).toContain(prompt.code)
  await prompt.approve()
  await request.done
  return prompt
}

/** Sends any auth message (well-formed or forged) from `account`'s device on its secure channel, as an attacker would. */
export function sendAuth(account: Account, message: AuthMessage, to?: Uint8Array): void {
  account.node.channel.send(encodeAuthMessage(message), { contentType: AUTH_CONTENT_TYPE, to })
}

/** Whether an always-on node holds every block of `account`'s writer core that the account holds. */
export async function relayHoldsWriter(relay: HyphaNode, account: Account): Promise<boolean> {
  const writerKey = account.node.writerKey!
  const { held } = await account.node.writerCoreLength(writerKey)
  return relay.seeded().some((c) => b4a.equals(c.key, writerKey) && c.contiguousLength >= held)
}
