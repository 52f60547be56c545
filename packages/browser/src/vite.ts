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
 *
 * Vite runs two bundlers: the app's plugins do not reach the dev server's dependency pre-bundling
 * (`optimizeDeps`), which has its own Rolldown plugins, define and inject. This plugin sets both.
 * This module never imports esbuild (an optional peer dependency of the `.` entry only).
 */
import { realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
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

/** The resolving and loading both pipelines share (Vite's own and its optimizer's Rolldown). */
interface ResolveLoad {
  name: string
  resolveId(source: string, importer: string | undefined): string | null
  load(id: string): string | null
}

function hooks(name: string, files: ReturnType<typeof paths>, sodiumModule: () => string): ResolveLoad {
  return {
    name,
    resolveId(source, importer) {
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
  // The optimizer's plugin: dependencies are bundled, so the CommonJS module works there.
  const optimizer = hooks('hypha-browser:optimize-deps', files, commonJs)
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
