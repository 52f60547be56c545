// What npm shows a stranger about each published package, and what it installs: checked from the
// manifests themselves (fast, no packing; the packaging test installs the real tarballs). The
// repository URL is written once, in the root package.json: every package must use the same one.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

interface Manifest {
  name: string
  private?: boolean
  license?: string
  author?: string
  keywords?: string[]
  repository?: { type?: string; url?: string; directory?: string }
  homepage?: string
  bugs?: string | { url?: string }
  engines?: { node?: string }
  files?: string[]
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
}

const read = (file: string): Manifest => JSON.parse(fs.readFileSync(file, 'utf8'))
const rootManifest = read(path.join(root, 'package.json'))

/** Every workspace package, from pnpm-workspace.yaml's globs (one level: `dir` or `dir/*`). */
function workspacePackages(): { dir: string; manifest: Manifest }[] {
  const globs = [...fs.readFileSync(path.join(root, 'pnpm-workspace.yaml'), 'utf8').matchAll(/^\s*-\s*['"]?([^'"\n]+)['"]?\s*$/gm)].map((m) => m[1]!)
  const dirs = globs.flatMap((glob) =>
    glob.endsWith('/*')
      ? fs.readdirSync(path.join(root, glob.slice(0, -2))).map((d) => path.join(glob.slice(0, -2), d))
      : [glob]
  )
  return dirs
    .filter((dir) => fs.existsSync(path.join(root, dir, 'package.json')))
    .map((dir) => ({ dir, manifest: read(path.join(root, dir, 'package.json')) }))
}

const all = workspacePackages()
const published = all.filter((p) => !p.manifest.private)
const privateNames = all.filter((p) => p.manifest.private).map((p) => p.manifest.name)
const REPO = 'https://github.com/hypha-p2p/hypha'

describe('package metadata', () => {
  it('finds the public packages and the private helpers', () => {
    expect(published.map((p) => p.dir).sort()).toEqual(
      fs.readdirSync(path.join(root, 'packages')).map((d) => `packages/${d}`).sort()
    )
    expect(privateNames).toEqual(expect.arrayContaining(['@hypha/test-utils', '@hypha/adapter-tests']))
  })

  it('defines the repository once, in the root package.json', () => {
    expect(rootManifest.repository).toEqual({ type: 'git', url: `git+${REPO}.git` })
    expect(rootManifest.license).toBe('MIT')
  })

  it('has an MIT LICENSE at the root, copied unchanged into every public package (npm packs it from there)', () => {
    const license = fs.readFileSync(path.join(root, 'LICENSE'), 'utf8')
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the Hypha authors\n/)
    for (const { dir } of published) {
      expect(fs.readFileSync(path.join(root, dir, 'LICENSE'), 'utf8'), `${dir}/LICENSE`).toBe(license)
    }
  })

  for (const { dir, manifest } of published) {
    describe(manifest.name, () => {
      it('has the metadata npm shows: license, author, keywords, repository, homepage, bugs, engines', () => {
        expect(manifest.license).toBe('MIT')
        expect(manifest.author).toBe('the Hypha authors')
        expect(manifest.keywords).toEqual(expect.arrayContaining(['hypha', 'p2p', 'local-first']))
        expect(new Set(manifest.keywords).size).toBe(manifest.keywords!.length)
        expect(manifest.repository).toEqual({ type: 'git', url: rootManifest.repository!.url, directory: dir })
        expect(manifest.homepage).toBe(`${REPO}/tree/main/${dir}#readme`)
        expect(manifest.bugs).toBe(`${REPO}/issues`)
        expect(manifest.engines).toEqual({ node: '>=20' })
        expect(fs.existsSync(path.join(root, dir, 'README.md'))).toBe(true)
      })

      it('names no private workspace package in any dependency field', () => {
        for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const) {
          const named = Object.keys(manifest[field] ?? {}).filter((name) => privateNames.includes(name))
          expect(named, `${dir}/package.json ${field}`).toEqual([])
        }
      })
    })
  }

  it('lets the tests still find the private helpers: the root depends on them, so resolution walks up to it', () => {
    for (const name of ['@hypha/test-utils', '@hypha/adapter-tests']) {
      expect(rootManifest.devDependencies?.[name]).toBe('workspace:*')
      expect(fs.existsSync(path.join(root, 'node_modules', name, 'package.json')), `node_modules/${name}`).toBe(true)
    }
  })
})
