// A Vite app's own imports of the modules the plugin replaces (copied into the temporary app by
// vite.test.ts): libsodium as an ES default import, and the events polyfill.
import sodium from 'sodium-javascript'
import { EventEmitter } from 'events'

const lib = sodium as unknown as Record<string, unknown>
window.hyphaDirect = {
  noclamp: typeof lib.crypto_scalarmult_ed25519_noclamp,
  secretbox: typeof lib.crypto_secretbox_easy,
  emitter: typeof EventEmitter
}
document.title = 'ready'

declare global {
  interface Window {
    hyphaDirect: { noclamp: string; secretbox: string; emitter: string }
  }
}
