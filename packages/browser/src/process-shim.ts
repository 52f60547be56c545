// Injected into browser bundles (esbuild `inject`): every free `process` in the bundled code
// (readable-stream's process.nextTick, simple-peer's process.env checks, …) becomes the
// `process` package's browser shim.
import process from 'process'

export { process }
