export {
  buildBrowserBundle,
  browserBuildOptions,
  hyphaBrowserPlugin,
  SODIUM_SHIM_PATH,
  type BrowserBundleOptions,
  type BrowserBundleResult
} from './build.js'
