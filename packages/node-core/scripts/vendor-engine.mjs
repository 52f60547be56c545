#!/usr/bin/env node
// Vendors the engine (autobase, hyperbee, corestore, hypercore and their pure-JS dependencies) into
// vendor/engine.cjs, with the exact versions of this repository's lockfile.
//
// Why: an app's tree decides what `require('hyperbee')` inside a hoisted autobase resolves to, so a
// hyperbee 2.27 anywhere in the app (it needs hypercore 11) crashed autobase 6.5 at open. Code inside
// node-core's own file cannot be re-resolved by npm, pnpm or yarn.
//
// Left outside (plain `require`s, so node-core depends on them): what differs per platform or is
// native (a `browser` field, export conditions, addons: bundlers and Node must still pick the right
// file), and what must be one shared copy with Hypha's other packages (protomux,
// @hyperswarm/secret-stream, the random-access storages). `events` is Node's built-in or the npm
// polyfill. Any other Node built-in reached fails the build: browsers could not run it.
// A package node-core itself depends on (compact-encoding; streamx and hypercore-crypto, pinned
// exactly there because @hyperswarm/secret-stream uses them too) is left outside where the engine
// uses that very copy, so browser bundles carry it once (a different copy is bundled). An exact pin
// is as safe as bundling (npm puts only that version where node-core's files resolve it); b4a,
// compact-encoding and sodium-universal keep the caret ranges all Hypha packages share.
//
// The output is CommonJS (the engine is), not minified (apps' bundlers minify), and runs unchanged in
// Node and through esbuild, Vite and Rollup. Its notices: vendor/engine-licenses.txt. It sits beside
// src/ and dist/ (not in dist/), so `../../vendor/engine.cjs` finds it from both: the tests run src.
//
// Usage: node scripts/vendor-engine.mjs   (from any directory; well under a second)
import * as esbuild from 'esbuild'
import { builtinModules } from 'node:module'
import { existsSync, realpathSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))
const OUT_DIR = join(PACKAGE_DIR, 'vendor')
const OUTFILE = join(OUT_DIR, 'engine.cjs')
const NOTICES = join(OUT_DIR, 'engine-licenses.txt')

/** What engine.cjs exports, by the name node-core's engine module (src/engine/holepunch.ts) reads. */
const ROOTS = { Autobase: 'autobase', Hyperbee: 'hyperbee', Corestore: 'corestore', Hypercore: 'hypercore' }

/**
 * Left as `require`s. Each must be a dependency of node-core (checked below), so it resolves from
 * vendor/ in every layout.
 */
const EXTERNALS = [
  // Shared with Hypha's other packages: one copy in the app.
  'protomux',
  '@hyperswarm/secret-stream',
  'random-access-file', // also platform-mapped: its `browser` field is a throwing stub
  'random-access-memory',
  // Per platform (browser field / export conditions / native addon).
  'sodium-universal', // sodium-native, or the browser build's shim
  'b4a',
  'crc-universal',
  'quickbit-universal',
  'queue-tick',
  // Node's built-in, or the `events` package in browsers.
  'events'
]

const pkg = JSON.parse(await readFile(join(PACKAGE_DIR, 'package.json'), 'utf8'))
const undeclared = EXTERNALS.filter((name) => name !== 'events' && !pkg.dependencies?.[name])
if (!pkg.dependencies?.events) undeclared.push('events')
if (undeclared.length > 0) fail(`externals that are not dependencies of ${pkg.name}: ${undeclared.join(', ')}`)

const builtins = new Set(builtinModules.filter((name) => !name.startsWith('_')))
const externals = new Set(EXTERNALS)
const reachedBuiltins = new Set()
const reachedExternals = new Set()
const SKIP = Symbol('resolving')
/** The directory of each of node-core's own dependencies, as resolved from node-core. */
const ownCopies = new Map()
for (const name of Object.keys(pkg.dependencies ?? {})) ownCopies.set(name, installedDir(name, PACKAGE_DIR))

/** Externals as listed (subpaths included); a Node built-in reached from bundled code is an error. */
const boundary = {
  name: 'hypha-engine-boundary',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      const name = packageName(args.path)
      if (externals.has(name)) {
        reachedExternals.add(name)
        return { path: args.path, external: true }
      }
      if (ownCopies.get(name) && args.pluginData !== SKIP) {
        const resolved = await build.resolve(args.path, { importer: args.importer, resolveDir: args.resolveDir, kind: args.kind, pluginData: SKIP })
        if (resolved.errors.length === 0 && realpathSync(packageDirOf(resolved.path)) === ownCopies.get(name)) {
          reachedExternals.add(name)
          return { path: args.path, external: true }
        }
        return undefined
      }
      const bare = args.path.replace(/^node:/, '')
      if (builtins.has(bare) || builtins.has(packageName(bare)) || args.path.startsWith('node:')) {
        reachedBuiltins.add(`${args.path} (from ${relative(PACKAGE_DIR, args.importer)})`)
        return { path: args.path, external: true }
      }
      return undefined
    })
  }
}

const entry =
  '// The engine, vendored by scripts/vendor-engine.mjs.\n' +
  'module.exports = {\n' +
  Object.entries(ROOTS)
    .map(([key, name]) => `  ${key}: require(${JSON.stringify(name)}),\n`)
    .join('') +
  '  versions: require("hypha-engine-versions")\n}\n'

const started = Date.now()
const versionsPlugin = {
  name: 'hypha-engine-versions',
  setup(build) {
    // A placeholder, replaced once the bundle is known: every bundled package with its version.
    build.onResolve({ filter: /^hypha-engine-versions$/ }, () => ({ path: 'versions', namespace: 'hypha-engine-versions' }))
    build.onLoad({ filter: /.*/, namespace: 'hypha-engine-versions' }, () => ({ contents: 'module.exports = __HYPHA_ENGINE_VERSIONS__', loader: 'js' }))
  }
}

let result
try {
  result = await esbuild.build({
    stdin: { contents: entry, resolveDir: PACKAGE_DIR, sourcefile: 'vendor-entry.cjs', loader: 'js' },
    absWorkingDir: PACKAGE_DIR,
    bundle: true,
    // Neutral: no platform's conditions or built-ins are assumed; `main` and the `default` export
    // condition are what every platform shares (platform-specific packages are external above).
    platform: 'neutral',
    mainFields: ['main'],
    format: 'cjs',
    target: 'es2022',
    minify: false,
    legalComments: 'eof',
    metafile: true,
    write: false,
    logLevel: 'silent',
    tsconfigRaw: {},
    outfile: OUTFILE,
    plugins: [versionsPlugin, boundary]
  })
} catch (err) {
  const details = err.errors ? (await esbuild.formatMessages(err.errors, { kind: 'error', color: false })).join('') : ''
  fail(`esbuild failed: ${err.message}\n${details}`)
}

if (reachedBuiltins.size > 0) {
  fail(`the engine reached Node built-ins that browsers lack: ${[...reachedBuiltins].join(', ')}`)
}
if (result.warnings.length > 0) {
  const text = await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false })
  fail(`esbuild warned (a dynamic require would break at run time):\n${text.join('')}`)
}

// Every package whose files went in: name, version, licence and notice, from its package.json.
const bundled = new Map()
for (const input of Object.keys(result.metafile.inputs)) {
  const dir = packageDirOf(input)
  if (dir === null || bundled.has(dir)) continue
  const meta = JSON.parse(await readFile(join(PACKAGE_DIR, dir, 'package.json'), 'utf8'))
  bundled.set(dir, { name: meta.name, version: meta.version, license: meta.license ?? 'UNKNOWN', author: authorOf(meta), dir })
}
const packages = [...bundled.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version, 'en', { numeric: true }))
for (const [key, name] of Object.entries(ROOTS)) {
  if (!packages.some((p) => p.name === name)) fail(`${key} (${name}) is not in the bundle`)
  const wanted = pkg.devDependencies?.[name]
  const got = packages.filter((p) => p.name === name).map((p) => p.version)
  if (wanted === undefined || got.length !== 1 || got[0] !== wanted) {
    fail(`${name}: package.json devDependencies pin ${wanted}, the bundle has ${got.join(', ')} (run pnpm install)`)
  }
}

// name → versions bundled ("a, b" when the engine needs two versions of one package).
const versions = {}
for (const p of packages) versions[p.name] = versions[p.name] ? `${versions[p.name]}, ${p.version}` : p.version

const output = result.outputFiles.find((file) => file.path === OUTFILE)
if (!output) fail('esbuild wrote no engine.cjs')
const banner =
  `// Vendored by @hypha/node-core's scripts/vendor-engine.mjs: do not edit.\n` +
  `// ${Object.values(ROOTS).map((name) => `${name} ${versions[name]}`).join(', ')} and their pure-JS dependencies,\n` +
  `// bundled so that no app's tree can swap them. Licences: engine-licenses.txt beside this file.\n` +
  `// Bundled: ${packages.map((p) => `${p.name}@${p.version}`).join(' ')}\n` +
  `// Required from the app's tree: ${[...reachedExternals].sort().join(' ')}\n`
const code = banner + output.text.replace('__HYPHA_ENGINE_VERSIONS__', JSON.stringify(versions, null, 2))
if (code === banner + output.text) fail('the versions placeholder was not found in the bundle')

const notices = [
  `Third-party software vendored into vendor/engine.cjs of ${pkg.name} ${pkg.version}.`,
  `Each package's copyright and licence notice follows, as its own package ships it.`,
  ''
]
for (const p of packages) {
  notices.push('='.repeat(100), `${p.name}@${p.version} (${p.license})${p.author ? ` by ${p.author}` : ''}`, '-'.repeat(100))
  const file = await licenseFileOf(join(PACKAGE_DIR, p.dir))
  notices.push(file ?? `${p.name} ships no licence file; its package.json declares the licence ${p.license}${p.author ? `, copyright ${p.author}` : ''}.`, '')
}

await mkdir(OUT_DIR, { recursive: true })
// Written aside and renamed: a test run reading the file meanwhile never sees half of it.
for (const [path, text] of [[NOTICES, notices.join('\n')], [OUTFILE, code]]) {
  await writeFile(`${path}.${process.pid}.tmp`, text)
  await rename(`${path}.${process.pid}.tmp`, path)
}
console.log(
  `vendored the engine: ${relative(process.cwd(), OUTFILE)} (${Math.round(code.length / 1024)} KiB, ${packages.length} packages, ${Date.now() - started} ms)`
)

function packageName(path) {
  const parts = path.split('/')
  return path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** The package directory (relative to PACKAGE_DIR) an esbuild input path lies in, or null. */
function packageDirOf(input) {
  if (input.includes(':')) return null // a plugin namespace
  const marker = 'node_modules/'
  const at = input.lastIndexOf(marker)
  if (at === -1) return null
  const rest = input.slice(at + marker.length).split('/')
  const depth = rest[0].startsWith('@') ? 2 : 1
  return input.slice(0, at + marker.length) + rest.slice(0, depth).join('/')
}

/** Where Node would find package `name` from `dir` (real path), or null. */
function installedDir(name, dir) {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate)
    if (dirname(at) === at) return null
  }
}

function authorOf(meta) {
  const a = meta.author
  if (!a) return ''
  return typeof a === 'string' ? a : [a.name, a.email && `<${a.email}>`].filter(Boolean).join(' ')
}

async function licenseFileOf(dir) {
  const names = (await readdir(dir)).filter((name) => /^(licen[cs]e|copying|notice)(\.|$)/i.test(name)).sort()
  if (names.length === 0) return null
  const texts = await Promise.all(names.map((name) => readFile(join(dir, name), 'utf8')))
  return texts.map((text) => text.trimEnd()).join('\n\n')
}

function fail(message) {
  console.error(`vendor-engine: ${message}`)
  process.exit(1)
}

