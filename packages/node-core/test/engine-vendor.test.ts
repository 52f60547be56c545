// The vendored engine (vendor/engine.cjs, scripts/vendor-engine.mjs): the versions node-core was
// tested with, whatever the app's tree holds (issue 13, input 2: a hoisted autobase 6.5 took an
// app's hyperbee 2.27 and crashed at open).
import { describe, it, expect, afterAll } from 'vitest'
import { createRequire } from 'node:module'
import { copyFile, mkdir, mkdtemp, readFile, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ENGINE_VERSIONS } from '../src/engine/holepunch.js'

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))
const ENGINE = ['autobase', 'hyperbee', 'corestore', 'hypercore']
const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true })
})

async function manifest(): Promise<{ dependencies: Record<string, string>; devDependencies: Record<string, string> }> {
  return JSON.parse(await readFile(join(PACKAGE_DIR, 'package.json'), 'utf8'))
}

describe('the vendored engine', () => {
  it('has the versions package.json pins, and none of them is a dependency an install could swap', async () => {
    const pkg = await manifest()
    for (const name of ENGINE) {
      expect(ENGINE_VERSIONS[name], name).toBe(pkg.devDependencies[name])
      expect(pkg.dependencies[name], name).toBeUndefined()
    }
  })

  it('runs an Autobase with a Hyperbee view in an app whose tree holds other autobase, hyperbee, corestore and hypercore', async () => {
    // An app: the engine file as installed, node-core's declared dependencies beside it, and the
    // four engine packages replaced by ones that throw when loaded (as hyperbee 2.27 broke at open).
    const app = await mkdtemp(join(tmpdir(), 'hypha-engine-'))
    temps.push(app)
    const modules = join(app, 'node_modules')
    for (const name of Object.keys((await manifest()).dependencies)) {
      if (name.startsWith('@hypha/')) continue
      await mkdir(dirname(join(modules, name)), { recursive: true })
      await symlink(await realpath(join(PACKAGE_DIR, 'node_modules', name)), join(modules, name), 'dir')
    }
    for (const name of ENGINE) {
      await mkdir(join(modules, name), { recursive: true })
      await writeFile(join(modules, name, 'package.json'), JSON.stringify({ name, version: '99.0.0', main: 'index.js' }))
      await writeFile(join(modules, name, 'index.js'), `throw new Error('the app tree\\'s ${name} was loaded')\n`)
    }
    const vendorDir = join(modules, '@hypha', 'node-core', 'vendor')
    await mkdir(vendorDir, { recursive: true })
    await copyFile(join(PACKAGE_DIR, 'vendor', 'engine.cjs'), join(vendorDir, 'engine.cjs'))
    expect((await readdir(vendorDir)).sort()).toEqual(['engine.cjs'])

    const appRequire = createRequire(join(app, 'index.js'))
    expect(() => appRequire('hyperbee')).toThrow("the app tree's hyperbee was loaded")
    const engine = appRequire(join(vendorDir, 'engine.cjs'))
    const RAM = appRequire('random-access-memory')

    const base = new engine.Autobase(new engine.Corestore(RAM.reusable()), null, {
      valueEncoding: 'json',
      open: (store: any) => new engine.Hyperbee(store.get('view'), { keyEncoding: 'utf-8', valueEncoding: 'utf-8', extension: false }),
      apply: async (nodes: Array<{ value: { key: string; value: string } }>, view: any) => {
        for (const node of nodes) await view.put(node.value.key, node.value.value)
      }
    })
    try {
      await base.append({ key: 'hello', value: 'world' })
      await base.update()
      expect((await base.view.get('hello'))?.value).toBe('world')
    } finally {
      await base.close()
    }
  })

  it('is reached only through src/engine/holepunch.ts', async () => {
    const offenders: string[] = []
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) await walk(path)
        else if (/\.[cm]?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') && entry.name !== 'holepunch.ts') {
          const text = await readFile(path, 'utf8')
          if (new RegExp(`(from|import\\(|require\\()\\s*['"](${ENGINE.join('|')})['"]`).test(text)) offenders.push(path.slice(PACKAGE_DIR.length))
        }
      }
    }
    await walk(join(PACKAGE_DIR, 'src'))
    expect(offenders).toEqual([])
  })
})
