import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import b4a from 'b4a'
import { HyphaNode, HyphaNodeError, memoryStorage, type HyphaNodeOptions, type StorageFunction } from '../src/index.js'
import { rootSecret, startNode } from './fixtures/helpers.js'
import { cleanupsAfterEach } from '@hypha/test-utils'

let root: Uint8Array
beforeAll(async () => {
  root = rootSecret()
})

const cleanups = cleanupsAfterEach(afterEach)

const open = (options: HyphaNodeOptions) => startNode(options, cleanups)

const hex = (b: Uint8Array | null) => (b === null ? null : b4a.toString(b, 'hex'))

describe('memory storage', () => {
  // Reopening one memory adapter (entries and identity kept) is in the shared storage suite: integration/test/storage-memory.test.ts.
  it('is the default: a fresh one per node, so a new device and (as an origin) a new database', async () => {
    const storage = memoryStorage()
    const first = await open({ role: 'origin', rootSecret: root, storage })
    await first.put('k', 'v')
    const fresh = await open({ role: 'origin', rootSecret: root })
    expect(hex(fresh.key)).not.toBe(hex(first.key))
    expect(hex(fresh.noiseKeyPair.publicKey)).not.toBe(hex(first.noiseKeyPair.publicKey))
    expect(await fresh.get('k')).toBeNull()
  })
})

describe('memory storage files', () => {
  // random-access-memory 6.2.1's own faults, each fixed in storage/memory.ts.
  type File = {
    read(o: number, s: number, cb: (e: Error | null, d?: Uint8Array) => void): void
    write(o: number, d: Uint8Array, cb: (e: Error | null) => void): void
    del(o: number, s: number, cb: (e: Error | null) => void): void
    truncate(o: number, cb: (e: Error | null) => void): void
    stat(cb: (e: Error | null, st?: { size: number }) => void): void
    close(cb: (e: Error | null) => void): void
  }
  const call = <T = void>(f: (cb: (e: Error | null, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => f((e, v) => (e ? reject(e) : resolve(v as T))))
  const write = (f: File, o: number, d: Uint8Array) => call((cb) => f.write(o, d, cb))
  const read = (f: File, o: number, s: number) => call<Uint8Array>((cb) => f.read(o, s, cb))
  const size = async (f: File) => (await call<{ size: number }>((cb) => f.stat(cb))).size
  const PAGE = 1024 * 1024
  const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte)
  const isZeros = (b: Uint8Array) => b.every((x) => x === 0)

  it('a truncate to a page boundary removes the cut bytes (new RAM; write 10 × 1 at 0; truncate 0; write at 20)', async () => {
    const f = memoryStorage()('f') as File
    await write(f, 0, fill(10, 1))
    await call((cb) => f.truncate(0, cb))
    await write(f, 20, new Uint8Array([2]))
    expect(isZeros(await read(f, 0, 20))).toBe(true)
  })

  it('a truncate removes the cut bytes of every page, not only the first', async () => {
    const f = memoryStorage()('f') as File
    await write(f, 0, fill(PAGE + 100, 7))
    await call((cb) => f.truncate(10, cb))
    await call((cb) => f.truncate(PAGE + 100, cb))
    const grown = await read(f, 0, PAGE + 100)
    expect(b4a.equals(grown.subarray(0, 10), fill(10, 7))).toBe(true)
    expect(isZeros(grown.subarray(10))).toBe(true)
  })

  it('a del in the middle zeroes exactly its range and keeps the size', async () => {
    const f = memoryStorage()('f') as File
    await write(f, 0, fill(2 * PAGE + 100, 5))
    await call((cb) => f.del(10, PAGE + 20, cb))
    expect(await size(f)).toBe(2 * PAGE + 100)
    const after = await read(f, 0, 2 * PAGE + 100)
    expect(b4a.equals(after.subarray(0, 10), fill(10, 5))).toBe(true)
    expect(isZeros(after.subarray(10, PAGE + 30))).toBe(true)
    expect(b4a.equals(after.subarray(PAGE + 30), fill(PAGE + 70, 5))).toBe(true)
  })

  it('a file with a whole page deleted reopens with its data (the same adapter after close)', async () => {
    const storage = memoryStorage()
    const f = storage('f') as File
    await write(f, 0, fill(3 * PAGE, 3))
    await call((cb) => f.del(PAGE, PAGE, cb))
    await call((cb) => f.close(cb))
    const again = storage('f') as File
    expect(await size(again)).toBe(3 * PAGE)
    const data = await read(again, 0, 3 * PAGE)
    expect(b4a.equals(data.subarray(0, PAGE), fill(PAGE, 3))).toBe(true)
    expect(isZeros(data.subarray(PAGE, 2 * PAGE))).toBe(true)
    expect(b4a.equals(data.subarray(2 * PAGE), fill(PAGE, 3))).toBe(true)
    // The reopened file is fixed too.
    await call((cb) => again.truncate(0, cb))
    await write(again, 20, new Uint8Array([2]))
    expect(isZeros(await read(again, 0, 20))).toBe(true)
  })
})

/** Memory storage whose writes fail (as a full disk: code ENOSPC, simulated) once `full.now` is set. */
function fillable(full: { now: boolean }): StorageFunction {
  const memory = memoryStorage()
  return (name) => {
    const file = memory(name) as { write(offset: number, data: Uint8Array, cb: (err: Error | null) => void): void }
    const write = file.write.bind(file)
    file.write = (offset, data, cb) => {
      if (!full.now) return write(offset, data, cb)
      queueMicrotask(() => cb(Object.assign(new Error('ENOSPC: no space left on device (simulated)'), { code: 'ENOSPC' })))
    }
    return file
  }
}

describe('a storage that fails writes', () => {
  it('every write API rejects with ERR_STORAGE (the storage error as cause), as do reads; the error event carries the same', async () => {
    const full = { now: false }
    const node = new HyphaNode({ role: 'origin', rootSecret: root, storage: fillable(full) })
    cleanups.push(() => node.close())
    const errors: unknown[] = []
    node.on('error', (err) => errors.push(err))
    await node.ready()
    await node.put('before', 'kept')
    full.now = true
    const failed = await node.batch([{ type: 'put', key: 'a', value: 'b' }]).then(() => null, (err: unknown) => err)
    expect(failed).toBeInstanceOf(HyphaNodeError)
    expect(failed).toMatchObject({ code: 'ERR_STORAGE', cause: { code: 'ENOSPC' } })
    expect(errors).toEqual([failed])
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['put', () => node.put('x', 'y')],
      ['del', () => node.del('before')],
      ['batch', () => node.batch([{ type: 'del', key: 'before' }])],
      ['addWriter', () => node.addWriter(new Uint8Array(32).fill(5))],
      ['removeWriter', () => node.removeWriter(new Uint8Array(32).fill(5))],
      ['registerDevice', () => node.registerDevice('laptop')],
      ['get', () => node.get('before')],
      ['list', () => node.list()],
      ['update', () => node.update()]
    ]
    for (const [what, call] of calls) {
      const err = await call().then(() => null, (e: unknown) => e)
      expect(err, what).toBe(failed)
    }
  })

  it('a write the storage refuses while the node opens rejects ready() with ERR_STORAGE, the storage error as cause', async () => {
    const node = new HyphaNode({ role: 'origin', rootSecret: root, storage: fillable({ now: true }) })
    cleanups.push(() => node.close())
    const err = await node.ready().then(() => null, (e: unknown) => e)
    expect(err).toBeInstanceOf(HyphaNodeError)
    expect(err).toMatchObject({ code: 'ERR_STORAGE', cause: { code: 'ENOSPC' } })
  })
})
