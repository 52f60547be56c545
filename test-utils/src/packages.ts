// The repository's publishable packages (packages/*) and their export entries, read from their
// package.json files: one list for every test that must cover each entry (bundling, declarations).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** packages/ of the repository (absolute, with a trailing separator). */
export const PACKAGES_DIR = fileURLToPath(new URL('../../packages/', import.meta.url))

/** The fields of a package.json these tests read. */
export interface PackageManifest {
  name: string
  private?: boolean
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  exports?: Record<string, string | Record<string, string | null>>
}

/** A public package: its folder name under packages/, its absolute directory, its manifest. */
export interface PublicPackage {
  folder: string
  dir: string
  manifest: PackageManifest
}

/** One `exports` entry of a public package. */
export interface PackageEntry {
  /** What an app imports: `@hypha/transport-websocket/server`. */
  specifier: string
  /** The `exports` key: `.`, `./server`. */
  path: string
  /** The package's absolute directory. */
  dir: string
  /** False when the entry maps the `browser` condition to null (Node-only). */
  browser: boolean
}

/** Every public package under packages/, by folder name. */
export function publicPackages(): PublicPackage[] {
  return readdirSync(PACKAGES_DIR)
    .sort()
    .map((folder) => {
      const dir = join(PACKAGES_DIR, folder)
      return { folder, dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageManifest }
    })
    .filter(({ manifest }) => manifest.private !== true)
}

/** Every export entry of every public package, in package then `exports` order (no `exports`: `.` only). */
export function packageEntries(): PackageEntry[] {
  return publicPackages().flatMap(({ dir, manifest }) =>
    Object.entries(manifest.exports ?? { '.': {} }).map(([path, target]) => ({
      specifier: manifest.name + path.slice(1),
      path,
      dir,
      browser: !(typeof target === 'object' && target.browser === null)
    }))
  )
}

/**
 * The entries expected to be Node-only (`browser: null`), in `packageEntries()` order: written out
 * by hand so the tests that read the manifests (the esbuild build test, the Vite plugin test) fail
 * when an entry's browser condition changes. A new Node-only entry is added here.
 */
export const EXPECTED_NODE_ONLY_SPECIFIERS: readonly string[] = Object.freeze([
  '@hypha/browser',
  '@hypha/browser/vite',
  '@hypha/storage-file',
  '@hypha/transport-hyperswarm',
  '@hypha/transport-tcp',
  '@hypha/transport-webrtc/signalling-server',
  '@hypha/transport-webrtc/node-datachannel',
  '@hypha/transport-websocket/server'
])
