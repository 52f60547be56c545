// The published declarations as a consumer's compiler sees them: two small apps outside the
// workspace (a Vite-style browser app with no Node types, a Node app with @types/node) import
// every public entry through `node_modules/@hypha/*` and the packages' `exports`, and the real
// TypeScript compiler checks them strictly with skipLibCheck off, so every .d.ts reached (ours and
// third-party ones) is checked too. The end-to-end check with npm-installed tarballs is elsewhere;
// this one is the fast guard.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'
import { packageEntries, publicPackages, type PackageEntry } from '@hypha/test-utils/packages'

const repo = realpathSync(fileURLToPath(new URL('../..', import.meta.url)))
const packagesDir = join(repo, 'packages')
const fixtures = join(repo, 'integration', 'fixtures', 'declarations')

/** Browser packages a Node app without the DOM library cannot type-check: IndexedDB is their point. */
const NEEDS_DOM = new Set(['@hypha/storage-indexeddb'])

const sandboxes: string[] = []
afterAll(() => {
  for (const dir of sandboxes) rmSync(dir, { recursive: true, force: true })
})

/**
 * Copies a fixture outside the repository (so nothing of the workspace's node_modules is found
 * from it), links the packages in as an install would, and adds `entries.ts` importing `entries`.
 * (The linked packages still find their devDependencies through the workspace: the import test
 * below covers what an install would lack.)
 */
function sandbox(fixture: 'browser' | 'node', entries: PackageEntry[]): string {
  const dir = mkdtempSync(join(tmpdir(), `hypha-declarations-${fixture}-`))
  sandboxes.push(dir)
  cpSync(join(fixtures, fixture), dir, { recursive: true })
  mkdirSync(join(dir, 'node_modules', '@hypha'), { recursive: true })
  for (const { folder, manifest } of publicPackages()) {
    symlinkSync(join(packagesDir, folder), join(dir, 'node_modules', manifest.name), 'dir')
  }
  if (fixture === 'node') {
    mkdirSync(join(dir, 'node_modules', '@types'))
    symlinkSync(realpathSync(join(repo, 'node_modules', '@types', 'node')), join(dir, 'node_modules', '@types', 'node'), 'dir')
  }
  const lines = entries.map(({ specifier }, i) => `export * as entry${i} from '${specifier}'`)
  writeFileSync(join(dir, 'entries.ts'), `// Generated: every entry this app can import.\n${lines.join('\n')}\n`)
  return dir
}

/** Type-checks the sandbox's project; returns the program and its diagnostics as text. */
function check(dir: string): { program: ts.Program; errors: string } {
  const configErrors: ts.Diagnostic[] = []
  const config = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => configErrors.push(diagnostic)
  })
  if (!config) throw new Error(`unreadable tsconfig.json in ${dir}`)
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options })
  const diagnostics = [...configErrors, ...config.errors, ...ts.getPreEmitDiagnostics(program)]
  const errors = diagnostics.map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    if (!diagnostic.file || diagnostic.start === undefined) return `error TS${diagnostic.code}: ${text}`
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
    return `${diagnostic.file.fileName}(${line + 1},${character + 1}): error TS${diagnostic.code}: ${text}`
  })
  return { program, errors: errors.join('\n').split(dir).join('<app>').split(repo).join('<repo>') }
}

/** The program's files that are ours: each must be a built declaration, as a consumer gets it. */
function ourFiles(program: ts.Program): string[] {
  return program
    .getSourceFiles()
    .map((file) => realpathSync(file.fileName))
    .filter((name) => name.startsWith(packagesDir + sep) && !name.slice(packagesDir.length + 1).includes(`${sep}node_modules${sep}`))
}

/** Every .d.ts under `dir`. */
function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return declarationFiles(path)
    return entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** The bare specifiers a declaration file imports or references (docstrings, which quote imports, are skipped). */
function bareImports(text: string): string[] {
  const references = [...text.matchAll(/^\/\/\/\s*<reference types="([^"]+)"/gm)].map((m) => m[1]!)
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
  const imports = [...code.matchAll(/(?:\bfrom|\bimport\(?)\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!)
  return [...references, ...imports].filter((specifier) => !specifier.startsWith('.'))
}

describe('published declarations', () => {
  it('import only their own package\'s dependencies (an install has no devDependencies) and nothing typed by /types', () => {
    const undeclared: string[] = []
    // Modules typed only by the repository's own /types files (tsconfig paths): no consumer has those.
    const repoTyped = new Set(Object.keys((JSON.parse(readFileSync(join(repo, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: { paths: object } }).compilerOptions.paths))
    expect(repoTyped.has('protomux')).toBe(true)
    for (const { folder, manifest } of publicPackages()) {
      const allowed = new Set([manifest.name, ...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})])
      for (const file of declarationFiles(join(packagesDir, folder, 'dist'))) {
        for (const specifier of bareImports(readFileSync(file, 'utf8'))) {
          // Node's modules and types: the browser app's check (no @types/node) judges where they may be.
          if (isBuiltin(specifier) || specifier === 'node') continue
          const name = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/')
          if (!allowed.has(name)) undeclared.push(`${file.slice(repo.length + 1)}: ${specifier}`)
          if (repoTyped.has(specifier)) undeclared.push(`${file.slice(repo.length + 1)}: ${specifier} (typed only in this repository)`)
        }
      }
    }
    expect(undeclared).toEqual([])
  })

  it('lists both kinds of entry', () => {
    const entries = packageEntries()
    // A guard on the guard: if the exports moved, the checks below would import nothing.
    expect(entries.map((e) => e.specifier)).toEqual(expect.arrayContaining(['@hypha/node-core', '@hypha/transport-websocket/server']))
    expect(entries.find((e) => e.specifier === '@hypha/transport-websocket/server')?.browser).toBe(false)
    expect(entries.find((e) => e.specifier === '@hypha/transport-websocket')?.browser).toBe(true)
  })

  // Timeouts only so a loaded machine does not fail them: each is one full type-check.
  it('type-check in a browser app with no Node types (Vite vanilla-ts settings, skipLibCheck off)', { timeout: 300_000 }, () => {
    const entries = packageEntries().filter((entry) => entry.browser)
    const { program, errors } = check(sandbox('browser', entries))
    expect(errors).toBe('')
    const files = program.getSourceFiles().map((file) => file.fileName)
    // Nothing may pull Node's types in (a `/// <reference types="node" />`, an import of 'events').
    expect(files.filter((name) => name.includes(`${sep}@types${sep}node${sep}`))).toEqual([])
    const ours = ourFiles(program)
    expect(ours.length).toBeGreaterThan(0)
    expect(ours.filter((name) => !name.endsWith('.d.ts') || !name.includes(`${sep}dist${sep}`))).toEqual([])
  })

  it('type-check in a Node app with @types/node (NodeNext, no DOM, skipLibCheck off)', { timeout: 300_000 }, () => {
    const entries = packageEntries().filter((entry) => !NEEDS_DOM.has(entry.specifier.replace(/^(@[^/]+\/[^/]+).*$/, '$1')))
    const { program, errors } = check(sandbox('node', entries))
    expect(errors).toBe('')
    const ours = ourFiles(program)
    expect(ours.length).toBeGreaterThan(0)
    expect(ours.filter((name) => !name.endsWith('.d.ts') || !name.includes(`${sep}dist${sep}`))).toEqual([])
  })
})
