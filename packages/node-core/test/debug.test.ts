// @hypha/node-core/debug: what tests and benchmarks may look at, and how it refuses the rest.
import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { cleanupsAfterEach } from '@hypha/test-utils'
import { HyphaNode, type HyphaNodeOptions } from '../src/index.js'
import { appendRawOplog, autobaseOf, corestoreOf, rawStoredBlock } from '../src/debug.js'
import { rootSecret, startNode, expectCode } from './fixtures/helpers.js'

describe('@hypha/node-core/debug', () => {
  let root: Uint8Array
  beforeAll(async () => {
    root = await rootSecret()
  })
  const cleanups = cleanupsAfterEach(afterEach)
  const node = (options: HyphaNodeOptions) => startNode(options, cleanups)

  it('a full node: its Corestore from construction, its Autobase once open, its stored oplog blocks', async () => {
    const unopened = new HyphaNode({ role: 'origin', rootSecret: root })
    cleanups.push(() => unopened.close())
    expect(corestoreOf(unopened)).toBeTruthy()
    await expectCode(() => autobaseOf(unopened), 'ERR_NOT_OPEN')

    const origin = await node({ role: 'origin', rootSecret: root })
    const marker = 'plain words to look for'
    await origin.put('k', marker)
    const base = autobaseOf(origin)
    expect(base.local.length).toBe(1)
    // The Autobase session decrypts; the stored block is ciphertext.
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
    expect(text(await base.local.get(0, { valueEncoding: 'binary' }))).toContain(marker)
    const stored = await rawStoredBlock(origin, origin.writerKey!, 0)
    expect(stored).toBeInstanceOf(Uint8Array)
    expect(text(stored!)).not.toContain(marker)
    expect(await rawStoredBlock(origin, origin.writerKey!, 5)).toBeNull()
    await expectCode(rawStoredBlock(origin, new Uint8Array(3), 0), 'ERR_INVALID_ARGUMENT')
  })

  it('an always-on node has no Autobase and appends nothing; a closed node appends nothing', async () => {
    const origin = await node({ role: 'origin', rootSecret: root })
    const blind = await node({ role: 'always-on', memberCredential: origin.memberCredential })
    expect(autobaseOf(blind)).toBeNull()
    await expectCode(appendRawOplog(blind, [new Uint8Array(1)]), 'ERR_WRONG_ROLE')
    await origin.close()
    await expectCode(appendRawOplog(origin, [new Uint8Array(1)]), 'ERR_CLOSED')
  })

  it('refuses what is not a HyphaNode of this copy of the package', async () => {
    await expectCode(() => corestoreOf({} as HyphaNode), 'ERR_INVALID_ARGUMENT')
  })
})
