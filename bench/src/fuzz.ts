// One file on purpose (over 400 lines): the fuzzer runs its cases in a worker that is this same
// file, and every decoder's generator sits beside the table it feeds.
// Fuzzes every decoder of Hypha's wire and storage formats with mutated valid encodings and random
// bytes, from a fixed seed so a failure reproduces (issue 12). The CI suite keeps its smaller run
// (packages/auth/test/fuzz.test.ts); this is the large one.
//
// A case is "accepted" (the decoder returned), "rejected" (it threw its documented typed error) or a
// failure: a crash (any other throw — TypeError, RangeError, an untyped Error —, an error thrown or
// a rejection left unhandled outside a decode, a case slower than HANG_MS also when re-run, a case
// the watchdog thread sees run WATCHDOG_MS) or, for the formats that are canonical, an accepted
// input that does not re-encode to the same bytes (decode(x) succeeds ⇒ encode(decode(x)) = x; the
// "re-encode" column). Exits 1 on any failure, after printing the smallest input of each kind as hex.
//
//   node bench/dist/fuzz.js                           100,000 cases per decoder, seed 1
//   BENCH_SEED=7 BENCH_CASES=1000000 node bench/dist/fuzz.js
//   BENCH_REOPEN_CASES=200 node bench/dist/fuzz.js    node reopens per storage file (default 1,000)
//   BENCH_FUZZ_ONLY=decodeOp node bench/dist/fuzz.js  only the decoders whose name holds this
//
// The decoder cases are the same bytes on every run for a seed (fixed keys, ids and nonces). The
// reopen cases mutate files of nodes made at start-up, whose device keys are random: their bytes
// differ from run to run, their mutations do not.
import os from 'node:os'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { decodeFrame, encodeFrame, EphemeralError } from '@hypha/ephemeral-ext'
import {
  assembleEnvelope,
  createKeyPair,
  decodeEnvelope,
  EnvelopeDecodeError,
  openEnvelope,
  sealEnvelope,
  SecureChannelError,
  verifyEnvelope,
  verifyMemberProof,
  memberProof,
  type Envelope
} from '@hypha/secure-channel'
import {
  HyphaNode,
  HyphaNodeError,
  SeedError,
  HeadsError,
  decodeSeedAnnouncement,
  encodeSeedAnnouncement,
  seedKey,
  decodeMemberCredential,
  encodeMemberCredential,
  memoryStorage,
  DEVICE_RECORD_FILE,
  type StorageFunction
} from '@hypha/node-core'
import { AuthError, AuthMessageError, decodeAuthMessage, encodeAuthMessage, signIn, signUp, type AuthMessage } from '@hypha/auth'
// Decoders that the packages' entry points do not export: from their built files (the exports
// map of a package does not apply to a path; these are the same module instances index.js uses).
import { decodeHeads, headsEncoding } from '../../packages/node-core/dist/heads.js'
import { decodeOp, encodeOp, MalformedOpError, type Op } from '../../packages/node-core/dist/engine/ops.js'
import { deviceRecordEncoding, readDeviceRecord } from '../../packages/node-core/dist/device.js'
import { SettledRequests } from '../../packages/auth/dist/settled.js'
import { BENCH_KDF as KDF } from './common.js'

const SEED = Number(process.env.BENCH_SEED ?? 1)
const CASES = Number(process.env.BENCH_CASES ?? 100_000)
const REOPEN_CASES = Number(process.env.BENCH_REOPEN_CASES ?? 1_000)
/**
 * A single decode slower than this, and as slow again when re-run three times, is a crash (close to
 * a hang). A case slow once but fast when re-run was the machine (a shared, loaded one stalls a
 * process for a second at times): counted apart, as a stall.
 */
const HANG_MS = 1_000
let stalls = 0
/** A node reopen slower than this is a crash (a hang). */
const REOPEN_HANG_MS = 15_000
/**
 * The cases run in a worker thread; the main thread is a watchdog: no case finished for this long
 * (a decoder looping forever, which no timer inside the same thread could see) is a hang, reported
 * with the input it was given.
 */
const WATCHDOG_MS = 60_000
const INPUT_ROOM = 1 << 20

/** [cases started, length of the current input]; then the current input's first INPUT_ROOM bytes. */
const shared: SharedArrayBuffer | null = isMainThread ? null : (workerData as { shared: SharedArrayBuffer }).shared
const beat = shared ? new Int32Array(shared, 0, 2) : null
const current = shared ? new Uint8Array(shared, 8) : null

/** Tells the watchdog a case starts, with its input. */
function heartbeat(input: Uint8Array): void {
  if (!beat || !current) return
  current.set(input.subarray(0, INPUT_ROOM))
  beat[1] = input.byteLength
  Atomics.add(beat, 0, 1)
}

/** Output goes through the main thread, in order (a worker's own stdout can lose its last lines at exit). */
function log(line = ''): void {
  if (parentPort) parentPort.postMessage({ line })
  else console.log(line)
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness and mutations

/** xoshiro128** over four 32-bit words, seeded through a splitmix32-style mixer: the same stream for a seed on every machine. */
function prng(seed: number): () => number {
  let s = seed >>> 0
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = split() | 1
  let b = split()
  let c = split()
  let d = split()
  return () => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    return r / 2 ** 32
  }
}
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

type Rand = () => number
const int = (rand: Rand, n: number) => Math.floor(rand() * n)
const pick = <T>(rand: Rand, list: readonly T[]): T => list[int(rand, list.length)]!

function randomBytes(rand: Rand, n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = int(rand, 256)
  return out
}

/** compact-encoding uint forms: the minimal one and every longer (non-minimal) one, and limits. */
function uintForms(rand: Rand): Uint8Array {
  const n = pick(rand, [0, 1, 2, 3, 0x7f, 0x80, 0xfc, 0xfd, 0xff, 0x100, 0xffff, 0x10000, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 64 - 1])
  const small = int(rand, 4)
  const v = rand() < 0.5 ? n : small
  switch (int(rand, 5)) {
    case 0:
      return v <= 0xfc ? b4a.from([v]) : uintForm(0xfe, v)
    case 1:
      return uintForm(0xfd, v)
    case 2:
      return uintForm(0xfe, v)
    case 3:
      return uintForm(0xff, v)
    default:
      return b4a.from([pick(rand, [0xfc, 0xfd, 0xfe, 0xff])]) // a prefix with nothing after it
  }
}
function uintForm(prefix: 0xfd | 0xfe | 0xff, v: number): Uint8Array {
  const width = prefix === 0xfd ? 2 : prefix === 0xfe ? 4 : 8
  const out = new Uint8Array(1 + width)
  out[0] = prefix
  let x = v
  for (let i = 0; i < width; i++) {
    out[1 + i] = x % 256
    x = Math.floor(x / 256)
  }
  return out
}

const BOUNDARY_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfc, 0xfd, 0xfe, 0xff]

/** One mutation of `base`; `others` are other valid encodings, for splicing. */
function mutateOnce(base: Uint8Array, others: readonly Uint8Array[], rand: Rand): Uint8Array {
  const len = base.byteLength
  switch (int(rand, 10)) {
    case 0: {
      // Bit flips.
      const out = b4a.from(base)
      if (len === 0) return out
      const flips = 1 + int(rand, 4)
      for (let i = 0; i < flips; i++) {
        const bit = int(rand, len * 8)
        out[bit >> 3]! ^= 1 << (bit & 7)
      }
      return out
    }
    case 1:
      // Truncation.
      return base.subarray(0, int(rand, len + 1))
    case 2: {
      // Extension: a few bytes or many, random or one repeated.
      const n = rand() < 0.8 ? 1 + int(rand, 8) : 1 + int(rand, 70_000)
      const tail = rand() < 0.5 ? randomBytes(rand, Math.min(n, 512)) : new Uint8Array(n).fill(pick(rand, BOUNDARY_BYTES))
      return b4a.concat([base, tail])
    }
    case 3: {
      // Splice: a prefix of this one, the rest of another.
      const other = pick(rand, others)
      return b4a.concat([base.subarray(0, int(rand, len + 1)), other.subarray(int(rand, other.byteLength + 1))])
    }
    case 4: {
      // A byte set to a boundary value (length prefixes, varint prefixes, flags).
      const out = b4a.from(base)
      if (len > 0) out[int(rand, len)] = pick(rand, BOUNDARY_BYTES)
      return out
    }
    case 5: {
      // A varint-shaped run in place of one byte (or inserted): non-minimal lengths, huge counts.
      const at = int(rand, len + 1)
      const drop = rand() < 0.7 ? 1 : 0
      return b4a.concat([base.subarray(0, at), uintForms(rand), base.subarray(Math.min(len, at + drop))])
    }
    case 6: {
      // Random bytes inserted.
      const at = int(rand, len + 1)
      return b4a.concat([base.subarray(0, at), randomBytes(rand, 1 + int(rand, 16)), base.subarray(at)])
    }
    case 7: {
      // A range deleted.
      const at = int(rand, len + 1)
      return b4a.concat([base.subarray(0, at), base.subarray(Math.min(len, at + 1 + int(rand, 16)))])
    }
    case 8: {
      // A chunk duplicated.
      const at = int(rand, len + 1)
      const n = 1 + int(rand, 40)
      return b4a.concat([base.subarray(0, at + n), base.subarray(at)])
    }
    default: {
      // Random bytes overwritten.
      const out = b4a.from(base)
      const n = 1 + int(rand, 8)
      for (let i = 0; i < n && len > 0; i++) out[int(rand, len)] = int(rand, 256)
      return out
    }
  }
}

/** A case: one to three stacked mutations of a valid encoding, or (one in ten) purely random bytes. */
function makeCase(samples: readonly Uint8Array[], rand: Rand, i: number): Uint8Array {
  if (i < samples.length) return samples[i]! // the valid encodings themselves first
  if (rand() < 0.1) return randomBytes(rand, rand() < 0.9 ? int(rand, 200) : int(rand, 5000))
  let bytes = pick(rand, samples)
  const n = 1 + (rand() < 0.3 ? int(rand, 3) : 0)
  for (let k = 0; k < n; k++) bytes = mutateOnce(bytes, samples, rand)
  return b4a.from(bytes) // a copy: decoders may keep views
}

// ---------------------------------------------------------------------------------------------
// Results

interface Row {
  decoder: string
  cases: number
  accepted: number
  rejected: number
  crashes: number
  /** Accepted inputs that do not re-encode to themselves (canonical formats): failures too. */
  mismatches: number
  ms: number
  note?: string
}

interface Finding {
  decoder: string
  kind: string
  input: Uint8Array
  detail: string
  count: number
  minimized?: boolean
}

const rows: Row[] = []
/** Per decoder and kind of failure: the smallest input seen, and how many there were. */
const findings = new Map<string, Finding>()

function record(decoder: string, kind: string, input: Uint8Array, detail: string): void {
  const id = `${decoder}\u0000${kind}`
  const found = findings.get(id)
  if (!found) findings.set(id, { decoder, kind, input: b4a.from(input), detail, count: 1 })
  else {
    found.count++
    if (input.byteLength < found.input.byteLength) {
      found.input = b4a.from(input)
      found.detail = detail
    }
  }
}

/** What went wrong, in a few words that group alike failures (the error's class and message, numbers masked). */
function describe(err: unknown): string {
  if (err instanceof Error) return `${err.constructor.name}${'code' in err ? ` ${String((err as { code: unknown }).code)}` : ''}: ${err.message}`
  return `non-Error thrown: ${String(err)}`
}
/** Failures alike: the same class, code and message once numbers and hex are masked. */
const kindOf = (detail: string) => detail.replace(/[0-9a-f]{8,}/g, 'HEX').replace(/\d+/g, 'N').slice(0, 160)

// ---------------------------------------------------------------------------------------------
// Synchronous decoders

interface SyncTarget {
  name: string
  samples: Uint8Array[]
  /** Makes a case (default: {@link makeCase} over `samples`). */
  make?(rand: Rand, i: number): Uint8Array
  /** Decodes; returns the bytes the value re-encodes to (compared with the input), or null when there is nothing to compare. */
  decode(bytes: Uint8Array): Uint8Array | null
  /** The decoder's documented error. */
  typed(err: unknown): boolean
  /** The input the round trip is checked against, when it is not the case itself (an inner, sealed plaintext). */
  reference?(bytes: Uint8Array): Uint8Array
  cases?: number
  note?: string
}

const ROUND_TRIP = 'accepted, but does not re-encode to the same bytes'

/** Which way an accepted input re-encodes differently: groups the findings by likely cause. */
function mismatchKind(input: Uint8Array, again: Uint8Array): string {
  if (again.byteLength < input.byteLength && b4a.equals(again, input.subarray(0, again.byteLength))) return `${ROUND_TRIP}: trailing bytes accepted`
  if (again.byteLength < input.byteLength) return `${ROUND_TRIP}: shorter (a non-minimal uint, or a value dropped)`
  if (again.byteLength === input.byteLength) return `${ROUND_TRIP}: same length (a value changed)`
  return `${ROUND_TRIP}: longer`
}

interface Outcome {
  outcome: 'accepted' | 'rejected' | 'crash' | 'mismatch'
  kind: string
  detail: string
}

function classify(target: SyncTarget, input: Uint8Array): Outcome {
  heartbeat(input)
  try {
    const again = target.decode(input)
    const reference = target.reference ? target.reference(input) : input
    if (again !== null && !b4a.equals(again, reference)) return { outcome: 'mismatch', kind: mismatchKind(reference, again), detail: `re-encodes to ${b4a.toString(again, 'hex')}` }
    return { outcome: 'accepted', kind: '', detail: '' }
  } catch (err) {
    if (target.typed(err)) return { outcome: 'rejected', kind: '', detail: '' }
    const detail = describe(err)
    return { outcome: 'crash', kind: kindOf(detail), detail }
  }
}

/**
 * The smallest input still failing the same way: drops chunks, then single bytes, then lowers bytes
 * (delta debugging, bounded). Only for targets whose case is the decoder's input itself.
 */
function minimize(target: SyncTarget, input: Uint8Array, kind: string): Uint8Array {
  let best = input
  let tries = 0
  const same = (candidate: Uint8Array) => tries++ < 5000 && classify(target, candidate).kind === kind
  for (let chunk = Math.max(1, best.byteLength >> 1); chunk >= 1; chunk >>= 1) {
    for (let at = 0; at + chunk <= best.byteLength; ) {
      const candidate = b4a.concat([best.subarray(0, at), best.subarray(at + chunk)])
      if (same(candidate)) best = candidate
      else at += chunk
    }
  }
  for (let i = 0; i < best.byteLength; i++) {
    for (const v of [0, 1]) {
      if (best[i]! <= v) break
      const candidate = b4a.from(best)
      candidate[i] = v
      if (same(candidate)) {
        best = candidate
        break
      }
    }
  }
  return best
}

function runSync(target: SyncTarget): void {
  const rand = prng(SEED ^ hashName(target.name))
  const cases = target.cases ?? CASES
  const row: Row = { decoder: target.name, cases, accepted: 0, rejected: 0, crashes: 0, mismatches: 0, ms: 0, note: target.note }
  const failures = new Map<string, { input: Uint8Array; detail: string }>()
  const start = performance.now()
  for (let i = 0; i < cases; i++) {
    const input = target.make ? target.make(rand, i) : makeCase(target.samples, rand, i)
    const t0 = performance.now()
    const result = classify(target, input)
    const took = performance.now() - t0
    if (result.outcome === 'accepted') row.accepted++
    else if (result.outcome === 'rejected') row.rejected++
    else {
      if (result.outcome === 'crash') row.crashes++
      else row.mismatches++
      const shown = target.reference ? target.reference(input) : input
      record(target.name, result.kind, shown, result.detail)
      const first = failures.get(result.kind)
      if (!first || input.byteLength < first.input.byteLength) failures.set(result.kind, { input, detail: result.detail })
    }
    if (took > HANG_MS) {
      judgeSlow(row, target.name, input, took, Math.min(...[0, 1, 2].map(() => timed(() => classify(target, input)))))
    }
  }
  row.ms = performance.now() - start
  rows.push(row)
  // Each kind of failure, shrunk to its smallest input (outside the timing).
  if (!target.make) {
    for (const [kind, { input }] of failures) {
      const small = minimize(target, input, kind)
      const found = findings.get(`${target.name}\u0000${kind}`)!
      found.input = small
      found.detail = classify(target, small).detail
      found.minimized = true
    }
  }
}

/**
 * A case that took over HANG_MS (`took`) is a crash only if its best of three re-runs (`again`)
 * is as slow; otherwise the machine stalled, and it is only counted as such.
 */
function judgeSlow(row: { crashes: number }, name: string, input: Uint8Array, took: number, again: number): void {
  if (again <= HANG_MS) {
    stalls++
    return
  }
  row.crashes++
  record(name, `slower than ${HANG_MS} ms`, input, `${Math.round(took)} ms, then ${Math.round(again)} ms at best re-run`)
}

function timed(f: () => unknown): number {
  const t = performance.now()
  f()
  return performance.now() - t
}

function hashName(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** compact-encoding's two passes, for an encoding object (the bench has no compact-encoding of its own). */
function encodeWith<T>(encoding: { preencode(s: any, v: T): void; encode(s: any, v: T): void }, value: T): Uint8Array {
  const state = { start: 0, end: 0, buffer: null as Uint8Array | null }
  encoding.preencode(state, value)
  state.buffer = b4a.alloc(state.end)
  encoding.encode(state, value)
  return state.buffer
}
function uint(n: number): Uint8Array {
  return n <= 0xfc ? b4a.from([n]) : n <= 0xffff ? uintForm(0xfd, n) : n <= 0xffffffff ? uintForm(0xfe, n) : uintForm(0xff, n)
}
function str(s: string): Uint8Array {
  const bytes = b4a.from(s)
  return b4a.concat([uint(bytes.byteLength), bytes])
}

const bytes32 = (fill: number) => b4a.alloc(32, fill)
const seq = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff)

// --- ephemeral-ext: frames

const MAX_PAYLOAD = 64 * 1024
const frameSamples = [
  encodeFrame({ contentType: 'text/plain', payload: b4a.from('hello') }),
  encodeFrame({ contentType: 'hypha/secure/1', payload: seq(300) }),
  encodeFrame({ contentType: 'x', payload: new Uint8Array(0) }),
  encodeFrame({ contentType: 'é☃𝄞', payload: seq(70_000).subarray(0, 65_536) }),
  encodeFrame({ contentType: 'a'.repeat(128), payload: seq(3) })
]
const frames: SyncTarget = {
  name: 'ephemeral-ext decodeFrame',
  samples: frameSamples,
  decode(bytes) {
    const frame = decodeFrame(bytes, MAX_PAYLOAD)
    return encodeFrame(frame)
  },
  typed: (err) => err instanceof EphemeralError && typeof err.code === 'string'
}

// --- secure-channel: envelopes, opened envelopes, member proofs

// Fixed keys, ids and nonces: with the seed they make every case the same bytes on every run.
const channelKey = bytes32(0xc1)
const memberKey = bytes32(0xc2)
const senderKeys = createKeyPair(bytes32(0xc3))
const fixedIds = { id: b4a.alloc(16, 0xd1), nonce: b4a.alloc(24, 0xd2) }
const envelopeSamples = [
  sealEnvelope({ channelKey, memberKey, keyPair: senderKeys, contentType: 'text/plain', payload: b4a.from('hi'), ttl: 3, timestamp: 1_700_000_000_000, ...fixedIds }),
  sealEnvelope({ channelKey, memberKey, keyPair: senderKeys, contentType: 'hypha/auth/2', payload: seq(500), ttl: 0, timestamp: 0, recipient: bytes32(5), ...fixedIds }),
  sealEnvelope({ channelKey, memberKey, keyPair: senderKeys, contentType: 'a', payload: new Uint8Array(0), ttl: 255, timestamp: 2 ** 53 - 1, ...fixedIds })
]
const envelopes: SyncTarget = {
  name: 'secure-channel decodeEnvelope',
  samples: envelopeSamples,
  decode(bytes) {
    const e = decodeEnvelope(bytes)
    verifyEnvelope(e) // must not throw on anything decodeEnvelope gives
    return assembleEnvelope(e, { signature: e.signature }, { tag: e.tag })
  },
  typed: (err) => err instanceof EnvelopeDecodeError && typeof err.code === 'string'
}

/**
 * openEnvelope with the right key: the mutations are of the sealed plaintext (sealed again with the
 * right key, so they reach the plaintext decoder), and one case in four of the whole frame.
 */
const PAD_MARKER = 0x80
function plaintextOf(contentType: string, payload: Uint8Array, padTo: number): Uint8Array {
  const body = b4a.concat([str(contentType), payload, b4a.from([PAD_MARKER])])
  return b4a.concat([body, new Uint8Array(Math.max(0, padTo - body.byteLength))])
}
const plaintextSamples = [
  plaintextOf('text/plain', b4a.from('hello'), 256),
  plaintextOf('hypha/heads/1', seq(40), 64),
  plaintextOf('a', new Uint8Array(0), 3),
  plaintextOf('é☃', b4a.from([0x80, 0, 0x80]), 32),
  plaintextOf('b'.repeat(128), seq(10), 1024)
]
const openHeader = { version: 3, id: b4a.alloc(16, 1), sender: senderKeys.publicKey, recipient: null, timestamp: 1_700_000_000_000, nonce: b4a.alloc(24, 2) }
function sealPlaintext(plaintext: Uint8Array): Uint8Array {
  // The frame's header bytes come first (after the ttl): assemble once to learn them.
  const draft = decodeEnvelope(assembleEnvelope({ ...openHeader, ttl: 1, ciphertext: new Uint8Array(16) }, { signature: new Uint8Array(64) }, { tag: new Uint8Array(16) }))
  const key = b4a.alloc(32)
  sodium.crypto_generichash(key, draft.header, channelKey)
  const ciphertext = b4a.alloc(plaintext.byteLength + 16)
  sodium.crypto_secretbox_easy(ciphertext, plaintext, openHeader.nonce, key)
  return assembleEnvelope({ ...openHeader, ttl: 1, ciphertext }, { secretKey: senderKeys.secretKey }, { memberKey })
}
const sealedPlaintexts = new WeakMap<Uint8Array, Uint8Array>()
const opened: SyncTarget = {
  name: 'secure-channel openEnvelope (right key)',
  samples: plaintextSamples,
  make(rand, i) {
    if (i % 4 === 3) return makeCase(envelopeSamples, rand, i) // a whole frame mutated: mostly a MAC failure (null)
    const plaintext = makeCase(plaintextSamples, rand, i)
    const frame = sealPlaintext(plaintext)
    sealedPlaintexts.set(frame, plaintext)
    return frame
  },
  reference: (frame) => sealedPlaintexts.get(frame) ?? frame,
  decode(frame) {
    let e: Envelope
    try {
      e = decodeEnvelope(frame)
    } catch (err) {
      if (sealedPlaintexts.has(frame)) throw new Error(`a frame sealed here did not decode: ${describe(err)}`)
      throw err
    }
    const message = openEnvelope(e, channelKey)
    const plaintext = sealedPlaintexts.get(frame)
    if (!plaintext) {
      if (message === null) throw new NotAccepted() // a mutated frame the MAC refuses (null): a rejection
      return null // opened: nothing to compare
    }
    if (message === null) throw new Error('sealed with the right key, but openEnvelope gave null')
    // What it opened, padded back the same way, is the plaintext sealed.
    const body = b4a.concat([str(message.contentType), message.payload, b4a.from([PAD_MARKER])])
    return b4a.concat([body, new Uint8Array(Math.max(0, plaintext.byteLength - body.byteLength))])
  },
  typed: (err) => err instanceof NotAccepted || (err instanceof EnvelopeDecodeError && typeof err.code === 'string'),
  note: '3 in 4 cases: the plaintext mutated, sealed with the key; null counted as rejected'
}

const proofBinding = { publicKey: bytes32(11), remotePublicKey: bytes32(12), handshakeHash: seq(64, 7) }
const proofPeer = { muxer: { stream: proofBinding } } as any
const expectedProof = memberProof(memberKey, proofBinding.remotePublicKey, proofBinding.publicKey, proofBinding.handshakeHash)
const proofSamples = [b4a.concat([b4a.from([0]), expectedProof]), b4a.concat([b4a.from([1]), expectedProof])]
const proofs: SyncTarget = {
  name: 'secure-channel verifyMemberProof',
  samples: proofSamples,
  decode(message) {
    const result = verifyMemberProof(memberKey, proofPeer, message)
    if (result === null) throw new NotAccepted()
    // Accepted: exactly one of the two valid messages, with the flag it says.
    return b4a.concat([b4a.from([result.request ? 1 : 0]), expectedProof])
  },
  typed: (err) => err instanceof NotAccepted,
  note: 'returns null, counted as rejected'
}
/** verifyMemberProof refuses by returning null: counted as a rejection. */
class NotAccepted extends Error {}

// --- node-core: seed announcements, heads, member credentials, ops, device record

function seedList(keys: Uint8Array[]): Uint8Array {
  return b4a.concat([uint(keys.length), ...keys])
}
const seedListSamples = [seedList([]), seedList([bytes32(1)]), seedList([bytes32(1), bytes32(2), bytes32(3)]), seedList(Array.from({ length: 256 }, (_, i) => bytes32(i)))]
const announceKey = seedKey(memberKey)
/** As encodeSeedAnnouncement seals (nonce ‖ secretbox), with a given nonce instead of a random one. */
function sealList(list: Uint8Array, nonce: Uint8Array): Uint8Array {
  const payload = b4a.alloc(24 + list.byteLength + 16)
  payload.set(nonce.subarray(0, 24))
  sodium.crypto_secretbox_easy(payload.subarray(24), list, payload.subarray(0, 24), announceKey)
  return payload
}
const announcementSamples = [seedList([bytes32(1)]), seedList([bytes32(1), bytes32(2)]), seedList([])].map((list, i) => sealList(list, b4a.alloc(24, i)))
// The same format as the package's own sealing (checked once: it opens with the package's decoder).
if (decodeSeedAnnouncement(encodeSeedAnnouncement([bytes32(1)], memberKey), memberKey).length !== 1) throw new Error('seed announcement sealing differs')
const sealedLists = new WeakMap<Uint8Array, Uint8Array>()
const seeds: SyncTarget = {
  name: 'node-core decodeSeedAnnouncement',
  samples: seedListSamples,
  make(rand, i) {
    if (i % 4 === 3) return makeCase(announcementSamples, rand, i) // the sealed payload mutated: mostly ERR_NOT_A_MEMBER
    const list = makeCase(seedListSamples, rand, i)
    const payload = sealList(list, randomBytes(rand, 24))
    sealedLists.set(payload, list)
    return payload
  },
  reference: (payload) => sealedLists.get(payload) ?? payload,
  decode(payload) {
    const keys = decodeSeedAnnouncement(payload, memberKey)
    for (const key of keys) if (key.byteLength !== 32) throw new Error(`a key of ${key.byteLength} bytes`)
    const list = sealedLists.get(payload)
    if (!list) return null
    if (list.byteLength === 0) throw new Error('an empty list was accepted') // (payloads that short are refused before)
    return seedList(keys)
  },
  typed: (err) => err instanceof SeedError && typeof err.code === 'string',
  note: '3 in 4 cases: the list mutated, then sealed with the member key'
}

function headsOf(n: number): Uint8Array {
  return encodeWith(headsEncoding, Array.from({ length: n }, (_, i) => ({ key: bytes32(i), length: [0, 1, 300, 70_000, 2 ** 32 + 5, 2 ** 53 - 1][i % 6]!, treeHash: bytes32(255 - i) })))
}
const heads: SyncTarget = {
  name: 'node-core decodeHeads',
  samples: [headsOf(0), headsOf(1), headsOf(3), headsOf(6), headsOf(128)],
  decode(bytes) {
    return encodeWith(headsEncoding, decodeHeads(bytes))
  },
  typed: (err) => err instanceof HeadsError && typeof err.code === 'string',
  note: 'from node-core dist/heads.js (not exported)'
}

const credentialSamples = [
  encodeMemberCredential({ topic: bytes32(1), databaseKey: bytes32(2), proof: bytes32(3), memberKey: bytes32(4) }),
  encodeMemberCredential({ topic: seq(32), databaseKey: seq(32, 32), proof: seq(32, 64), memberKey: seq(32, 96) })
]
const hexCases = new WeakMap<Uint8Array, string>()
const credentials: SyncTarget = {
  name: 'node-core decodeMemberCredential',
  samples: credentialSamples,
  make(rand, i) {
    const bytes = makeCase(credentialSamples, rand, i)
    if (i >= credentialSamples.length && rand() < 0.2) {
      // The hex form (what a person pastes): mangled text around valid or mutated hex.
      let text = b4a.toString(bytes, 'hex')
      const r = int(rand, 5)
      if (r === 0) text = text.toUpperCase()
      else if (r === 1) text = ` \n${text}\t `
      else if (r === 2) text = text.slice(0, int(rand, text.length + 1))
      else if (r === 3) text = text.slice(0, int(rand, text.length)) + pick(rand, ['g', 'x', ' ', '0x', 'é', '\u0000', '\uD800']) + text.slice(int(rand, text.length))
      const marker = b4a.from(text) // the case's bytes, for the report
      hexCases.set(marker, text)
      return marker
    }
    return bytes
  },
  decode(input) {
    const text = hexCases.get(input)
    const credential = decodeMemberCredential(text ?? input)
    const again = encodeMemberCredential(credential)
    if (text === undefined) return again
    return b4a.equals(again, b4a.from(text.trim(), 'hex')) ? null : again
  },
  typed: (err) => err instanceof HyphaNodeError && err.code === 'ERR_INVALID_ARGUMENT',
  note: '1 in 5 cases as hex text'
}

const opSamples = [
  encodeOp({ type: 'put', key: b4a.from('key'), value: b4a.concat([b4a.from([1]), b4a.from('value')]) }),
  encodeOp({ type: 'put', key: seq(300), value: b4a.concat([b4a.from([0]), seq(1000)]) }),
  encodeOp({ type: 'del', key: b4a.from('k') }),
  encodeOp({ type: 'add-writer', key: bytes32(1), indexer: true, recovery: false, name: 'laptop', channelKey: bytes32(2), channelProof: b4a.alloc(64, 3), at: 1_700_000_000_000 }),
  encodeOp({ type: 'add-writer', key: bytes32(1), indexer: false, recovery: true, name: '', channelKey: bytes32(0), channelProof: b4a.alloc(64, 0), at: 0 }),
  encodeOp({ type: 'remove-writer', key: bytes32(9), at: 2 ** 40 }),
  encodeOp({ type: 'register-device', name: 'phone ☃', channelKey: bytes32(4), channelProof: b4a.alloc(64, 5), at: 12345 })
] as Uint8Array[]
const ops: SyncTarget = {
  name: 'node-core decodeOp (oplog blocks)',
  samples: opSamples,
  decode(bytes) {
    return encodeOp(decodeOp(bytes) as Op)
  },
  typed: (err) => err instanceof MalformedOpError && err.code === 'ERR_MALFORMED_OP',
  note: 'from node-core dist/engine/ops.js (not exported)'
}

// --- auth: messages and the settled-requests file

const authSamples: Uint8Array[] = (
  [
    { type: 'request', requestId: b4a.alloc(16, 1), nodeName: 'Firefox on Ubuntu', writerKey: bytes32(2), createdAt: 1_700_000_000_000, commitment: bytes32(3), channelProof: b4a.alloc(64, 4) },
    { type: 'challenge', requestId: b4a.alloc(16, 1), requestDigest: bytes32(5), nonce: bytes32(6) },
    { type: 'reveal', requestId: b4a.alloc(16, 1), requestDigest: bytes32(5), approver: bytes32(7), nonce: bytes32(8) },
    { type: 'approve', requestId: b4a.alloc(16, 1), requestDigest: bytes32(5), writerKey: bytes32(2) },
    { type: 'deny', requestId: b4a.alloc(16, 1), requestDigest: bytes32(5), reason: 'not me ☃' },
    { type: 'cancel', requestId: b4a.alloc(16, 1), requestDigest: bytes32(5) },
    { type: 'refuse', requestId: b4a.alloc(16, 1), requestDigest: bytes32(5), reason: 'stale' }
  ] as AuthMessage[]
).map(encodeAuthMessage)
const auth: SyncTarget = {
  name: 'auth decodeAuthMessage',
  samples: authSamples,
  decode(bytes) {
    return encodeAuthMessage(decodeAuthMessage(bytes))
  },
  typed: (err) => err instanceof AuthMessageError && err.code === 'ERR_BAD_AUTH_MESSAGE'
}

// ---------------------------------------------------------------------------------------------
// Asynchronous decoders: from a (fake) file

interface AsyncTarget {
  name: string
  cases: number
  make(rand: Rand, i: number): Uint8Array
  /** Resolves 'accepted', 'rejected' or a round-trip mismatch; throws for a crash. */
  run(bytes: Uint8Array): Promise<'accepted' | 'rejected' | { mismatch: Uint8Array }>
  note?: string
}

async function runAsync(target: AsyncTarget): Promise<void> {
  const rand = prng(SEED ^ hashName(target.name))
  const row: Row = { decoder: target.name, cases: target.cases, accepted: 0, rejected: 0, crashes: 0, mismatches: 0, ms: 0, note: target.note }
  const reopen = target.cases === REOPEN_CASES && target.name.startsWith('reopen')
  const start = performance.now()
  for (let i = 0; i < target.cases; i++) {
    const input = target.make(rand, i)
    heartbeat(input)
    const t0 = performance.now()
    try {
      const outcome = await withHangGuard(target.run(input), reopen ? REOPEN_HANG_MS : HANG_MS * 10)
      if (outcome === 'accepted') row.accepted++
      else if (outcome === 'rejected') row.rejected++
      else {
        row.mismatches++
        record(target.name, mismatchKind(input, outcome.mismatch), input, `re-encodes to ${b4a.toString(outcome.mismatch, 'hex')}`)
      }
    } catch (err) {
      row.crashes++
      const detail = describe(err)
      record(target.name, kindOf(detail), input, detail)
    }
    const took = performance.now() - t0
    if (!reopen && took > HANG_MS) {
      let again = Infinity
      for (let k = 0; k < 3; k++) {
        const t = performance.now()
        await target.run(input).catch(() => {})
        again = Math.min(again, performance.now() - t)
      }
      judgeSlow(row, target.name, input, took, again)
    }
  }
  row.ms = performance.now() - start
  rows.push(row)
}

class Hang extends Error {}
function withHangGuard<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Hang(`no answer in ${ms} ms (a hang)`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

/** A random-access file holding `bytes`, as a storage gives one (stat, read, close). */
function fakeStorage(bytes: Uint8Array) {
  return () => ({
    stat: (cb: (err: Error | null, st?: { size: number }) => void) => cb(null, { size: bytes.byteLength }),
    read: (offset: number, size: number, cb: (err: Error | null, data?: Uint8Array) => void) => {
      if (offset + size > bytes.byteLength) cb(new Error('Could not satisfy length'))
      else cb(null, bytes.subarray(offset, offset + size))
    },
    write: (_o: number, _d: Uint8Array, cb: (err: Error | null) => void) => cb(null),
    close: (cb: (err: Error | null) => void) => cb(null)
  })
}

const deviceRecordSamples = [
  encodeWith(deviceRecordEncoding, { accountId: bytes32(1), databaseKey: bytes32(2), created: true }),
  encodeWith(deviceRecordEncoding, { accountId: seq(32), databaseKey: seq(32, 100), created: false })
]
const deviceRecord: AsyncTarget = {
  name: 'node-core device record (readDeviceRecord)',
  cases: CASES,
  make: (rand, i) => makeCase(deviceRecordSamples, rand, i),
  async run(bytes) {
    try {
      const record = await readDeviceRecord(fakeStorage(bytes) as any)
      if (bytes.byteLength === 0) {
        if (record !== null) throw new Error('an empty file gave a record')
        return 'accepted'
      }
      const again = encodeWith(deviceRecordEncoding, record!)
      return b4a.equals(again, bytes) ? 'accepted' : { mismatch: again }
    } catch (err) {
      if (err instanceof HyphaNodeError && err.code === 'ERR_STORAGE') return 'rejected'
      throw err
    }
  },
  note: 'from node-core dist/device.js (not exported)'
}

function settledFile(entries: Array<[Uint8Array, number]>): Uint8Array {
  return b4a.concat([uint(1), uint(entries.length), ...entries.flatMap(([d, t]) => [d, uint(t)])])
}
const NOW = 1_700_000_000_000
const settledSamples = [
  settledFile([]),
  settledFile([[bytes32(1), NOW + 1000]]),
  settledFile([[bytes32(1), NOW + 1000], [bytes32(2), NOW - 1], [bytes32(3), 2 ** 53 - 1]]),
  settledFile(Array.from({ length: 40 }, (_, i) => [bytes32(i), NOW + i * 1000] as [Uint8Array, number]))
]
const settled: AsyncTarget = {
  name: 'auth settled-requests file (SettledRequests.load)',
  cases: CASES,
  make: (rand, i) => makeCase(settledSamples, rand, i),
  async run(bytes) {
    const record = new SettledRequests({ read: async () => (bytes.byteLength === 0 ? null : bytes), write: async () => {} }, () => NOW)
    await record.load() // must never reject
    if (record.loadError === null) return 'accepted'
    if (!(record.loadError instanceof Error)) throw new Error(`loadError is not an Error: ${String(record.loadError)}`)
    return 'rejected'
  },
  note: 'from auth dist/settled.js; rejected = loadError set'
}

// ---------------------------------------------------------------------------------------------
// Storage files on reopen: a node on memory storage whose file is replaced by mutated bytes

/** A memory storage that remembers every file name it was asked for, so it can be copied. */
function recordingStorage(): { storage: StorageFunction; names: Set<string> } {
  const inner = memoryStorage()
  const names = new Set<string>()
  return { storage: (name: string) => (names.add(name), inner(name)), names }
}

type RAFile = {
  stat(cb: (err: Error | null, st?: { size: number }) => void): void
  read(o: number, n: number, cb: (err: Error | null, d?: Uint8Array) => void): void
  write(o: number, d: Uint8Array, cb: (err: Error | null) => void): void
  truncate(n: number, cb: (err: Error | null) => void): void
  close(cb: (err: Error | null) => void): void
}
const call = <T>(f: (cb: (err: Error | null, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))))

async function readFile(storage: StorageFunction, name: string): Promise<Uint8Array> {
  const file = storage(name) as RAFile
  const size = await call<{ size: number }>((cb) => file.stat(cb)).then((st) => st.size, () => 0)
  const bytes = size === 0 ? new Uint8Array(0) : await call<Uint8Array>((cb) => file.read(0, size, cb))
  await call((cb) => file.close(cb))
  return b4a.from(bytes)
}
async function writeFile(storage: StorageFunction, name: string, bytes: Uint8Array): Promise<void> {
  const file = storage(name) as RAFile
  if (bytes.byteLength > 0) await call((cb) => file.write(0, bytes, cb))
  await call((cb) => file.truncate(bytes.byteLength, cb))
  await call((cb) => file.close(cb))
}

/** Every file of a closed node's storage, to lay down again for each case (cases stay independent). */
async function snapshot(recorded: { storage: StorageFunction; names: Set<string> }): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>()
  for (const name of recorded.names) files.set(name, await readFile(recorded.storage, name))
  return files
}
async function restore(files: Map<string, Uint8Array>, replace: string, bytes: Uint8Array): Promise<StorageFunction> {
  const storage = memoryStorage()
  for (const [name, content] of files) await writeFile(storage, name, name === replace ? bytes : content)
  if (!files.has(replace)) await writeFile(storage, replace, bytes)
  return storage
}

const ROOT = bytes32(42)
const PERSON = 'fuzz@example.com'
const PASSPHRASE = 'fuzzing passphrase for hypha storage files'

/** Closes a node or account quietly, within a bound (a close that never ends is a hang too). */
async function closeQuietly(thing: { close(): Promise<void> } | null): Promise<void> {
  if (thing) await withHangGuard(thing.close(), REOPEN_HANG_MS).catch(() => {})
}

async function reopenTargets(): Promise<AsyncTarget[]> {
  // An origin's storage: for the device record.
  const origin = recordingStorage()
  const first = new HyphaNode({ role: 'origin', rootSecret: ROOT, storage: origin.storage })
  await first.ready()
  await first.put('k', 'v')
  const credential = first.memberCredential
  await first.close()
  const originFiles = await snapshot(origin)
  const record = originFiles.get(DEVICE_RECORD_FILE)!

  // An always-on node's storage, with a kept-cores file listing the origin's core and two more.
  const blind = recordingStorage()
  const keeper = new HyphaNode({ role: 'always-on', memberCredential: credential, storage: blind.storage })
  await keeper.ready()
  await keeper.close()
  const blindFiles = await snapshot(blind)
  const kept = blindFiles.get('hypha-kept-cores')! // the origin's core, kept from the first open
  const keptSamples = [kept, b4a.concat([uint(3), kept.subarray(1), bytes32(7), bytes32(8)]), uint(0)]

  // An account's storage, with an auth-settled device file.
  const person = recordingStorage()
  const account = await signUp({ name: PERSON, passphrase: PASSPHRASE, storage: person.storage, kdf: KDF, nodeName: 'fuzz' } as any)
  await account.close()
  const personFiles = await snapshot(person)
  const now = Date.now()
  const settledOnDisk = [settledFile([[bytes32(1), now + 3_600_000]]), settledFile([[bytes32(1), now + 1000], [bytes32(2), now + 2000]]), settledFile([])]

  const openOutcome = async (node: HyphaNode): Promise<'accepted' | 'rejected'> => {
    try {
      await node.ready()
      return 'accepted'
    } catch (err) {
      if (err instanceof HyphaNodeError && typeof err.code === 'string') return 'rejected'
      throw err
    } finally {
      await closeQuietly(node)
    }
  }

  return [
    {
      name: 'reopen: device record (hypha-device)',
      cases: REOPEN_CASES,
      make: (rand, i) => makeCase([record], rand, i),
      run: async (bytes) => openOutcome(new HyphaNode({ role: 'origin', rootSecret: ROOT, storage: await restore(originFiles, DEVICE_RECORD_FILE, bytes) })),
      note: 'an origin reopened; one node open per case'
    },
    {
      name: 'reopen: kept cores (hypha-kept-cores)',
      cases: REOPEN_CASES,
      make: (rand, i) => makeCase(keptSamples, rand, i),
      async run(bytes) {
        const node = new HyphaNode({ role: 'always-on', memberCredential: credential, storage: await restore(blindFiles, 'hypha-kept-cores', bytes) })
        // A kept core refused again on restart is reported with its SeedError, nothing else.
        let odd: unknown = null
        node.on('seed-refused', (_key: Uint8Array, err: unknown) => {
          if (!(err instanceof SeedError)) odd ??= err
        })
        const outcome = await openOutcome(node)
        if (odd !== null) throw new Error(`seed-refused with something other than a SeedError: ${describe(odd)}`)
        return outcome
      },
      note: 'an always-on node reopened; rejected: never (an unreadable list is ignored)'
    },
    {
      name: 'reopen: settled requests (hypha-file-auth-settled)',
      cases: REOPEN_CASES,
      make: (rand, i) => makeCase(settledOnDisk, rand, i),
      async run(bytes) {
        const storage = await restore(personFiles, 'hypha-file-auth-settled', bytes)
        let opened: Awaited<ReturnType<typeof signIn>> | null = null
        try {
          opened = await signIn({ name: PERSON, passphrase: PASSPHRASE, storage, kdf: KDF, nodeName: 'fuzz' } as any)
          const error = opened.settledRecordError
          if (error !== null && !(error instanceof AuthError && error.code === 'ERR_NODE')) throw new Error(`settledRecordError is not an AuthError: ${describe(error)}`)
          return error === null ? 'accepted' : 'rejected'
        } catch (err) {
          if (opened === null && err instanceof AuthError && typeof err.code === 'string') return 'rejected'
          throw err
        } finally {
          await closeQuietly(opened)
        }
      },
      note: 'signIn on the device; rejected = settledRecordError set'
    }
  ]
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  // Anything thrown outside a decode call (a timer, a stream of a node being closed) is a crash too.
  let stray = 0
  let currentTarget = '(between decoders)'
  process.on('uncaughtException', (err) => {
    stray++
    record(currentTarget, `uncaught: ${kindOf(describe(err))}`, new Uint8Array(0), describe(err))
  })
  process.on('unhandledRejection', (err) => {
    stray++
    record(currentTarget, `unhandled rejection: ${kindOf(describe(err))}`, new Uint8Array(0), describe(err))
  })

  const only = process.env.BENCH_FUZZ_ONLY // a substring of decoder names, to run a few
  const selected = <T extends { name: string }>(t: T) => !only || t.name.includes(only)

  log(`fuzz: seed ${SEED}, ${CASES.toLocaleString('en')} cases per decoder, ${REOPEN_CASES.toLocaleString('en')} per storage file reopened`)
  log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), Node ${process.version}, ${os.platform()} ${os.arch()}\n`)

  log(['decoder'.padEnd(52), 'cases'.padStart(9), 'accepted'.padStart(9), 'rejected'.padStart(9), 'crashes'.padStart(7), 're-encode'.padStart(9), 'time'.padStart(8)].join('  '))
  for (const target of [frames, envelopes, opened, proofs, seeds, heads, credentials, ops, auth].filter(selected)) {
    currentTarget = target.name
    parentPort?.postMessage({ target: target.name })
    runSync(target)
    printRow(rows.at(-1)!)
  }
  for (const target of [deviceRecord, settled].filter(selected)) {
    currentTarget = target.name
    parentPort?.postMessage({ target: target.name })
    await runAsync(target)
    printRow(rows.at(-1)!)
  }
  if (REOPEN_CASES > 0) {
    const targets = (await reopenTargets()).filter(selected)
    for (const target of targets) {
      currentTarget = target.name
      parentPort?.postMessage({ target: target.name })
      await runAsync(target)
      printRow(rows.at(-1)!)
    }
  }
  // Let any late timer or stream error of the last nodes surface.
  await new Promise((resolve) => setTimeout(resolve, 500))

  function printRow(row: Row): void {
    const cells = [
      row.decoder.padEnd(52),
      row.cases.toLocaleString('en').padStart(9),
      row.accepted.toLocaleString('en').padStart(9),
      row.rejected.toLocaleString('en').padStart(9),
      row.crashes.toLocaleString('en').padStart(7),
      row.mismatches.toLocaleString('en').padStart(9),
      `${(row.ms / 1000).toFixed(1)} s`.padStart(8)
    ]
    log(cells.join('  ') + (row.note ? `   (${row.note})` : ''))
  }

  const crashes = rows.reduce((n, r) => n + r.crashes, 0) + stray
  const mismatches = rows.reduce((n, r) => n + r.mismatches, 0)
  const cases = rows.reduce((n, r) => n + r.cases, 0)
  log(`\n${cases.toLocaleString('en')} cases: ${crashes} crashes${stray ? ` (${stray} thrown outside a decode)` : ''}, ${mismatches} accepted inputs that do not re-encode to themselves (both must be 0)`)
  if (stalls > 0) log(`${stalls} case(s) took over ${HANG_MS} ms once but not when re-run: the machine stalled, not counted`)
  if (findings.size > 0) {
    log('\nfindings (the smallest input of each kind):')
    for (const f of findings.values()) {
      const shown = b4a.toString(f.input, 'hex') || '(empty)'
      log(`- ${f.decoder}: ${f.kind} ×${f.count}\n    ${f.minimized ? 'smallest found, shrunk' : 'smallest seen'} (${f.input.byteLength} bytes): ${shown}\n    ${f.detail.slice(0, 400)}`)
    }
  }
  return crashes === 0 && mismatches === 0 ? 0 : 1
}

if (isMainThread) {
  const memory = new SharedArrayBuffer(8 + INPUT_ROOM)
  const beats = new Int32Array(memory, 0, 2)
  const worker = new Worker(new URL(import.meta.url), { workerData: { shared: memory }, env: process.env })
  let target = '(starting)'
  let seen = -1
  let since = Date.now()
  const watchdog = setInterval(() => {
    const n = Atomics.load(beats, 0)
    if (n !== seen) {
      seen = n
      since = Date.now()
      return
    }
    if (Date.now() - since < WATCHDOG_MS) return
    const length = beats[1]!
    const input = new Uint8Array(memory, 8, Math.min(length, INPUT_ROOM))
    console.log(`\nHANG: ${target}: no case finished in ${WATCHDOG_MS / 1000} s`)
    console.log(`    input (${length} bytes${length > INPUT_ROOM ? ', first MiB shown' : ''}): ${b4a.toString(input, 'hex') || '(empty)'}`)
    void worker.terminate().then(() => process.exit(1))
  }, 1000)
  worker.on('message', (m: { line?: string; target?: string; done?: number }) => {
    if (m.line !== undefined) console.log(m.line)
    if (m.target !== undefined) target = m.target
    if (m.done !== undefined) {
      clearInterval(watchdog)
      void worker.terminate().then(() => process.exit(m.done))
    }
  })
  worker.on('error', (err) => {
    console.log(`the fuzzing worker failed: ${err instanceof Error ? err.stack : String(err)}`)
    clearInterval(watchdog)
    process.exit(1)
  })
} else {
  const code = await main()
  parentPort!.postMessage({ done: code })
}
