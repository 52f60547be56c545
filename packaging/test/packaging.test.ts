// The packages as a stranger gets them: every public package packed with `pnpm pack`, the tarballs'
// manifests checked, then installed with npm (no workspace, no pnpm) into two clean apps in a temp
// directory. A Node app (strict tsc, skipLibCheck false, hyperbee 2.27 in its tree) runs sign-up →
// sign-in → approve → write over loopback TCP and WebSocket. A Vite app (the vanilla-ts template's
// settings, skipLibCheck false, vite.config.ts only the plugin line) is type-checked and built;
// its production build and its dev server each sign in from Chromium, are approved by a Node laptop
// through an always-on node, and write; built without the plugin it fails at start-up, naming the
// fix. Each step is its own test, so a failure names its step and shows the tail of the output.
// Needs the npm registry; installs share one npm cache dir, kept between runs. Fixtures: ../fixtures.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS } from '@hypha/test-utils/chromium'

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const fixtures = fileURLToPath(new URL('../fixtures', import.meta.url))
const NPM_CACHE = join(tmpdir(), 'hypha-packaging-npm-cache')
// The workspace's private packages (read from pnpm-workspace.yaml's folders in beforeAll), and
// these names whatever the folders say: none may appear in a published manifest.
const PRIVATE = ['@hypha/test-utils', '@hypha/adapter-tests', '@hypha/examples', '@hypha/bench', '@hypha/integration']
const DEP_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const
// What a browser app installs: the browser-safe packages and what they depend on.
const BROWSER_PACKAGES = ['auth', 'browser', 'ephemeral-ext', 'node-core', 'secure-channel', 'storage-indexeddb', 'transport-websocket']

interface Result {
  code: number | null
  output: string
}

/** Output tail for failure messages: the end of a command's output is where npm and tsc say what broke. */
const tail = (text: string, lines = 40) => stripVTControlCharacters(text).trimEnd().split('\n').slice(-lines).join('\n')

/**
 * The environment of a stranger's shell: without what vitest sets for itself (NODE_ENV=test would
 * make `vite build` a development build), with the one npm cache.
 */
function strangerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { npm_config_cache: NPM_CACHE, npm_config_update_notifier: 'false' }
  for (const [key, value] of Object.entries(process.env)) if (key !== 'NODE_ENV' && !key.startsWith('VITEST') && !(key in env)) env[key] = value
  return env
}

/** Runs a command; rejects naming the step, the command and the tail of its output unless it exits 0. */
async function run(step: string, cmd: string, args: string[], cwd: string, timeoutMs = 240_000): Promise<string> {
  const started = Date.now()
  const result = await new Promise<Result>((done) => {
    const child = spawn(cmd, args, { cwd, env: strangerEnv() })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (err) => (output += `\n${err.message}`))
    child.on('close', (code) => {
      clearTimeout(timer)
      done({ code, output })
    })
  })
  console.log(`[packaging] ${step}: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  if (result.code !== 0) {
    throw new Error(`${step} failed (exit ${result.code}): ${cmd} ${args.join(' ')} in ${cwd}\n--- last lines of its output ---\n${tail(result.output)}`)
  }
  return result.output
}

/** pnpm as the test runner was started with it (`pnpm test`), else the repository's pinned one from npm (located once: npx per call costs seconds). */
async function pnpm(): Promise<[string, string[]]> {
  const execPath = process.env.npm_execpath
  if (execPath && /pnpm/.test(execPath)) return [process.execPath, [execPath]]
  const { packageManager } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { packageManager: string }
  const out = await run(`npx ${packageManager}`, 'npx', ['-y', `--package=${packageManager}`, '-c', 'realpath "$(command -v pnpm)"'], repo)
  return [process.execPath, [out.trim().split('\n').pop()!.trim()]]
}

const exists = (path: string) => stat(path).then(() => true, () => false)

interface Manifest {
  name: string
  license?: string
  main?: string
  types?: string
  exports?: unknown
  repository?: unknown
  homepage?: unknown
  bugs?: unknown
  engines?: { node?: string }
  keywords?: string[]
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
}

/** Every file an `exports` / `main` / `types` entry names (null targets, i.e. `browser: null`, skipped). */
function targets(manifest: Manifest): string[] {
  const found: string[] = []
  const walk = (value: unknown) => {
    if (typeof value === 'string') found.push(value)
    else if (value && typeof value === 'object') for (const inner of Object.values(value)) walk(inner)
  }
  walk(manifest.exports)
  if (manifest.main) found.push(manifest.main)
  if (manifest.types) found.push(manifest.types)
  return [...new Set(found)]
}

/** What is wrong with one unpacked tarball (its `package/` directory), as readable lines; [] when nothing. */
async function manifestProblems(dir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest
  const problems: string[] = []
  for (const field of DEP_FIELDS) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      if (range.startsWith('workspace:')) problems.push(`${field}.${dep} is "${range}"`)
      if (PRIVATE.includes(dep)) problems.push(`${field} names the private package ${dep}`)
    }
  }
  if (manifest.license !== 'MIT') problems.push(`license is ${JSON.stringify(manifest.license)}, not "MIT"`)
  for (const file of ['LICENSE', 'README.md']) if (!(await exists(join(dir, file)))) problems.push(`no ${file} in the tarball`)
  for (const field of ['repository', 'homepage', 'bugs', 'engines', 'keywords'] as const) {
    const value = manifest[field]
    if (value === undefined || (Array.isArray(value) && value.length === 0)) problems.push(`no ${field}`)
  }
  if (manifest.engines && !manifest.engines.node) problems.push('engines has no node range')
  for (const target of targets(manifest)) if (!(await exists(join(dir, target)))) problems.push(`${target} (named in exports/main/types) is not in the tarball`)
  if (manifest.name === '@hypha/browser' && manifest.dependencies?.esbuild) problems.push('esbuild is a dependency (a Vite user would install it): make it an optional peer')
  return problems
}

// Left out of the Node app's entries.ts: their declarations need what a Node app does not have —
// the DOM lib (IndexedDB), or an optional peer it did not install (esbuild, vite).
const NOT_FOR_A_NODE_APP = ['@hypha/storage-indexeddb', '@hypha/browser', '@hypha/browser/vite']

/** Every `exports` entry of every public package, as a Node program imports it, minus {@link NOT_FOR_A_NODE_APP}. */
async function nodeEntries(): Promise<string[]> {
  const entries: string[] = []
  for (const name of (await readdir(join(repo, 'packages'))).sort()) {
    const manifest = JSON.parse(await readFile(join(repo, 'packages', name, 'package.json'), 'utf8')) as Manifest
    for (const path of Object.keys((manifest.exports ?? {}) as Record<string, unknown>)) {
      const entry = path === '.' ? manifest.name : `${manifest.name}/${path.slice(2)}`
      if (!NOT_FOR_A_NODE_APP.includes(entry)) entries.push(entry)
    }
  }
  return entries
}

let work = ''
const packed = new Map<string, string>() // directory name under packages/ → tarball path
let nodeApp = ''
let viteApp = ''
let nodeInstall: Promise<void>
let viteInstall: Promise<void>
let nodeBuilt: Promise<void> | null = null
const children: ChildProcess[] = []
let browser: Browser | null = null
let server: Server | null = null

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hypha-packaging-'))
  await mkdir(NPM_CACHE, { recursive: true })
  const tarballs = join(work, 'tarballs')
  await mkdir(tarballs)
  for (const line of (await readFile(join(repo, 'pnpm-workspace.yaml'), 'utf8')).split('\n')) {
    const folder = /^\s*-\s*['"]?([^'"*\s]+)['"]?\s*$/.exec(line)?.[1]
    const manifest = folder ? await readFile(join(repo, folder, 'package.json'), 'utf8').catch(() => null) : null
    const { name, private: isPrivate } = manifest ? (JSON.parse(manifest) as { name: string; private?: boolean }) : { name: '' }
    if (isPrivate && !PRIVATE.includes(name)) PRIVATE.push(name)
  }
  const names = (await readdir(join(repo, 'packages'))).sort()
  const [cmd, prefix] = await pnpm()
  // Two at a time: pnpm pack is mostly process start-up, and the machine has 2 cores.
  const queue = [...names]
  await Promise.all(
    [0, 1].map(async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const out = await run(`pnpm pack ${name}`, cmd, [...prefix, 'pack', '--pack-destination', tarballs], join(repo, 'packages', name))
        const file = out.trim().split('\n').map((line) => line.trim()).find((line) => line.endsWith('.tgz'))
        if (!file) throw new Error(`pnpm pack ${name} named no tarball:\n${tail(out)}`)
        packed.set(name, resolve(tarballs, file))
      }
    })
  )

  // Both installs start now and run while the manifests are checked; each test awaits its own.
  nodeApp = join(work, 'node-app')
  viteApp = join(work, 'vite-app')
  const npmInstall = ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline']
  const typescriptVersion = (JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.typescript
  nodeInstall = (async () => {
    await mkdir(nodeApp)
    await run('npm init (Node app)', 'npm', ['init', '-y'], nodeApp)
    await run('npm pkg set type=module (Node app)', 'npm', ['pkg', 'set', 'type=module'], nodeApp)
    // hyperbee 2.27 beside the packages: the engine's own pin must still be what the engine uses.
    const deps = [...packed.values(), 'hyperbee@^2.27.3', 'ws@8', '@types/ws@8', `typescript@${typescriptVersion}`, '@types/node@20']
    await run('npm install (Node app)', 'npm', [...npmInstall, ...deps], nodeApp)
    for (const file of ['app.ts', 'origin-for-browser.ts', 'tsconfig.json']) await cp(join(fixtures, 'node-app', file), join(nodeApp, file))
    // Every entry a Node program may import, so that tsc checks all their declarations, not only those app.ts reaches.
    const lines = (await nodeEntries()).map((entry, i) => `export * as entry${i} from '${entry}'`)
    await writeFile(join(nodeApp, 'entries.ts'), `${lines.join('\n')}\n`)
  })()
  viteInstall = (async () => {
    await cp(join(fixtures, 'vite-app'), viteApp, { recursive: true })
    // The template's own devDependencies (create-vite 9's vanilla-ts: typescript ~7.0.2, vite ^8.3.4).
    const deps = [...BROWSER_PACKAGES.map((name) => packed.get(name)!), 'vite@^8.3.4', 'typescript@~7.0.2']
    await run('npm install (Vite app)', 'npm', [...npmInstall, ...deps], viteApp)
  })()
  // A failed install is reported by the tests that await it.
  nodeInstall.catch(() => {})
  viteInstall.catch(() => {})
})

afterAll(async () => {
  await browser?.close().catch(() => {})
  await new Promise<void>((done) => (server ? (server.closeAllConnections(), server.close(() => done())) : done()))
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  // Let the installs settle before removing their directories under them.
  await Promise.allSettled([nodeInstall, viteInstall])
  if (work) await rm(work, { recursive: true, force: true })
})

describe('tarballs (pnpm pack)', () => {
  it('every public package packs', async () => {
    expect([...packed.keys()].sort()).toEqual((await readdir(join(repo, 'packages'))).sort())
  })

  it('each manifest: no workspace: ranges, no private packages, MIT with LICENSE and README, repository/homepage/bugs/engines/keywords, every entry file present; @hypha/browser without a hard esbuild dependency', async () => {
    const problems: Record<string, string[]> = {}
    for (const [name, tarball] of packed) {
      const dir = join(work, 'unpacked', name)
      await mkdir(dir, { recursive: true })
      await run(`unpack ${name}`, 'tar', ['-xzf', tarball, '-C', dir], work)
      const found = await manifestProblems(join(dir, 'package'))
      if (found.length) problems[name] = found
    }
    expect(problems).toEqual({})
  })
})

describe('a clean Node app (npm, strict tsc, hyperbee 2.27 in the tree)', () => {
  it('installs the tarballs with npm, and hyperbee 2.27+ is in the tree', async () => {
    await nodeInstall
    const tree = JSON.parse(await run('npm ls hyperbee (Node app)', 'npm', ['ls', 'hyperbee', '--all', '--json'], nodeApp)) as unknown
    const versions: string[] = []
    const walk = (node: unknown, name: string) => {
      if (!node || typeof node !== 'object') return
      const { version, dependencies } = node as { version?: string; dependencies?: Record<string, unknown> }
      if (name === 'hyperbee' && version) versions.push(version)
      for (const [child, inner] of Object.entries(dependencies ?? {})) walk(inner, child)
    }
    walk(tree, '')
    expect(versions.some((v) => Number(v.split('.')[0]) === 2 && Number(v.split('.')[1]) >= 27), `hyperbee versions in the tree: ${versions.join(', ')}`).toBe(true)
  })

  it('type-checks with tsc (strict, skipLibCheck: false, NodeNext)', async () => {
    await nodeInstall
    nodeBuilt = run('tsc (Node app)', join(nodeApp, 'node_modules/.bin/tsc'), ['-p', '.'], nodeApp).then(() => {})
    await nodeBuilt
  })

  it('runs sign-up → sign-in → approve → write, and the laptop reads the phone’s write', async () => {
    await nodeInstall
    // tsc emits even when types fail: the flow is still tried, and reported on its own.
    await (nodeBuilt ?? Promise.reject(new Error('the type-check step did not run'))).catch(() => {})
    if (!(await exists(join(nodeApp, 'dist/app.js')))) throw new Error('tsc emitted no dist/app.js (see the type-check step)')
    const output = await run('node dist/app.js (Node app)', process.execPath, ['dist/app.js'], nodeApp, 120_000)
    expect(output).toContain('laptop reads: written on the phone')
    expect(output).toContain('PACKAGING FLOW OK')
  })
})

describe('a clean Vite app (vanilla-ts template, only the plugin in vite.config.ts)', () => {
  let built = false

  it('installs the browser-safe tarballs with npm, and no esbuild comes with them', async () => {
    await viteInstall
    const tree = await run('npm ls esbuild (Vite app)', 'npm', ['ls', 'esbuild', '--all'], viteApp).catch((err: Error) => err.message)
    expect(tree, 'esbuild in the Vite app: nothing of ours should bring it (vite takes it as an optional peer)').not.toMatch(/esbuild@/)
  })

  it('package.json build script is the template’s: tsc && vite build', async () => {
    const manifest = JSON.parse(await readFile(join(fixtures, 'vite-app/package.json'), 'utf8')) as { scripts: Record<string, string> }
    expect(manifest.scripts.build).toBe('tsc && vite build')
  })

  it('type-checks: tsc (the build script’s first half; "types": ["vite/client"], no @types/node, skipLibCheck: false)', async () => {
    await viteInstall
    await run('tsc (Vite app)', join(viteApp, 'node_modules/.bin/tsc'), [], viteApp)
  })

  it('builds: vite build (the build script’s second half)', async () => {
    await viteInstall
    await run('vite build (Vite app)', join(viteApp, 'node_modules/.bin/vite'), ['build'], viteApp)
    expect(await exists(join(viteApp, 'dist/index.html'))).toBe(true)
    built = true
  })

  it('its production build in Chromium signs in, is approved by a Node laptop through an always-on node, writes, and the laptop reads it', async () => {
    if (!built) throw new Error('no production build (see the vite build step)')
    server = await serveDirectory(join(viteApp, 'dist'))
    const { port } = server.address() as AddressInfo
    await signInFromChromium(`http://127.0.0.1:${port}/`, 'Chromium (Vite build)', 'browser/production', 'written in Chromium by the Vite build')
  })

  it('without the plugin (an empty vite.config), the build fails at start-up with ERR_SODIUM_SHIM_MISSING naming the fix, not with a failed handshake', async () => {
    await viteInstall
    await writeFile(join(viteApp, 'no-plugin.config.ts'), 'export default {}\n')
    await run('vite build without the plugin (Vite app)', join(viteApp, 'node_modules/.bin/vite'), ['build', '--config', 'no-plugin.config.ts', '--outDir', 'dist-no-plugin'], viteApp)
    const plain = await serveDirectory(join(viteApp, 'dist-no-plugin'))
    try {
      const { port } = plain.address() as AddressInfo
      const side = await nodeLaptop()
      browser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
      const page = await browser.newPage()
      try {
        await page.goto(`http://127.0.0.1:${port}/?${new URLSearchParams({ ...side.setup, nodeName: 'Chromium (no plugin)' }).toString()}`)
        await page.waitForFunction(() => document.title === 'written' || document.title === 'failed', undefined, { timeout: 30_000 }).catch(() => {})
        const text = await page.locator('#app').innerText()
        expect(await page.title(), `page says:\n${text}`).toBe('failed')
        expect(text).toContain('ERR_SODIUM_SHIM_MISSING')
        expect(text).toContain('hyphaVitePlugin')
        expect(text).not.toContain('ERR_HANDSHAKE_FAILED')
      } finally {
        await page.close()
      }
    } finally {
      await new Promise<void>((done) => (plain.closeAllConnections(), plain.close(() => done())))
    }
  })

  /** Whether Vite printed its address: colours stripped (Vite colours its output when CI is set). */
  const listening = (output: string, port: number) => stripVTControlCharacters(output).includes(`127.0.0.1:${port}`)

  it('its dev server (vite, the same one-line config) in Chromium signs in, is approved, writes, and the laptop reads it', async () => {
    await viteInstall
    const port = await freePort()
    const dev = spawn(join(viteApp, 'node_modules/.bin/vite'), ['--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: viteApp, env: strangerEnv() })
    children.push(dev)
    let devOutput = ''
    dev.stdout.on('data', (d: Buffer) => (devOutput += d.toString()))
    dev.stderr.on('data', (d: Buffer) => (devOutput += d.toString()))
    try {
      await waitUntil(() => listening(devOutput, port) || dev.exitCode !== null, 60_000)
      if (!listening(devOutput, port)) throw new Error(`the Vite dev server did not start:\n${tail(devOutput)}`)
      await signInFromChromium(`http://127.0.0.1:${port}/`, 'Chromium (Vite dev server)', 'browser/development', 'written in Chromium by the Vite dev server', () => `Vite dev server:\n${tail(devOutput)}`)
    } finally {
      dev.kill('SIGTERM')
    }
  })
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition() && Date.now() < deadline) await sleep(100)
}

async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((done) => probe.close(() => done()))
  return port
}

let laptop: { process: ChildProcess; output: () => string; setup: { ws: string; passphrase: string; name: string } } | null = null

/** The Node side, from the Node app (started once for both pages): a laptop that approves "Chromium …" devices and an always-on node with a WebSocket server. */
async function nodeLaptop(): Promise<NonNullable<typeof laptop>> {
  if (laptop && laptop.process.exitCode === null) return laptop
  await nodeInstall
  await nodeBuilt?.catch(() => {})
  if (!(await exists(join(nodeApp, 'dist/origin-for-browser.js')))) throw new Error('the Node app has no dist/origin-for-browser.js (see its type-check step)')
  const child = spawn(process.execPath, ['dist/origin-for-browser.js'], { cwd: nodeApp, env: strangerEnv() })
  children.push(child)
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  await waitUntil(() => output.split('\n').some((l) => l.startsWith('{')) || child.exitCode !== null, 60_000)
  const line = output.split('\n').find((l) => l.startsWith('{'))
  if (!line) throw new Error(`the Node laptop did not start (exit ${child.exitCode}):\n${tail(output)}`)
  laptop = { process: child, output: () => output, setup: JSON.parse(line) as { ws: string; passphrase: string; name: string } }
  return laptop
}

/** Opens `url` in Chromium with the account in its query; the page signs in as `nodeName`, is approved, writes `key`; the laptop must read `value`. */
async function signInFromChromium(url: string, nodeName: string, key: string, value: string, more: () => string = () => ''): Promise<void> {
  const side = await nodeLaptop()
  browser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`)
  })
  try {
    await page.goto(`${url}?${new URLSearchParams({ ...side.setup, nodeName }).toString()}`)
    await page.waitForFunction(() => document.title === 'written' || document.title === 'failed', undefined, { timeout: 120_000 }).catch(() => {})
    const report = async () =>
      `page title "${await page.title()}"; page says:\n${await page.locator('#app').innerText()}\npage errors:\n${errors.join('\n')}\nNode laptop:\n${tail(side.output())}\n${more()}`
    expect(await page.title(), await report()).toBe('written')
    expect(await page.locator('#written').innerText()).toBe(value)
    const line = `LAPTOP READS ${key} ${JSON.stringify(value)}`
    await waitUntil(() => side.output().includes(line), 60_000)
    expect(side.output(), await report()).toContain(line)
  } finally {
    await page.close()
  }
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.wasm': 'application/wasm' }

/** A static server for a production build on 127.0.0.1 (what `vite preview` does, without its port choice). */
async function serveDirectory(root: string): Promise<Server> {
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const file = join(root, path === '/' ? 'index.html' : path)
    if (!file.startsWith(root)) return void res.writeHead(403).end()
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end()
    )
  })
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done))
  return http
}
