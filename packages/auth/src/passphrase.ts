/**
 * From a passphrase and a name to the account's root secret: the only place passphrases are handled.
 *
 *   root secret = Argon2id(passphrase, BLAKE2b-128('hypha/salt/1' ‖ 0x00 ‖ name))   (memory-hard, slow)
 *
 * @hypha/node-core takes the 32-byte root secret and derives the purpose keys from it (its
 * deriveAccountKeys); it never sees a passphrase. Generation of diceware-style passphrases is here
 * too; their strength check is strength.ts.
 *
 * Argon2id runs in hash-wasm (WASM), so Node and browsers produce identical bytes; the test suite
 * checks it against libsodium's crypto_pwhash.
 */
import { argon2id } from 'hash-wasm'
import sodium from 'sodium-universal'
import { ROOT_SECRET_BYTES } from '@hypha/node-core'
import { AuthError } from './errors.js'

/** Argon2id cost. Parallelism is fixed at 1 so libsodium's crypto_pwhash gives the same output. */
export interface KdfParams {
  /** Passes over memory (Argon2 `t`). Default 3. */
  iterations: number
  /** Memory in KiB (Argon2 `m`). Default 65536 (64 MiB). */
  memoryKiB: number
}

/**
 * Default cost: t=3, m=64 MiB, p=1. About 0.3–1 s in a desktop browser, a few hundred ms in Node;
 * within a phone browser's memory budget (libsodium's "interactive" level is t=2, m=64 MiB).
 */
export const DEFAULT_KDF_PARAMS: Readonly<KdfParams> = Object.freeze({ iterations: 3, memoryKiB: 64 * 1024 })

/** Context of the salt derivation. The trailing number is the derivation's version. */
export const SALT_CONTEXT = 'hypha/salt/1'
/** Length of the Argon2id salt derived from the name, in bytes. */
export const SALT_BYTES = 16

const encoder = new TextEncoder()

/** Names and domains: Unicode NFKC, trimmed, lower-cased, so 'Alice ' and 'alice' are the same person. */
export function normaliseName(name: string): string {
  if (typeof name !== 'string') throw new AuthError('ERR_INVALID_ARGUMENT', 'name must be a string')
  const n = name.normalize('NFKC').trim().toLowerCase()
  if (n.length === 0) throw new AuthError('ERR_INVALID_ARGUMENT', 'name must not be empty')
  return n
}

/** Passphrases: NFKC, trimmed, runs of whitespace collapsed to one space (case is kept). */
export function normalisePassphrase(passphrase: string): string {
  if (typeof passphrase !== 'string') throw new AuthError('ERR_INVALID_ARGUMENT', 'passphrase must be a string')
  const p = passphrase.normalize('NFKC').trim().replace(/\s+/g, ' ')
  if (p.length === 0) throw new AuthError('ERR_INVALID_ARGUMENT', 'passphrase must not be empty')
  return p
}

/** The 16-byte Argon2 salt for a person: BLAKE2b-128('hypha/salt/1' ‖ 0x00 ‖ normalised name). */
export function saltFor(name: string): Uint8Array {
  // The context holds no 0 byte, so the 0 separator keeps context and name apart.
  const ctx = encoder.encode(SALT_CONTEXT)
  const label = encoder.encode(normaliseName(name))
  const input = new Uint8Array(ctx.byteLength + 1 + label.byteLength)
  input.set(ctx, 0)
  input.set(label, ctx.byteLength + 1)
  const out = new Uint8Array(SALT_BYTES)
  sodium.crypto_generichash(out, input)
  return out
}

/**
 * The person's 32-byte root secret from their passphrase and name (Argon2id): what
 * `new HyphaNode({ rootSecret })` takes. Keep it secret. Rejects with AuthError
 * `ERR_INVALID_ARGUMENT` (empty passphrase or name, cost out of range) or `ERR_KDF` (Argon2id
 * itself failed, e.g. no memory for the WASM: see `cause`).
 */
export async function deriveRootSecret(
  passphrase: string,
  name: string,
  params: Partial<KdfParams> = {}
): Promise<Uint8Array> {
  const { iterations, memoryKiB } = { ...DEFAULT_KDF_PARAMS, ...params }
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'iterations must be an integer ≥ 1')
  }
  // 8 KiB is libsodium's floor (crypto_pwhash_MEMLIMIT_MIN); 4 GiB is more than a browser can give.
  if (!Number.isInteger(memoryKiB) || memoryKiB < 8 || memoryKiB > 4 * 1024 * 1024) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'memoryKiB must be an integer from 8 to 4194304')
  }
  // Outside the try: bad arguments stay ERR_INVALID_ARGUMENT, only Argon2id's own failure is ERR_KDF.
  const password = encoder.encode(normalisePassphrase(passphrase))
  const salt = saltFor(name)
  try {
    return await argon2id({
      password,
      salt,
      iterations,
      memorySize: memoryKiB,
      parallelism: 1,
      hashLength: ROOT_SECRET_BYTES,
      outputType: 'binary'
    })
  } catch (err) {
    throw new AuthError('ERR_KDF', 'Argon2id failed', { cause: err })
  }
}

/**
 * 256 short, distinct English words: one random byte picks one word (8 bits each, no modulo bias).
 */
export const WORDLIST: readonly string[] = Object.freeze([
  'acid', 'acorn', 'actor', 'adult', 'agent', 'alarm', 'album', 'alert', 'alley', 'amber', 'angle', 'ankle',
  'apple', 'april', 'apron', 'arena', 'armor', 'arrow', 'atlas', 'attic', 'audio', 'autumn', 'avocado', 'bacon',
  'badge', 'bagel', 'baker', 'bamboo', 'banjo', 'barn', 'basil', 'basket', 'beach', 'beard', 'berry', 'bicycle',
  'bison', 'blade', 'blanket', 'bloom', 'board', 'boat', 'bonus', 'boots', 'bottle', 'bracket', 'brain', 'bread',
  'brick', 'bridge', 'brook', 'broom', 'bucket', 'bugle', 'butter', 'cabin', 'cactus', 'camel', 'candle', 'canoe',
  'canyon', 'carbon', 'carpet', 'carrot', 'castle', 'cedar', 'cellar', 'chalk', 'cheese', 'cherry', 'chess', 'chimney',
  'cider', 'circle', 'citrus', 'clover', 'cobalt', 'cocoa', 'coffee', 'comet', 'copper', 'coral', 'cotton', 'cradle',
  'crane', 'crayon', 'cricket', 'crown', 'crystal', 'cube', 'daisy', 'dancer', 'delta', 'desert', 'diary', 'dinner',
  'dolphin', 'donkey', 'dragon', 'drum', 'eagle', 'easel', 'echo', 'eclipse', 'elbow', 'ember', 'engine', 'falcon',
  'feather', 'fence', 'fern', 'ferry', 'fiddle', 'finch', 'flame', 'flute', 'forest', 'fossil', 'fox', 'galaxy',
  'garden', 'garlic', 'geyser', 'ginger', 'glacier', 'globe', 'goat', 'granite', 'grape', 'gravel', 'guitar', 'hammer',
  'harbor', 'harvest', 'hazel', 'helmet', 'heron', 'hill', 'honey', 'horizon', 'hornet', 'igloo', 'island', 'ivory',
  'jacket', 'jaguar', 'jasmine', 'jelly', 'jigsaw', 'jungle', 'kayak', 'kettle', 'kiwi', 'koala', 'ladder', 'lagoon',
  'lantern', 'laptop', 'lemon', 'lentil', 'lily', 'linen', 'lizard', 'lobster', 'magnet', 'mango', 'maple', 'marble',
  'meadow', 'melon', 'meteor', 'mint', 'mirror', 'monkey', 'moose', 'mosaic', 'muffin', 'napkin', 'nectar', 'needle',
  'nest', 'noodle', 'nutmeg', 'oasis', 'ocean', 'olive', 'onion', 'orbit', 'orchid', 'otter', 'oven', 'owl',
  'paddle', 'palace', 'panda', 'papaya', 'parrot', 'pasta', 'peach', 'pebble', 'pelican', 'pepper', 'piano', 'pillow',
  'pine', 'planet', 'plum', 'pocket', 'pond', 'poppy', 'potato', 'prism', 'pumpkin', 'puzzle', 'quartz', 'quill',
  'rabbit', 'radar', 'radish', 'raven', 'reef', 'ribbon', 'river', 'robin', 'rocket', 'saddle', 'salmon', 'sandal',
  'satin', 'scarf', 'shadow', 'shell', 'silver', 'sketch', 'sled', 'spider', 'sponge', 'squid', 'staple', 'summit',
  'sunset', 'swan', 'tablet', 'tango', 'teapot', 'thistle', 'thunder', 'tiger', 'timber', 'toast', 'tomato', 'tulip',
  'tundra', 'turtle', 'valley', 'velvet'
])

/** Default passphrase length: 10 words × 8 bits = 80 bits of entropy (before Argon2id's cost). */
export const DEFAULT_PASSPHRASE_WORDS = 10

/** A random diceware-style passphrase: `words` words from {@link WORDLIST}, space-separated. */
export function generatePassphrase(words: number = DEFAULT_PASSPHRASE_WORDS): string {
  if (!Number.isInteger(words) || words < 6 || words > 64) {
    throw new AuthError('ERR_INVALID_ARGUMENT', 'words must be an integer from 6 to 64')
  }
  const bytes = new Uint8Array(words)
  sodium.randombytes_buf(bytes)
  return Array.from(bytes, (b) => WORDLIST[b]!).join(' ')
}

/** Bits of entropy of a generated passphrase of `words` words. */
export function passphraseEntropyBits(words: number = DEFAULT_PASSPHRASE_WORDS): number {
  return words * Math.log2(WORDLIST.length)
}
