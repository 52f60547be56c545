export {
  buildBrowserBundle,
  browserBuildOptions,
  hyphaBrowserPlugin,
  NODE_ONLY_PACKAGES,
  SODIUM_SHIM_PATH,
  type BrowserBundleOptions,
  type BrowserBundleResult
} from './build.js'
