// The browser bundle an app ships (HyphaNode + @hypha/auth + the WebSocket client + IndexedDB
// storage), minified and gzipped (zlib level 9), beside a baseline built in the same run: the
// engine alone (node-core's vendored autobase, hyperbee, corestore and hypercore with what it
// requires from the app's tree: protomux, secret-stream, sodium through the shim, b4a, events),
// which any Hypha browser app has to ship. Then where the bytes go, per package: minified bytes in
// the output, and each package's marginal gzip cost (the gzipped bundle minus the gzipped bundle
// with that package's bytes cut out, attributed through the source map). Sizes are deterministic:
// one build each, no repetition needed.
//
// Usage: npx tsc -b && node bench/dist/bundle-size.js   (env BENCH_VITE=0 skips the Vite build)

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { Metafile } from 'esbuild'
import { browserBuildOptions, buildBrowserBundle, type BrowserBundleResult } from '@hypha/browser'
import { machineLine, packageOf, runBenchmark, VerificationError } from './common.js'

/** The gzipped-size target of issue 14 (bytes; 1 KB = 1,000 bytes). */
const TARGET_GZIP = 180_000
const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url))
const ENGINE = fileURLToPath(new URL('../../packages/node-core/vendor/engine.cjs', import.meta.url))

/** What a browser app of Hypha imports (bench/ resolves these as an installed app would). */
const APP_ENTRY = `import { HyphaNode } from '@hypha/node-core'
import { idbStorage } from '@hypha/storage-indexeddb'
import { webSocketClient } from '@hypha/transport-websocket'
import { signUp, signIn, deriveRootSecret } from '@hypha/auth'
export { HyphaNode, idbStorage, webSocketClient, signUp, signIn, deriveRootSecret }
`
/** The baseline: the vendored engine alone, with everything it requires. */
const ENGINE_ENTRY = `import engine from ${JSON.stringify(ENGINE)}
export default engine
`

const gzip = (bytes: Uint8Array): number => gzipSync(bytes, { level: 9 }).byteLength

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/**
 * For each byte of the output, the index of the source it came from, from a version 3 source map's
 * mappings (-1 before the first mapping).
 */
function sourceOfEachByte(code: string, mappings: string): Int32Array {
  const owner = new Int32Array(code.length).fill(-1)
  const lineStarts = [0]
  for (let i = 0; i < code.length; i++) if (code.charCodeAt(i) === 10) lineStarts.push(i + 1)
  let source = 0
  let line = 0
  let segStart = -1
  let segSource = -1
  const flush = (end: number) => {
    if (segStart >= 0 && segSource >= 0) owner.fill(segSource, segStart, end)
  }
  for (const group of mappings.split(';')) {
    const base = lineStarts[line] ?? code.length
    let column = 0
    for (const segment of group.split(',')) {
      if (segment === '') continue
      const fields: number[] = []
      let value = 0
      let shift = 0
      for (const ch of segment) {
        const digit = BASE64.indexOf(ch)
        value += (digit & 31) << shift
        if (digit & 32) shift += 5
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1)
          value = 0
          shift = 0
        }
      }
      column += fields[0]!
      flush(base + column)
      segStart = base + column
      segSource = fields.length >= 4 ? (source += fields[1]!) : -1
    }
    line++
    flush(lineStarts[line] ?? code.length)
    // A segment runs on over line breaks inside it (a multi-line template literal has no mappings of its own).
    segStart = lineStarts[line] ?? code.length
  }
  return owner
}

interface PackageShare {
  name: string
  bytes: number
  /** gzip(bundle) − gzip(bundle without this package's bytes). */
  gzipMarginal: number
}

/** Per package: minified bytes in the output (esbuild's metafile) and marginal gzip bytes. */
function breakdown(metafile: Metafile, js: Uint8Array, map: { sources: string[]; mappings: string }): PackageShare[] {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined)!
  const bytes = new Map<string, number>()
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = packageOf(input) ?? (input.includes(':') ? input.slice(0, input.indexOf(':')) : input)
    bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput)
  }
  // esbuild writes ASCII (charset 'ascii', its default): one byte per UTF-16 column of the map.
  const code = Buffer.from(js).toString('latin1')
  const owner = sourceOfEachByte(code, map.mappings)
  const sourcePackage = map.sources.map(packageOf)
  const whole = gzip(js)
  const top = [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 20)
  return top.map(([name, size]) => {
    const keep = Buffer.alloc(code.length)
    let n = 0
    for (let i = 0; i < code.length; i++) {
      const s = owner[i]!
      if (s >= 0 && sourcePackage[s] === name) continue
      keep[n++] = js[i]!
    }
    return { name, bytes: size, gzipMarginal: whole - gzip(keep.subarray(0, n)) }
  })
}

async function build(dir: string, file: string, contents: string): Promise<BrowserBundleResult> {
  const entry = join(dir, file)
  await writeFile(entry, contents)
  const result = await buildBrowserBundle({ entry, cwd: BENCH_DIR })
  if (result.stubs.length > 0) throw new VerificationError(`${file}: Node built-ins stubbed: ${result.stubs.join(', ')}`)
  return result
}

/** The top 20 packages of a bundle built by `build` (the same build again, with a source map). */
async function packagesOf(dir: string, file: string): Promise<PackageShare[]> {
  const esbuild = await import('esbuild')
  const mapped = await esbuild.build({ ...browserBuildOptions({ entry: join(dir, file), cwd: BENCH_DIR, sourcemap: true }), outfile: join(dir, 'bundle.js'), write: false })
  const map = JSON.parse(mapped.outputFiles.find((f) => f.path.endsWith('.map'))!.text) as { sources: string[]; mappings: string }
  const js = mapped.outputFiles.find((f) => f.path.endsWith('.js'))!.contents
  return breakdown(mapped.metafile!, js, map)
}

/**
 * The same app split at its dynamic imports (esbuild, ESM code splitting, as an app's bundler
 * does): what loads at start (the entry chunk and the chunks it imports) and what loads on demand.
 */
async function splitBuild(dir: string, file: string): Promise<{ initial: Sizes; lazy: Sizes }> {
  const esbuild = await import('esbuild')
  const result = await esbuild.build({ ...browserBuildOptions({ entry: join(dir, file), cwd: BENCH_DIR }), splitting: true, outdir: join(dir, 'split'), write: false })
  const files = new Map(result.outputFiles.map((f) => [f.path, f.contents]))
  const outputs = result.metafile!.outputs
  const initial = new Set<string>()
  const visit = (path: string) => {
    if (initial.has(path)) return
    initial.add(path)
    for (const imported of outputs[relative(BENCH_DIR, path)]?.imports ?? []) {
      if (imported.kind === 'import-statement') visit(resolve(BENCH_DIR, imported.path))
    }
  }
  const entry = Object.entries(outputs).find(([, o]) => o.entryPoint !== undefined)![0]
  visit(resolve(BENCH_DIR, entry))
  const sizes = (paths: string[]): Sizes => {
    const code = Buffer.concat(paths.map((path) => files.get(path)!))
    return { bytes: code.byteLength, gzipBytes: paths.reduce((sum, path) => sum + gzip(files.get(path)!), 0) }
  }
  const js = [...files.keys()].filter((path) => path.endsWith('.js'))
  return { initial: sizes(js.filter((path) => initial.has(path))), lazy: sizes(js.filter((path) => !initial.has(path))) }
}

interface Sizes {
  bytes: number
  /** Each file gzipped on its own, summed (as a server sends them). */
  gzipBytes: number
}

/** The same app through Vite (production build, the Hypha plugin): its JavaScript chunks, at start and on demand. */
async function viteBuild(dir: string): Promise<{ initial: Sizes; lazy: Sizes } | null> {
  if (process.env.BENCH_VITE === '0') return null
  const { build: vite } = await import('vite')
  const { hyphaVitePlugin } = await import('@hypha/browser/vite')
  await writeFile(join(dir, 'main.ts'), APP_ENTRY)
  type Chunk = { type: string; fileName: string; code?: string; isEntry?: boolean; imports?: string[] }
  const out = (await vite({
    root: dir,
    configFile: false,
    logLevel: 'silent',
    cacheDir: join(dir, '.vite-cache'),
    plugins: [hyphaVitePlugin()],
    build: { write: false, rolldownOptions: { input: join(dir, 'main.ts'), preserveEntrySignatures: 'exports-only' } }
  })) as { output: Chunk[] } | Array<{ output: Chunk[] }>
  const chunks = (Array.isArray(out) ? out.flatMap((o) => o.output) : out.output).filter((o) => o.type === 'chunk')
  const byName = new Map(chunks.map((c) => [c.fileName, c]))
  const initial = new Set<string>()
  const visit = (name: string) => {
    if (initial.has(name) || !byName.has(name)) return
    initial.add(name)
    for (const imported of byName.get(name)!.imports ?? []) visit(imported)
  }
  for (const c of chunks) if (c.isEntry) visit(c.fileName)
  const sizes = (list: Chunk[]): Sizes => ({
    bytes: list.reduce((sum, c) => sum + Buffer.byteLength(c.code ?? ''), 0),
    gzipBytes: list.reduce((sum, c) => sum + gzip(Buffer.from(c.code ?? '')), 0)
  })
  return { initial: sizes(chunks.filter((c) => initial.has(c.fileName))), lazy: sizes(chunks.filter((c) => !initial.has(c.fileName))) }
}

const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`.padStart(9)

function printShares(title: string, shares: PackageShare[]) {
  console.log('')
  console.log(title)
  console.log('| package | minified | gzip marginal |')
  console.log('|---|---|---|')
  for (const s of shares) console.log(`| ${s.name} | ${kb(s.bytes)} | ${kb(s.gzipMarginal)} |`)
}

async function main() {
  // Inside bench/ so that the entries resolve @hypha/* from bench/node_modules as an app's would.
  const dir = await mkdtemp(join(BENCH_DIR, '.bundle-size-'))
  try {
    const engine = await build(dir, 'engine-entry.mjs', ENGINE_ENTRY)
    const app = await build(dir, 'app-entry.mjs', APP_ENTRY)
    const split = await splitBuild(dir, 'app-entry.mjs')
    const vite = await viteBuild(dir)
    const appShares = await packagesOf(dir, 'app-entry.mjs')
    const engineShares = await packagesOf(dir, 'engine-entry.mjs')

    const ratio = (n: number) => `${(n / engine.gzipBytes).toFixed(2)}×`
    console.log(`browser bundle size (${new Date().toISOString()}, Node ${process.version}; sizes are deterministic: one build each)`)
    console.log(machineLine())
    console.log('reproduce: npx tsc -b && node bench/dist/bundle-size.js   (BENCH_VITE=0 skips the Vite build)')
    console.log('')
    console.log('| bundle | minified | gzipped (level 9) | vs engine alone |')
    console.log('|---|---|---|---|')
    console.log(`| engine alone (baseline): vendored autobase + hyperbee + corestore + hypercore, protomux, secret-stream, sodium shim, b4a, events | ${kb(engine.bytes)} | ${kb(engine.gzipBytes)} | 1.00× |`)
    console.log(`| app: node-core + auth + WebSocket client + IndexedDB storage, one file (buildBrowserBundle) | ${kb(app.bytes)} | ${kb(app.gzipBytes)} | ${ratio(app.gzipBytes)} |`)
    console.log(`| the same, split at dynamic imports (esbuild splitting): at start | ${kb(split.initial.bytes)} | ${kb(split.initial.gzipBytes)} | ${ratio(split.initial.gzipBytes)} |`)
    console.log(`|   … loaded on demand | ${kb(split.lazy.bytes)} | ${kb(split.lazy.gzipBytes)} | |`)
    if (vite) {
      console.log(`| the same app, vite build + hyphaVitePlugin: at start | ${kb(vite.initial.bytes)} | ${kb(vite.initial.gzipBytes)} | ${ratio(vite.initial.gzipBytes)} |`)
      console.log(`|   … loaded on demand | ${kb(vite.lazy.bytes)} | ${kb(vite.lazy.gzipBytes)} | |`)
    }
    console.log('')
    const verdict = (n: number) => (n <= TARGET_GZIP ? 'met' : `missed by ${kb(n - TARGET_GZIP).trim()}`)
    console.log(
      `target ≤ ${kb(TARGET_GZIP).trim()} gzipped: one file ${verdict(app.gzipBytes)}; esbuild at start ${verdict(split.initial.gzipBytes)}` +
        (vite ? `; Vite at start ${verdict(vite.initial.gzipBytes)}` : '') +
        `; engine alone ${verdict(engine.gzipBytes)}`
    )
    printShares("where the app bundle's bytes go (one file; top 20 packages; gzip marginal = what cutting the package's bytes out saves from the gzipped bundle):", appShares)
    printShares('where the baseline\'s bytes go (engine alone):', engineShares.slice(0, 12))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

runBenchmark(main)
