/**
 * The browser build of Hypha: esbuild with what a bundle of Hypha's browser-safe packages needs.
 *
 * - `sodium-native` and `sodium-javascript` (sodium-universal's browser mapping) become the shim
 *   (sodium-shim.ts): sodium-javascript plus noble ed25519, with the scalarmult function the Noise
 *   handshake needs.
 * - `events` and `process` come from this package (one copy each); `process` is injected for code
 *   that uses it as a global; `global` is `globalThis`.
 *
 * Node-only code is kept out by package.json conditions, not by a list here:
 * - Our packages are browser-clean by construction: a browser-safe entry never imports a Node-only
 *   module, and every Node-only entry (@hypha/transport-tcp, @hypha/transport-hyperswarm,
 *   @hypha/storage-file, @hypha/transport-websocket/server, @hypha/transport-webrtc/
 *   signalling-server and /node-datachannel, this package's own `.`) maps the `browser` export
 *   condition to `null`. esbuild, following Node's resolution of a `null` target, then refuses to
 *   resolve it: importing one into a browser app fails the build. (Vite 8's resolver falls through
 *   to `default` instead; vite.ts refuses them itself.)
 * - Third-party dependencies map their own Node-only modules: hypercore requires
 *   random-access-file at load time, whose `browser` field points at a module that throws when
 *   called (hypercore calls it only for directory storage). No other one is reached.
 * - A Node built-in that the importing package maps to nothing for browsers (no `browser` field
 *   entry, no polyfill dependency) becomes a stub that throws when called, and is listed in the
 *   result's `stubs`: a correct app has none.
 */
// esbuild is an optional peer dependency (a Vite app never needs it): loaded when a bundle is built.
import type * as esbuild from 'esbuild'
import { builtinModules } from 'node:module'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

/** The libsodium shim's source (bundled from source: esbuild compiles it). */
export const SODIUM_SHIM_PATH = fileURLToPath(new URL('../src/sodium-shim.ts', import.meta.url))
/** The shim's one import of the real sodium-javascript (source, and compiled for `./sodium-shim`). */
const SODIUM_JAVASCRIPT_IMPORTERS = new Set(
  ['../src/sodium/sodium-javascript.ts', '../dist/sodium/sodium-javascript.js'].map((path) => fileURLToPath(new URL(path, import.meta.url)))
)
const PROCESS_SHIM_PATH = fileURLToPath(new URL('../src/process-shim.ts', import.meta.url))

const STUB_NAMESPACE = 'hypha-node-builtin'
const SODIUM_NAMESPACE = 'hypha-sodium'
const SKIP = Symbol('hypha-resolving')

export interface BrowserBundleOptions {
  /** The entry module (absolute, or relative to `cwd`). */
  entry: string
  /** Where to write the bundle. Without it nothing is written and the result carries `code`. */
  outfile?: string
  /** Default true. */
  minify?: boolean
  /** Default 'esm'. */
  format?: 'esm' | 'iife'
  /** Default false. */
  sourcemap?: boolean
  /** Default 'es2022'. */
  target?: string | string[]
  /** Directory for relative paths. Default process.cwd(). */
  cwd?: string
  /** Extra esbuild `define`s (merged over `{ global: 'globalThis' }`). */
  define?: Record<string, string>
}

export interface BrowserBundleResult {
  /** The bundle (always present, also when written to `outfile`). */
  code: Uint8Array
  outfile: string | undefined
  /** Size of the bundle in bytes, and gzipped (zlib level 9). */
  bytes: number
  gzipBytes: number
  /** esbuild's metafile: every input module and its size. */
  metafile: esbuild.Metafile
  /** Node built-ins that were replaced by throwing stubs, e.g. ['net']: none for a correct app. */
  stubs: string[]
  warnings: esbuild.Message[]
}

const builtins = new Set(builtinModules.filter((name) => !name.startsWith('_')))

function packageName(path: string): string {
  const parts = path.split('/')
  return path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

/**
 * The esbuild plugin doing the aliasing and stubbing: use it with your own esbuild set-up
 * (together with `inject: [processShimPath]` and `define: { global: 'globalThis' }`, see
 * `browserBuildOptions`).
 */
export function hyphaBrowserPlugin(): esbuild.Plugin {
  const packageRequire = createRequire(new URL('../package.json', import.meta.url))
  return {
    name: 'hypha-browser',
    setup(build) {
      // libsodium: the shim, except for the shim's own import of sodium-javascript.
      build.onResolve({ filter: /^sodium-(native|javascript)$/ }, (args) => {
        if (SODIUM_JAVASCRIPT_IMPORTERS.has(args.importer)) return undefined
        return { path: 'sodium', namespace: SODIUM_NAMESPACE }
      })
      build.onLoad({ filter: /.*/, namespace: SODIUM_NAMESPACE }, () => ({
        // CommonJS, so that sodium-universal's `module.exports = require('sodium-native')` gets
        // the object itself.
        contents: `module.exports = require(${JSON.stringify(SODIUM_SHIM_PATH)}).default`,
        resolveDir: dirname(SODIUM_SHIM_PATH),
        loader: 'js'
      }))

      // One copy of `events` and `process`, this package's.
      build.onResolve({ filter: /^(events|process)$/ }, (args) => ({
        path: packageRequire.resolve(args.path === 'process' ? 'process/browser.js' : 'events/')
      }))

      // Node built-ins nothing maps for browsers: stubs.
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === SKIP) return undefined
        const bare = args.path.replace(/^node:/, '')
        if (!builtins.has(bare) && !builtins.has(packageName(bare))) return undefined
        if (args.path.startsWith('node:')) return { path: bare, namespace: STUB_NAMESPACE }
        // A built-in: keep what the importing package maps it to (browser field, a polyfill
        // dependency such as `buffer`); stub it only if nothing does.
        const resolved = await build.resolve(args.path, {
          importer: args.importer,
          resolveDir: args.resolveDir,
          kind: args.kind,
          pluginData: SKIP
        })
        if (resolved.errors.length === 0) return undefined
        return { path: bare, namespace: STUB_NAMESPACE }
      })
      build.onLoad({ filter: /.*/, namespace: STUB_NAMESPACE }, (args) => ({
        contents:
          `module.exports = function unavailable () {\n` +
          `  throw new Error(${JSON.stringify(`${args.path} is Node-only: not available in a browser build of Hypha`)})\n}\n`,
        loader: 'js'
      }))
    }
  }
}

/** The esbuild options `buildBrowserBundle` uses, for your own build (add `outfile` or `outdir`). */
export function browserBuildOptions(options: BrowserBundleOptions): esbuild.BuildOptions {
  return {
    entryPoints: [options.entry],
    absWorkingDir: options.cwd ?? process.cwd(),
    bundle: true,
    platform: 'browser',
    format: options.format ?? 'esm',
    target: options.target ?? 'es2022',
    minify: options.minify ?? true,
    sourcemap: options.sourcemap ?? false,
    metafile: true,
    logLevel: 'silent',
    // Never read the repository's tsconfig files: their `paths` point untyped modules at
    // declaration files, which must not be bundled.
    tsconfigRaw: {},
    inject: [PROCESS_SHIM_PATH],
    define: { global: 'globalThis', ...options.define },
    plugins: [hyphaBrowserPlugin()]
  }
}

/** esbuild, or an error saying to install it (`code` 'ERR_ESBUILD_MISSING', the import's error as `cause`). */
async function loadEsbuild(): Promise<typeof esbuild> {
  try {
    return await import('esbuild')
  } catch (cause) {
    const error = new Error("buildBrowserBundle needs esbuild, an optional peer dependency of @hypha/browser: npm i -D esbuild", { cause })
    throw Object.assign(error, { code: 'ERR_ESBUILD_MISSING' as const })
  }
}

/**
 * Bundles `entry` for browsers. Throws esbuild's error if the build fails, its message carrying
 * every error with its notes (for a Node-only entry: "explicitly disabled by the package author").
 */
export async function buildBrowserBundle(options: BrowserBundleOptions): Promise<BrowserBundleResult> {
  const esbuild = await loadEsbuild()
  const result = await esbuild
    .build({ ...browserBuildOptions(options), outfile: options.outfile ?? 'bundle.js', write: false })
    .catch(async (err: unknown) => {
      // esbuild's own message names only the unresolved import; the notes say why.
      const errors = (err as Partial<esbuild.BuildFailure>).errors
      if (err instanceof Error && errors?.length) {
        const details = await esbuild.formatMessages(errors, { kind: 'error', color: false })
        err.message = `${err.message}\n${details.join('')}`
      }
      throw err
    })
  const metafile = result.metafile
  if (!metafile) throw new Error('esbuild produced no metafile')
  const output = result.outputFiles.find((file) => file.path.endsWith('.js'))
  if (!output) throw new Error('esbuild produced no JavaScript output')
  if (options.outfile !== undefined) {
    const { mkdir, writeFile } = await import('node:fs/promises')
    for (const file of result.outputFiles) {
      await mkdir(dirname(file.path), { recursive: true })
      await writeFile(file.path, file.contents)
    }
  }
  const stubs = Object.keys(metafile.inputs)
    .filter((input) => input.startsWith(`${STUB_NAMESPACE}:`))
    .map((input) => input.slice(STUB_NAMESPACE.length + 1))
    .sort()
  return {
    code: output.contents,
    outfile: options.outfile === undefined ? undefined : output.path,
    bytes: output.contents.byteLength,
    gzipBytes: gzipSync(output.contents, { level: 9 }).byteLength,
    metafile,
    stubs,
    warnings: result.warnings
  }
}



