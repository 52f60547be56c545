// Bundles the web example (examples/web/src/app.ts) for browsers into examples/web/dist/app.js,
// with @hypha/browser's esbuild recipe (the libsodium shim, events/process, Node-only stubs).
//
//   node examples/dist/build-web.js [--no-minify]
//
// Then serve it with the always-on node: node examples/dist/always-on.js --web examples/web (then paste the locator)
import { fileURLToPath, pathToFileURL } from 'node:url'
// Relative import: @hypha/browser is not (yet) a dependency of the examples package.
import { buildBrowserBundle, type BrowserBundleResult } from '@hypha/browser'

/** examples/web/ (with a trailing slash). */
export const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url))
export const WEB_ENTRY = `${WEB_DIR}src/app.ts`
export const WEB_BUNDLE = `${WEB_DIR}dist/app.js`

/** The stubs a correct browser app has (see packages/browser/README.md); anything else is a leak. */
const EXPECTED_STUBS = ['random-access-file', 'ws']

export async function buildWebApp(options: { minify?: boolean } = {}): Promise<BrowserBundleResult> {
  const result = await buildBrowserBundle({ entry: WEB_ENTRY, outfile: WEB_BUNDLE, minify: options.minify ?? true })
  if (result.stubs.join(',') !== EXPECTED_STUBS.join(',')) {
    throw new Error(`Node-only code leaked into the web app: stubs ${result.stubs.join(', ')} (expected ${EXPECTED_STUBS.join(', ')})`)
  }
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
