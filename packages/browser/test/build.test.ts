// The browser bundle: no Node built-ins, no Node-only packages, the libsodium shim in place.
import { describe, it, expect } from 'vitest'
import { fileURLToPath } from 'node:url'
import { builtinModules } from 'node:module'
import { buildBrowserBundle, NODE_ONLY_PACKAGES, type BrowserBundleResult } from '../src/build.js'

const entry = (name: string) => fileURLToPath(new URL(`./pages/${name}`, import.meta.url))
const builtins = new Set(builtinModules)

/** Inputs that are Node code: node: modules, built-ins, files of Node-only packages. */
function nodeInputs(result: BrowserBundleResult): string[] {
  return Object.keys(result.metafile.inputs).filter((input) => {
    if (input.startsWith('node:') || builtins.has(input)) return true
    if (input.startsWith('hypha-node-only:')) return !['random-access-file', 'ws'].includes(input.slice('hypha-node-only:'.length))
    return NODE_ONLY_PACKAGES.some((name) => input.includes(`/node_modules/${name}/`)) || /\/node_modules\/sodium-native\//.test(input)
  })
}

describe('buildBrowserBundle', () => {
  it('bundles HyphaNode, idbStorage, the WebSocket and WebRTC transports and @hypha/auth with no Node code', async () => {
    const result = await buildBrowserBundle({ entry: entry('bundle-entry.ts') })
    const inputs = Object.keys(result.metafile.inputs)
    expect(nodeInputs(result)).toEqual([])
    // Only the two modules node-core's browser entry reaches but never calls there are stubs.
    expect(result.stubs).toEqual(['random-access-file', 'ws'])
    // libsodium is the shim (sodium-javascript only behind it), never a declaration file.
    expect(inputs).toContain('hypha-sodium:sodium')
    expect(inputs.some((input) => input.endsWith('packages/browser/src/sodium-shim.ts'))).toBe(true)
    expect(inputs.filter((input) => input.endsWith('.d.ts') || input.endsWith('.d.cts'))).toEqual([])
    // The libraries are really in there.
    for (const name of ['autobase', 'hyperbee', 'corestore', 'hypercore', '@hyperswarm/secret-stream', 'simple-peer', '@noble/curves']) {
      expect(inputs.some((input) => input.includes(`/node_modules/${name}/`)), name).toBe(true)
    }
    expect(result.warnings).toEqual([])
    console.log(`browser bundle: ${result.bytes} bytes minified, ${result.gzipBytes} bytes gzipped (${(result.gzipBytes / 1024).toFixed(1)} KiB)`)
    expect(result.gzipBytes).toBeLessThan(result.bytes)
  })

  it('catches Node-only code when an entry pulls it in', async () => {
    const result = await buildBrowserBundle({ entry: entry('native-entry.ts') })
    const found = nodeInputs(result)
    expect(found).toEqual(expect.arrayContaining(['hypha-node-only:net']))
    expect(found.some((input) => input.includes('/node_modules/hyperswarm/'))).toBe(false) // stubbed, not bundled
    expect(result.stubs).toEqual(expect.arrayContaining(['hyperswarm', 'net', 'random-access-file', 'ws']))
  })
})
