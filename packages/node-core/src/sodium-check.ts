/**
 * The start-up check that libsodium is complete. In a browser, sodium-universal maps to
 * sodium-javascript, which lacks `crypto_scalarmult_ed25519_noclamp`: the Noise handshake
 * (noise-curve-ed) needs it, so without @hypha/browser's shim every connection would fail later
 * with a bare "Noise handshake failed". Checked once per node, before any connection.
 */
import sodium from 'sodium-universal'
import { HyphaNodeError } from './engine/errors.js'

/** The fix, for the error message: one line per way of building. */
const FIX =
  'Build the app with @hypha/browser\'s libsodium shim: Vite: `plugins: [hyphaVitePlugin()]` with ' +
  "`import { hyphaVitePlugin } from '@hypha/browser/vite'`; esbuild: `plugins: [hyphaBrowserPlugin()]` " +
  "from '@hypha/browser' (or its buildBrowserBundle); another bundler: resolve sodium-native and " +
  "sodium-javascript to a CommonJS module `module.exports = require('@hypha/browser/sodium-shim').default` " +
  "(see @hypha/browser's README)."

/** Throws `ERR_SODIUM_SHIM_MISSING` if the libsodium in use cannot run the Noise handshake. */
export function checkSodium(lib: object = sodium): void {
  if (typeof (lib as Record<string, unknown>).crypto_scalarmult_ed25519_noclamp === 'function') return
  throw new HyphaNodeError(
    'ERR_SODIUM_SHIM_MISSING',
    `libsodium lacks crypto_scalarmult_ed25519_noclamp, which the Noise handshake needs: every connection would fail. ${FIX}`
  )
}
