/**
 * The Vite plugin of Hypha (Vite 8): what build.ts does for esbuild, for `vite build`, the dev
 * server (its dependency pre-bundling included) and `vite preview`.
 *
 * ```ts
 * // vite.config.ts
 * import { defineConfig } from 'vite'
 * import { hyphaVitePlugin } from '@hypha/browser/vite'
 *
 * export default defineConfig({ plugins: [hyphaVitePlugin()] })
 * ```
 *
 * - `sodium-native` and `sodium-javascript` (sodium-universal's browser mapping) become a virtual
 *   CommonJS module `module.exports = require(<the shim>).default`: CommonJS so that
 *   sodium-universal's `module.exports = require('sodium-native')` gets the object itself, not
 *   the shim's ES namespace (which has no `crypto_*` of sodium-javascript: "pk must be 32 bytes
 *   long"). The shim's own import of sodium-javascript is left alone (else the shim imports itself).
 * - `events` and `process` come from this package (one copy each); `process` is injected for code
 *   that uses it as a global; `global` is `globalThis`.
 * - An import of a Node-only entry (its package.json `exports` entry maps `browser` to `null`)
 *   fails with an error naming the import, the importer and the browser alternative: Vite's
 *   resolver would take the entry's `default` target (nodeOnlyGuard below).
 *
 * Vite runs two bundlers: the app's plugins do not reach the dev server's dependency pre-bundling
 * (`optimizeDeps`), which has its own Rolldown plugins, define and inject. This plugin sets both.
 * This module never imports esbuild (an optional peer dependency of the `.` entry only).
 */
import { readFileSync, realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'vite'

// Compiled, this module is dist/vite.js next to dist/sodium-shim.js: the installed package's
// own files, never the repository's. (Run from source by a test, the .ts files.)
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
const own = (path: string): string => realpathSync(fileURLToPath(new URL(`${path}${EXT}`, import.meta.url)))

const SODIUM_ID = '\0hypha-sodium'
const SODIUM_RE = /^sodium-(native|javascript)$/
const POLYFILL_RE = /^(events|process)$/

/** The plugin's files and this package's polyfills, as absolute paths. */
function paths() {
  const packageRequire = createRequire(import.meta.url)
  return {
    shim: own('./sodium-shim'),
    // The shim's one import of the real sodium-javascript: the exception to the aliasing.
    shimSodiumJs: own('./sodium/sodium-javascript'),
    events: realpathSync(packageRequire.resolve('events/')),
    process: realpathSync(packageRequire.resolve('process/browser.js'))
  }
}

/**
 * What a browser app uses instead of a Node-only entry, where there is an obvious one (the refusal
 * itself is generic: any package whose `exports` entry maps a browser condition to `null`).
 */
const INSTEAD: Record<string, string> = {
  '@hypha/transport-tcp': "In a browser, use webSocketClient from '@hypha/transport-websocket' or webRtcTransport from '@hypha/transport-webrtc' instead.",
  '@hypha/transport-hyperswarm': "In a browser, use webSocketClient from '@hypha/transport-websocket' or webRtcTransport from '@hypha/transport-webrtc' instead.",
  '@hypha/storage-file': "In a browser, use idbStorage from '@hypha/storage-indexeddb' instead.",
  '@hypha/transport-websocket/server': "In a browser, use webSocketClient from '@hypha/transport-websocket' instead.",
  '@hypha/transport-webrtc/signalling-server': "The signalling server runs in Node; in a browser, use webRtcTransport from '@hypha/transport-webrtc'.",
  '@hypha/transport-webrtc/node-datachannel': "In a browser, use webRtcTransport from '@hypha/transport-webrtc' instead (browsers have WebRTC built in).",
  '@hypha/browser': 'It is a build tool: import it in a Node build script, not in app code.',
  '@hypha/browser/vite': 'It is the Vite plugin: import it in vite.config.ts, not in app code.'
}

/** A bare import: its package name and the `exports` key it asks for ('.' or './sub'). */
const BARE_RE = /^((?:@[^/?#:]+\/)?[^/?#:.\0][^/?#:]*)(\/[^?#]*)?(?:[?#].*)?$/

/**
 * Node-only entries, refused in a browser build. Vite 8's resolver (Rolldown's, oxc-resolver)
 * treats an `exports` condition mapped to `null` as no match and falls through to `default`, so
 * `"browser": null` does not stop it (esbuild, following Node's algorithm, refuses the import).
 * This reads the imported package's package.json as Node's resolution would find it from the
 * importer and applies the null itself.
 */
function nodeOnlyGuard(root: () => string) {
  type PackageJson = { path: string; name?: unknown; exports?: unknown }
  const read = new Map<string, PackageJson | null>()
  const readPackageJson = (path: string): PackageJson | null => {
    let found = read.get(path)
    if (found === undefined) {
      try {
        const { name, exports } = JSON.parse(readFileSync(path, 'utf8')) as Omit<PackageJson, 'path'>
        found = { path, name, exports }
      } catch {
        found = null
      }
      read.set(path, found)
    }
    return found
  }
  /** The package.json Node's resolution reads for `name` from `from`: the importer's own package (a self-reference), else node_modules upwards. */
  const packageJson = (from: string, name: string): PackageJson | null => {
    for (let dir = from; ; dir = dirname(dir)) {
      const own = readPackageJson(join(dir, 'package.json'))
      if (own !== null) {
        if (own.name === name && own.exports !== undefined) return own
        break
      }
      if (dirname(dir) === dir) break
    }
    for (let dir = from; ; dir = dirname(dir)) {
      const found = readPackageJson(join(dir, 'node_modules', name, 'package.json'))
      if (found !== null) return found
      if (dirname(dir) === dir) return null
    }
  }
  /** The condition whose target is null on the way Node's algorithm takes, if any. */
  const nullCondition = (target: unknown, conditions: ReadonlySet<string>): string | undefined | false => {
    if (target === null || typeof target !== 'object' || Array.isArray(target)) return undefined
    for (const [key, value] of Object.entries(target as Record<string, unknown>)) {
      if (key !== 'default' && !conditions.has(key)) continue
      if (value === null) return key
      if (typeof value === 'string' || Array.isArray(value)) return false
      const nested = nullCondition(value, conditions)
      if (nested !== undefined) return nested
    }
    return undefined
  }
  return (source: string, importer: string | undefined, conditions: readonly string[]): void => {
    const match = BARE_RE.exec(source)
    if (match === null || source.startsWith('#')) return
    const name = match[1]!
    const subpath = `.${match[2] ?? ''}`
    const from = importer !== undefined && isAbsolute(importer) ? dirname(stripQuery(importer)) : root()
    const pkg = packageJson(from, name)
    if (pkg === null || pkg.exports === null || typeof pkg.exports !== 'object' || Array.isArray(pkg.exports)) return
    const exportsMap = pkg.exports as Record<string, unknown>
    const keyed = Object.keys(exportsMap).some((key) => key.startsWith('.'))
    const entry = keyed ? exportsMap[subpath] : subpath === '.' ? exportsMap : undefined
    // Vite's `development|production` stands for one of the two: neither is needed to find a null.
    const active = new Set(['import', 'module', 'browser', ...conditions.filter((c) => c !== 'development|production')])
    const condition = nullCondition(entry, active)
    if (typeof condition !== 'string') return
    const instead = INSTEAD[`${name}${subpath === '.' ? '' : subpath.slice(1)}`]
    throw new Error(
      `"${source}" is a Node-only entry and cannot be bundled for the browser (imported by ${importer === undefined ? 'the entry' : stripQuery(importer)}): ` +
        `its package.json (${pkg.path}) maps the "${condition}" condition of exports["${subpath}"] to null.` +
        (instead === undefined ? '' : ` ${instead}`)
    )
  }
}

/** The resolving and loading both pipelines share (Vite's own and its optimizer's Rolldown). */
interface ResolveLoad {
  name: string
  resolveId(source: string, importer: string | undefined): string | null
  load(id: string): string | null
}

function hooks(name: string, files: ReturnType<typeof paths>, sodiumModule: () => string, check?: (source: string, importer: string | undefined) => void): ResolveLoad {
  return {
    name,
    resolveId(source, importer) {
      check?.(source, importer)
      if (SODIUM_RE.test(source)) {
        if (importer !== undefined && stripQuery(importer) === files.shimSodiumJs) return null
        return SODIUM_ID
      }
      if (POLYFILL_RE.test(source)) return source === 'events' ? files.events : files.process
      return null
    },
    load(id) {
      return id === SODIUM_ID ? sodiumModule() : null
    }
  }
}

function stripQuery(id: string): string {
  const query = id.indexOf('?')
  return query === -1 ? id : id.slice(0, query)
}

/**
 * The Vite plugin: `plugins: [hyphaVitePlugin()]` is all a Vite 8 app needs to run Hypha in a
 * browser, in `vite build`, `vite` (the dev server) and `vite preview`.
 */
export function hyphaVitePlugin(): Plugin {
  const files = paths()
  const commonJs = () => `module.exports = require(${JSON.stringify(files.shim)}).default\n`
  let serving = false
  let root = process.cwd()
  // The client environment's conditions, for the optimizer's plugin (which has no environment).
  let clientConditions: readonly string[] = ['browser']
  const guard = nodeOnlyGuard(() => root)
  // The optimizer's plugin: dependencies are bundled, so the CommonJS module works there.
  const optimizer = hooks('hypha-browser:optimize-deps', files, commonJs, (source, importer) => guard(source, importer, clientConditions))
  const main = hooks('hypha-browser', files, commonJs)
  return {
    name: main.name,
    enforce: 'pre',
    // Browser builds only: a server-side environment (SSR) keeps Node's sodium-native and events.
    applyToEnvironment: (environment) => environment.config.consumer === 'client',
    config(_config, env) {
      serving = env.command === 'serve'
      return { define: { global: 'globalThis' } }
    },
    configResolved(config) {
      root = config.root
      clientConditions = config.environments.client?.resolve.conditions ?? config.resolve.conditions
    },
    // The client environment's build and optimizer; a server-side one keeps Node's `process`.
    configEnvironment(name, config) {
      if (name !== 'client' && config.consumer !== 'client') return null
      const inject = { process: files.process }
      return {
        build: { rolldownOptions: { transform: { inject } } },
        // node-core is pre-bundled even when linked (a workspace): its vendored engine is CommonJS.
        optimizeDeps: { include: ['@hypha/node-core'], rolldownOptions: { plugins: [optimizer], transform: { define: { global: 'globalThis' }, inject } } }
      }
    },
    async resolveId(source, importer) {
      // Before anything resolves it: Vite's resolver would take the entry's `default` target.
      guard(source, importer, this.environment.config.resolve.conditions)
      if (serving) {
        // The dev server serves the app's own modules one by one as ES modules, and a module
        // inside node_modules as it is (raw CommonJS): only pre-bundled dependencies may be
        // CommonJS. So the app's own `events` / `process` imports are left to Vite, and its
        // `sodium-native` imports (ES ones: `import sodium from`) become the shim's ES module,
        // which Vite pre-bundles as a dependency of the app.
        if (POLYFILL_RE.test(source)) return null
        if (SODIUM_RE.test(source) && main.resolveId(source, importer) !== null) {
          return this.resolve('@hypha/browser/sodium-shim', importer, { skipSelf: true })
        }
        return null
      }
      return main.resolveId(source, importer)
    },
    load(id) {
      return main.load(id)
    }
  }
}
