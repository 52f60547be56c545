// Bundles the web example (examples/web/src/app.ts) for browsers into examples/web/dist/app.js,
// with @hypha/browser's esbuild recipe (the libsodium shim, events/process), and refuses a bundle
// with Node code in it.
//
//   node examples/dist/build-web.js [--no-minify]
//
// Then serve it with the always-on node: node examples/dist/always-on.js --web examples/web (then paste the locator)
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildBrowserBundle, type BrowserBundleResult } from '@hypha/browser'

/** examples/web/ (with a trailing slash). */
export const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url))
export const WEB_ENTRY = `${WEB_DIR}src/app.ts`
export const WEB_BUNDLE = `${WEB_DIR}dist/app.js`

/**
 * Files of third-party packages that only work in Node (random-access-file's index.js: its
 * browser.js is what a browser bundle gets). Our own Node-only entries cannot get in: they fail the
 * build (their package.json maps the `browser` condition to null).
 */
const NODE_ONLY_FILE = /\/node_modules\/(?:ws|hyperswarm|hyperdht|dht-rpc|udx-native|node-datachannel|@roamhq\/wrtc|sodium-native|fs-native-extensions|require-addon|bare-fs)\/|\/node_modules\/random-access-file\/index\.js$/

/** Node code in a bundle: stubbed Node built-ins, and files of Node-only packages. A correct browser app has none. */
export function nodeCodeIn(result: BrowserBundleResult): string[] {
  return [...result.stubs.map((name) => `stub: ${name}`), ...Object.keys(result.metafile.inputs).filter((input) => NODE_ONLY_FILE.test(input))]
}

export async function buildWebApp(options: { minify?: boolean } = {}): Promise<BrowserBundleResult> {
  const result = await buildBrowserBundle({ entry: WEB_ENTRY, outfile: WEB_BUNDLE, minify: options.minify ?? true })
  const leaked = nodeCodeIn(result)
  if (leaked.length > 0) throw new Error(`Node code leaked into the web app: ${leaked.join(', ')}`)
  return result
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildWebApp({ minify: !process.argv.includes('--no-minify') }).then(
    (result) => {
      const kb = (n: number) => `${Math.round(n / 1024)} KiB`
      process.stdout.write(`built ${result.outfile} (${kb(result.bytes)}, ${kb(result.gzipBytes)} gzipped)\n`)
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`)
      process.exit(1)
    }
  )
}
