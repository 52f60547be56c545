// The Vite plugin, through Vite's JS API on a tiny app in a temporary directory: the production
// build (served by `vite preview`) and the dev server (dependency pre-bundling included) each run
// a browser node in Chromium that reaches a Node origin over WebSocket and reads its entries; the
// same app built without the plugin fails at start-up with ERR_SODIUM_SHIM_MISSING, not later with
// a failed handshake.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, createServer, optimizeDeps, preview, resolveConfig, type InlineConfig, type PluginOption } from 'vite'
import { HyphaNode } from '@hypha/node-core'
import { deriveRootSecret } from '@hypha/auth'
import { webSocketServer } from '@hypha/transport-websocket/server'
import { openBrowser } from '@hypha/test-utils/chromium'
import { EXPECTED_NODE_ONLY_SPECIFIERS, packageEntries } from '@hypha/test-utils/packages'
// The compiled plugin, as the package ships it (it finds the shim next to itself in dist/).
import { hyphaVitePlugin } from '../dist/vite.js'

const PACKAGE = fileURLToPath(new URL('../', import.meta.url))
const PAGE = fileURLToPath(new URL('./pages/vite-page.ts', import.meta.url))
const DIRECT_PAGE = fileURLToPath(new URL('./pages/vite-direct-page.ts', import.meta.url))
const KDF = { iterations: 1, memoryKiB: 1024 }
const PASSPHRASE = 'otter prism cedar lantern quiet harbor'
const NAME = 'ada@example.com'
const HTML = '<!doctype html><meta charset="utf-8"><title>loading</title><link rel="icon" href="data:,"><script type="module" src="/main.ts"></script>\n'

// window.hyphaVite is declared by the page (pages/vite-page.ts).

/** Every export entry of packages/* whose package.json maps `browser` to null, with its package directory. */
const NODE_ONLY = packageEntries().filter((entry) => !entry.browser)

const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

let app: string
let origin: HyphaNode
let url: string

beforeAll(async () => {
  // Inside this package, so that the app resolves @hypha/* and vite as an installed app would.
  app = await mkdtemp(join(PACKAGE, '.vite-app-'))
  cleanups.push(() => rm(app, { recursive: true, force: true }))
  await copyFile(PAGE, join(app, 'main.ts'))
  await writeFile(join(app, 'index.html'), HTML)
  await mkdir(join(app, 'direct'))
  await copyFile(DIRECT_PAGE, join(app, 'direct', 'main.ts'))
  await writeFile(join(app, 'direct', 'index.html'), HTML.replace('/main.ts', './main.ts'))

  const server = webSocketServer({ port: 0, host: '127.0.0.1' })
  origin = new HyphaNode({ role: 'origin', rootSecret: await deriveRootSecret(PASSPHRASE, NAME, KDF), transports: [server] })
  cleanups.push(() => origin.close())
  await origin.ready()
  await origin.batch(Array.from({ length: 5 }, (_, i) => ({ type: 'put' as const, key: `note/${i}`, value: `from node ${i}` })))
  url = `ws://127.0.0.1:${server.address()!.port}`
})

/** Vite's options for the temporary app: no config file, only `plugins`, and its own cache and output directories. */
function config(plugins: PluginOption[], outDir: string): InlineConfig {
  return { root: app, configFile: false, logLevel: 'silent', cacheDir: join(app, '.vite-cache'), plugins, build: { outDir } }
}

/** Loads `pageUrl` in a fresh Chromium and starts the page's node against the origin. */
async function startPage(pageUrl: string) {
  const browser = await openBrowser()
  cleanups.push(() => browser.close())
  await browser.load(pageUrl)
  const started = await browser.page.evaluate(([u, p, n, k]) => window.hyphaVite.start(u, p, n, k), [url, PASSPHRASE, NAME, KDF] as const)
  return { browser, started }
}

/** The page's node replicates the origin: the entries written before, then one written while connected. */
async function expectReplicates(session: Awaited<ReturnType<typeof startPage>>, marker: string) {
  const { browser, started } = session
  expect(started).toEqual({ key: Buffer.from(origin.key).toString('hex') })
  const first = await browser.page.evaluate(() => window.hyphaVite.entries(5))
  expect(first.filter((entry) => entry.startsWith('note/'))).toEqual(Array.from({ length: 5 }, (_, i) => `note/${i}=from node ${i}`))
  await origin.put(`live/${marker}`, `written while ${marker} was connected`)
  for (;;) {
    const list = await browser.page.evaluate(() => window.hyphaVite.entries(0))
    if (list.includes(`live/${marker}=written while ${marker} was connected`)) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await browser.page.evaluate(() => window.hyphaVite.stop())
  // The passphrase-strength check, which signUp imports on demand, loads and refuses a weak one.
  expect(await browser.page.evaluate(() => window.hyphaVite.weakSignUp('sunshine'))).toEqual({ code: 'ERR_WEAK_PASSPHRASE' })
  expect(browser.errors).toEqual([])
}

describe('hyphaVitePlugin', () => {
  it('vite build + vite preview: the page node connects over WebSocket (Noise on the shim) and replicates', async () => {
    await build(config([hyphaVitePlugin()], 'dist-plugin'))
    // The common-passwords list (one of its entries: 'trustno1') is in a chunk of its own, not in
    // what the page loads at start (the entry chunk and what it imports).
    const assets = join(app, 'dist-plugin', 'assets')
    const chunks = await Promise.all((await readdir(assets)).filter((name) => name.endsWith('.js')).map(async (name) => ({ name, code: await readFile(join(assets, name), 'utf8') })))
    const html = await readFile(join(app, 'dist-plugin', 'index.html'), 'utf8')
    const entryChunk = chunks.find((chunk) => html.includes(`/assets/${chunk.name}`))!
    expect(entryChunk.code.includes('trustno1'), 'the list in the entry chunk').toBe(false)
    const listed = chunks.filter((chunk) => chunk.code.includes('trustno1'))
    expect(listed).toHaveLength(1)
    expect(entryChunk.code).toContain(listed[0]!.name) // loaded from the entry chunk when asked for
    const server = await preview({ ...config([hyphaVitePlugin()], 'dist-plugin'), preview: { host: '127.0.0.1', port: 0 } })
    cleanups.push(() => server.close())
    await expectReplicates(await startPage(server.resolvedUrls!.local[0]!), 'build')
  })

  it('the dev server (dependencies pre-bundled by its optimizer): the page node connects and replicates', async () => {
    const server = await createServer({ ...config([hyphaVitePlugin()], 'dist-dev'), server: { host: '127.0.0.1', port: 0 } })
    cleanups.push(() => server.close())
    await server.listen()
    await expectReplicates(await startPage(server.resolvedUrls!.local[0]!), 'dev')
  })

  it('without the plugin the build succeeds, and the node refuses to start with ERR_SODIUM_SHIM_MISSING naming the fix', async () => {
    let connections = 0
    const count = () => connections++
    origin.on('connection', count)
    cleanups.push(async () => origin.off('connection', count))
    await build(config([], 'dist-bare'))
    const server = await preview({ ...config([], 'dist-bare'), preview: { host: '127.0.0.1', port: 0 } })
    cleanups.push(() => server.close())
    const { browser, started } = await startPage(server.resolvedUrls!.local[0]!)
    expect(started.error?.name).toBe('HyphaNodeError')
    expect(started.error?.code).toBe('ERR_SODIUM_SHIM_MISSING')
    expect(started.error?.message).toContain('plugins: [hyphaVitePlugin()]')
    expect(started.error?.message).toContain("'@hypha/browser/vite'")
    // Refused in the constructor: the node never dialled.
    expect(connections).toBe(0)
    expect(browser.errors).toEqual([])
  })

  it("the app's own ES imports of sodium-javascript and events get the shim and the polyfill, built and on the dev server", async () => {
    const expected = { noclamp: 'function', secretbox: 'function', emitter: 'function' }
    const built = config([hyphaVitePlugin()], 'dist-direct')
    await build({ ...built, build: { ...built.build, rolldownOptions: { input: join(app, 'direct', 'index.html') } } })
    const served = await preview({ ...built, preview: { host: '127.0.0.1', port: 0 } })
    cleanups.push(() => served.close())
    const dev = await createServer({ ...config([hyphaVitePlugin()], 'dist-dev'), server: { host: '127.0.0.1', port: 0 } })
    cleanups.push(() => dev.close())
    await dev.listen()
    for (const base of [served.resolvedUrls!.local[0]!, dev.resolvedUrls!.local[0]!]) {
      const browser = await openBrowser()
      cleanups.push(() => browser.close())
      await browser.load(`${base}direct/`)
      expect(await browser.page.evaluate(() => window.hyphaDirect), base).toEqual(expected)
      expect(browser.errors).toEqual([])
    }
  })

  it("refuses a Node-only entry ('@hypha/transport-tcp', browser: null) naming the import, the importer and the browser alternative, built and on the dev server", async () => {
    // Its own app: the dev server scans every index.html under its root, and this one must fail.
    const nodeOnly = await mkdtemp(join(PACKAGE, '.vite-app-'))
    cleanups.push(() => rm(nodeOnly, { recursive: true, force: true }))
    await writeFile(join(nodeOnly, 'index.html'), HTML)
    await writeFile(join(nodeOnly, 'main.ts'), "import { tcpClient } from '@hypha/transport-tcp'\nconsole.log(tcpClient)\n")
    const options: InlineConfig = { ...config([hyphaVitePlugin()], 'dist'), root: nodeOnly, cacheDir: join(nodeOnly, '.vite-cache') }
    const expectRefusal = (message: string) => {
      expect(message).toContain('"@hypha/transport-tcp" is a Node-only entry')
      expect(message).toContain(`imported by ${join(nodeOnly, 'main.ts')}`)
      expect(message).toContain('maps the "browser" condition of exports["."] to null')
      expect(message).toContain("use webSocketClient from '@hypha/transport-websocket' or webRtcTransport from '@hypha/transport-webrtc' instead")
    }
    const built = await build(options).then(() => null, (error: Error) => error)
    expect(built).toBeInstanceOf(Error)
    expectRefusal(built!.message)
    // Without the plugin Vite's resolver falls through to the `default` target and the build succeeds.
    await expect(build({ ...options, plugins: [], build: { outDir: 'dist-bare', write: false } })).resolves.toBeDefined()

    const dev = await createServer({ ...options, server: { host: '127.0.0.1', port: 0 } })
    cleanups.push(() => dev.close())
    await dev.listen()
    const served = await dev.environments.client.transformRequest('/main.ts').then(() => null, (error: Error) => error)
    expect(served).toBeInstanceOf(Error)
    expectRefusal(served!.message)
    expect((await fetch(new URL('/main.ts', dev.resolvedUrls!.local[0]!))).status).toBe(500)
    // The server lives on and its optimizer still pre-bundles node-core; waited for, so that no
    // pre-bundling writes into the directory after it is removed.
    while (!existsSync(join(nodeOnly, '.vite-cache', 'deps', '_metadata.json'))) await new Promise((resolve) => setTimeout(resolve, 100))
  })

  it("the dev server's dependency pre-bundling (its own Rolldown plugins) refuses a dependency's import of a Node-only entry", async () => {
    const withDep = await mkdtemp(join(PACKAGE, '.vite-app-'))
    cleanups.push(() => rm(withDep, { recursive: true, force: true }))
    await writeFile(join(withDep, 'index.html'), '<!doctype html>\n')
    await mkdir(join(withDep, 'node_modules', 'uses-tcp'), { recursive: true })
    await writeFile(join(withDep, 'node_modules', 'uses-tcp', 'package.json'), JSON.stringify({ name: 'uses-tcp', type: 'module', main: 'index.js' }))
    await writeFile(join(withDep, 'node_modules', 'uses-tcp', 'index.js'), "export { tcpClient } from '@hypha/transport-tcp'\n")
    // What the dev server runs when it pre-bundles (Vite's optimizeDeps, called directly: on the
    // dev server a pre-bundling error ends the process, the plugin's or any other).
    const resolved = await resolveConfig(
      { root: withDep, configFile: false, logLevel: 'silent', cacheDir: join(withDep, '.vite-cache'), plugins: [hyphaVitePlugin()], optimizeDeps: { include: ['uses-tcp'], noDiscovery: true } },
      'serve'
    )
    const error = await optimizeDeps(resolved, true).then(() => null, (err: Error) => err)
    expect(error).toBeInstanceOf(Error)
    expect(error!.message).toContain('[plugin hypha-browser:optimize-deps]')
    expect(error!.message).toContain(`"@hypha/transport-tcp" is a Node-only entry`)
    expect(error!.message).toContain(`imported by ${join(withDep, 'node_modules', 'uses-tcp', 'index.js')}`)
    expect(error!.message).toContain('maps the "browser" condition of exports["."] to null')
  })

  it('refuses every Node-only entry of packages/* (read from their package.json files), each naming its browser: null', async () => {
    expect(NODE_ONLY.map((entry) => entry.specifier)).toEqual([...EXPECTED_NODE_ONLY_SPECIFIERS])
    for (const { specifier, path, dir } of NODE_ONLY) {
      // A virtual entry inside the package, which imports it by name (a self-reference, as
      // build.test.ts does with esbuild): every package resolves itself, installed or not.
      const input = join(dir, '__vite-node-only-entry__.js')
      const entry: PluginOption = {
        name: 'entry',
        resolveId: (id) => (id === input ? id : null),
        load: (id) => (id === input ? `import ${JSON.stringify(specifier)}\n` : null)
      }
      const options: InlineConfig = { root: dir, configFile: false, logLevel: 'silent', cacheDir: join(app, '.vite-cache-node-only'), plugins: [hyphaVitePlugin(), entry] }
      const error = await build({ ...options, build: { write: false, rolldownOptions: { input } } }).then(() => null, (err: Error) => err)
      expect(error, specifier).toBeInstanceOf(Error)
      expect(error!.message).toContain(`"${specifier}" is a Node-only entry`)
      expect(error!.message).toContain(`imported by ${input}`)
      expect(error!.message).toContain(`maps the "browser" condition of exports["${path}"] to null`)
    }
  })

  it('never imports esbuild, an optional peer dependency', async () => {
    const source = await readFile(new URL('../dist/vite.js', import.meta.url), 'utf8')
    expect(source).not.toMatch(/['"]esbuild['"]/)
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as Record<string, Record<string, unknown>>
    expect(pkg.dependencies).not.toHaveProperty('esbuild')
    expect(pkg.dependencies).not.toHaveProperty('vite')
    expect(pkg.peerDependenciesMeta).toEqual({ esbuild: { optional: true }, vite: { optional: true } })
  })
})
