// The browser bundle: no Node built-ins, no Node-only packages, the libsodium shim in place; our
// Node-only entries refused by their package.json `browser: null` condition.
import { describe, it, expect } from 'vitest'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { builtinModules } from 'node:module'
import { buildBrowserBundle, type BrowserBundleResult } from '../src/build.js'
import { EXPECTED_NODE_ONLY_SPECIFIERS, packageEntries } from '@hypha/test-utils/packages'

const entry = (name: string) => fileURLToPath(new URL(`./pages/${name}`, import.meta.url))
const SRC = fileURLToPath(new URL('../src/', import.meta.url))
const builtins = new Set(builtinModules)

/**
 * Third-party packages that only work in Node. Not a list the build uses: the test looks for
 * their files in a bundle, where they would mean Node code leaked in.
 */
const NODE_ONLY_THIRD_PARTY = ['ws', 'hyperswarm', 'hyperdht', 'dht-rpc', 'udx-native', 'node-datachannel', '@roamhq/wrtc', 'fs-native-extensions', 'require-addon', 'sodium-native', 'bare-fs']

/** Inputs that are Node code: node: modules, built-ins, stubs, files of Node-only packages. */
function nodeInputs(result: BrowserBundleResult): string[] {
  return Object.keys(result.metafile.inputs).filter(
    (input) =>
      input.startsWith('node:') ||
      builtins.has(input) ||
      input.startsWith('hypha-node-builtin:') ||
      /\/node_modules\/random-access-file\/index\.js$/.test(input) || // its browser.js is fine
      NODE_ONLY_THIRD_PARTY.some((name) => input.includes(`/node_modules/${name}/`))
  )
}

describe('buildBrowserBundle', () => {
  it('bundles HyphaNode, idbStorage, the WebSocket and WebRTC transports and @hypha/auth with no Node code and no stubs', async () => {
    const result = await buildBrowserBundle({ entry: entry('bundle-entry.ts') })
    const inputs = Object.keys(result.metafile.inputs)
    expect(nodeInputs(result)).toEqual([])
    expect(result.stubs).toEqual([])
    // hypercore requires random-access-file at load time: its own `browser` field gives the throwing browser.js.
    expect(inputs.filter((input) => input.includes('/node_modules/random-access-file/')).map((input) => input.replace(/.*\//, ''))).toEqual(['browser.js'])
    // libsodium is the shim (sodium-javascript only behind it), never a declaration file.
    expect(inputs).toContain('hypha-sodium:sodium')
    // (inputs are relative to the working directory, which is the default `cwd`)
    const ours = inputs.map((input) => resolve(input)).filter((input) => input.startsWith(SRC)).map((input) => input.slice(SRC.length)).sort()
    expect(ours).toEqual(['process-shim.ts', 'sodium-shim.ts', 'sodium/blake2b.ts', 'sodium/checks.ts', 'sodium/ed25519.ts', 'sodium/sodium-javascript.ts'])
    expect(inputs.filter((input) => input.endsWith('.d.ts') || input.endsWith('.d.cts'))).toEqual([])
    // The libraries are really in there (autobase, hyperbee, corestore and hypercore: in node-core's vendored engine).
    expect(inputs.some((input) => input.endsWith('/node-core/vendor/engine.cjs'))).toBe(true)
    for (const name of ['@hyperswarm/secret-stream', 'simple-peer', '@noble/curves', 'sodium-javascript']) {
      expect(inputs.some((input) => input.includes(`/node_modules/${name}/`)), name).toBe(true)
    }
    expect(result.warnings).toEqual([])
    console.log(`browser bundle: ${result.bytes} bytes minified, ${result.gzipBytes} bytes gzipped (${(result.gzipBytes / 1024).toFixed(1)} KiB)`)
    expect(result.gzipBytes).toBeLessThan(result.bytes)
  })

  // The entries come from the package.json files, so a new entry is checked without touching this test.
  const entries = packageEntries()
  const browser = entries.filter((e) => e.browser)
  const nodeOnly = entries.filter((e) => !e.browser)

  it('knows which of our entries are browser-safe and which are Node-only', () => {
    expect(browser.map((e) => e.specifier)).toEqual([
      '@hypha/auth',
      '@hypha/browser/sodium-shim',
      '@hypha/ephemeral-ext',
      '@hypha/node-core',
      '@hypha/node-core/transport',
      '@hypha/node-core/debug',
      '@hypha/secure-channel',
      '@hypha/storage-indexeddb',
      '@hypha/transport-webrtc',
      '@hypha/transport-websocket'
    ])
    expect(nodeOnly.map((e) => e.specifier)).toEqual([...EXPECTED_NODE_ONLY_SPECIFIERS])
  })

  it.each(browser)('$specifier bundles on its own with no Node code and no stubs', async ({ specifier, dir }) => {
    // The package resolves itself by name (its exports), as an app's import would.
    const result = await buildBrowserBundle({ entry: specifier, cwd: dir, minify: false })
    expect(nodeInputs(result)).toEqual([])
    expect(result.stubs).toEqual([])
    expect(result.warnings).toEqual([])
  })

  it.each(nodeOnly)('$specifier fails a browser build, naming its browser: null condition', async ({ specifier, dir }) => {
    await expect(buildBrowserBundle({ entry: specifier, cwd: dir })).rejects.toThrow(/explicitly disabled by the package author/)
  })

  it('fails an app that imports Node-only entries, naming each', async () => {
    const error = await buildBrowserBundle({ entry: entry('native-entry.ts') }).then(
      () => null,
      (err: Error) => err
    )
    expect(error?.message).toMatch(/Could not resolve "@hypha\/transport-tcp"/)
    expect(error?.message).toMatch(/Could not resolve "@hypha\/storage-file"/)
    expect(error?.message).toMatch(/"\." cannot be imported from package "@hypha\/transport-tcp" because it was explicitly disabled/)
  })

  it('stubs a Node built-in that nothing maps for browsers, lists it, and the stub throws when called', async () => {
    const result = await buildBrowserBundle({ entry: entry('builtin-entry.ts'), minify: false })
    expect(result.stubs).toEqual(['net'])
    expect(nodeInputs(result)).toEqual(['hypha-node-builtin:net'])
    const module = (await import(`data:text/javascript;base64,${Buffer.from(result.code).toString('base64')}`)) as { connect: () => unknown }
    expect(() => module.connect()).toThrow('net is Node-only: not available in a browser build of Hypha')
  })
})
