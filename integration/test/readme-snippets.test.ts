// The code in the READMEs, checked so it cannot rot. The convention (the fence's info string):
//   ```ts            a complete module: type-checked as is, against the built packages
//   ```ts run        a complete module that is also RUN here (Node, loopback), with the
//                    substitutions below (fast test KDF, free ports) and nothing else changed
//   ```ts fragment <context>   part of a program: type-checked after the declarations CONTEXTS[context]
//   ```ts signature  an API shape, not code: not compiled; its function must be an export of the package
// Any other ts/js fence fails the test, so a new snippet has to pick one. The type-check uses the
// real TypeScript compiler with a strict user's options, each snippet a file of its own under
// integration/test-artifacts/ (so `@hypha/*` resolve to the built packages, as in an app).
// Also: every API index is up to date (scripts/api-index.mjs), and every relative link resolves.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const outDir = path.join(root, 'integration', 'test-artifacts', 'readme-snippets')

const READMES = [
  'README.md',
  ...fs.readdirSync(path.join(root, 'packages')).map((dir) => `packages/${dir}/README.md`)
].filter((file) => fs.existsSync(path.join(root, file)))

/** Declarations a fragment is checked after: what the surrounding program would have. */
const CONTEXTS: Record<string, string> = {
  node: `import type { HyphaNode } from '@hypha/node-core'
declare const node: HyphaNode
declare function removeNote(key: string): void
declare function showNote(key: string, value: string | Uint8Array): void`,
  'node-pair': `import type { HyphaNode } from '@hypha/node-core'
import type { SecretStream } from '@hypha/node-core'
declare const nodeA: HyphaNode
declare const nodeB: HyphaNode
// @hyperswarm/secret-stream ships no types: what the snippet uses of it
declare const NoiseSecretStream: new (isInitiator: boolean) => SecretStream & { rawStream: NodeJS.ReadWriteStream }`,
  replication: `import type { ReplicationStream } from '@hypha/ephemeral-ext'
import type { SecretStream } from '@hypha/node-core'
declare const core: { discoveryKey: Uint8Array }
declare const store: { replicate(stream: SecretStream): ReplicationStream }
declare const noiseStream: SecretStream`,
  channel: `declare const discoveryKey: Uint8Array
declare const memberKey: Uint8Array
declare const channelKey: Uint8Array
declare const nodeKeyPair: { publicKey: Uint8Array; secretKey: Uint8Array }
declare const relayEphemeral: import('@hypha/ephemeral-ext').EphemeralExtension`
}

/** Substitutions applied to every `ts run` block before it runs (each must match in some block). */
const FAST_KDF = '{ iterations: 1, memoryKiB: 64 }'
const SUBSTITUTIONS: { why: string; from: RegExp; to: (ports: number[]) => string }[] = [
  { why: 'fast test KDF in signUp/signIn (the real cost is seconds per call)', from: /name: 'ada@example\.com',/g, to: () => `name: 'ada@example.com', kdf: ${FAST_KDF},` },
  { why: 'fast test KDF in deriveRootSecret', from: /deriveRootSecret\(([^()]*)\)/g, to: () => `deriveRootSecret($1, ${FAST_KDF})` },
  { why: 'a free port instead of 4001 (tests run side by side)', from: /\b4001\b/g, to: (ports) => String(ports[0]) },
  { why: 'a free port instead of 4002', from: /\b4002\b/g, to: (ports) => String(ports[1]) }
]

/**
 * What a run must print, what to type when it asks (the person at the terminal), and changes for
 * this README's run alone (`local`: each must match; `before`/`after`: code around the snippet).
 */
const RUNS: Record<
  string,
  {
    expect: RegExp[]
    answers?: { when: RegExp; type: string }[]
    local?: { why: string; from: RegExp; to: string }[]
    before?: string
    after?: string
  }
> = {
  'packages/auth/README.md': {
    expect: [/Firefox shows code \d{3} ?\d{3} beside "Laptop"/, /laptop reads: hello from Firefox/, /firefox reads: hello from the laptop/],
    answers: [{ when: /Authorise node "Firefox on Ubuntu 64-bit"\? Code \d{3} ?\d{3} \[y\/N\]/, type: 'y\n' }]
  },
  'packages/node-core/README.md': { expect: [/phone reads: hello from the laptop/, /laptop reads: hello from the phone/] },
  'packages/transport-tcp/README.md': { expect: [/phone reads: hello over TCP/] },
  'packages/transport-websocket/README.md': { expect: [/phone reads: hello over WebSocket/] },
  'packages/transport-webrtc/README.md': { expect: [/phone reads: hello over WebRTC/] },
  'packages/storage-file/README.md': { expect: [/after reopening: kept on disk/] },
  'packages/transport-hyperswarm/README.md': {
    expect: [/phone reads: hello over Hyperswarm/],
    // A local DHT on 127.0.0.1 instead of the public one (a test must not depend on the internet).
    before: "import createTestnet from 'hyperdht/testnet.js'\nconst testnet = await createTestnet(3, { host: '127.0.0.1' })\n",
    local: [{ why: 'the local DHT', from: /hyperswarmTransport\(\)/g, to: "hyperswarmTransport({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })" }],
    after: '\nawait testnet.destroy()\n'
  }
}

interface Block {
  readme: string
  line: number
  lang: string
  mode: string
  context?: string
  code: string
  file?: string
}

/** Fenced blocks, indented ones too (a fence closes at the same indent). */
function blocksOf(readme: string): Block[] {
  const lines = fs.readFileSync(path.join(root, readme), 'utf8').split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```(\S*)\s*(.*)$/.exec(lines[i]!)
    if (!open) continue
    const indent = open[1]!
    let j = i + 1
    while (j < lines.length && lines[j] !== `${indent}\`\`\``) j++
    const [mode = '', context] = open[3]!.trim().split(/\s+/)
    const code = lines.slice(i + 1, j).map((l) => l.slice(indent.length)).join('\n')
    blocks.push({ readme, line: i + 1, lang: open[2]!, mode, context, code })
    i = j
  }
  return blocks
}

const all = READMES.flatMap(blocksOf)
const code = all.filter((b) => ['ts', 'js', 'typescript', 'javascript', 'mjs', 'tsx'].includes(b.lang))
const compiled = code.filter((b) => b.mode !== 'signature')
const where = (b: Block) => `${b.readme}:${b.line}`

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

let diagnostics = new Map<string, string[]>()

beforeAll(() => {
  fs.rmSync(outDir, { recursive: true, force: true })
  fs.mkdirSync(outDir, { recursive: true })
  for (const [i, block] of compiled.entries()) {
    const slug = `${block.readme.replace(/\/README\.md$|\.md$/, '').replace(/[^a-z0-9]+/gi, '-')}-${block.line}`
    block.file = path.join(outDir, `${String(i).padStart(2, '0')}-${slug}.mts`)
    const prefix = block.mode === 'fragment' ? `${CONTEXTS[block.context ?? ''] ?? ''}\n` : ''
    fs.writeFileSync(block.file, `${prefix}${block.code}\nexport {}\n`)
  }
  // A strict user's settings (the `npm create vite` and Node templates' strictness), Node's types.
  const program = ts.createProgram(
    compiled.map((b) => b.file!),
    {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
      skipLibCheck: true,
      noUnusedLocals: false
    }
  )
  diagnostics = new Map()
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName ?? '(global)'
    const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0
    const list = diagnostics.get(file) ?? []
    list.push(`snippet line ${at}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
    diagnostics.set(file, list)
  }
}, 180_000)

afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }))

describe('README snippets', () => {
  it('finds the quick starts', () => {
    expect(Object.keys(RUNS).every((readme) => code.some((b) => b.readme === readme && b.mode === 'run'))).toBe(true)
    expect(diagnostics.get('(global)') ?? []).toEqual([])
  })

  for (const block of code) {
    if (block.mode === 'signature') {
      it(`${where(block)} (ts signature: an API shape, not compiled) names an export of its package`, () => {
        const fn = /^\s*(?:new\s+)?(\w+)/.exec(block.code)?.[1]
        expect(fn, 'a signature starts with the function it describes').toBeTruthy()
        expect(fs.readFileSync(path.join(root, block.readme), 'utf8')).toContain(`| \`${fn}\` |`)
      })
      continue
    }
    it(`${where(block)} is a ts, ts run or ts fragment <context> block`, () => {
      expect(block.lang, 'the fence language').toBe('ts')
      expect(['', 'run', 'fragment']).toContain(block.mode)
      if (block.mode === 'fragment') expect(Object.keys(CONTEXTS)).toContain(block.context)
    })
    it(`${where(block)} type-checks${block.mode === 'fragment' ? ` (in context "${block.context}")` : ''}`, () => {
      expect(diagnostics.get(block.file!) ?? []).toEqual([])
    })
  }

  for (const [readme, run] of Object.entries(RUNS)) {
    it(`${readme}: the quick start runs`, async () => {
      const blocks = code.filter((b) => b.readme === readme && b.mode === 'run')
      expect(blocks).toHaveLength(1)
      const block = blocks[0]!
      const ports = [await freePort(), await freePort()]
      let source = block.code
      for (const s of SUBSTITUTIONS) source = source.replace(s.from, s.to(ports))
      for (const s of run.local ?? []) {
        expect(source, s.why).toMatch(new RegExp(s.from.source))
        source = source.replace(s.from, s.to)
      }
      source = `${run.before ?? ''}${source}${run.after ?? ''}`
      const js = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
      }).outputText
      const file = block.file!.replace(/\.mts$/, '.run.mjs')
      fs.writeFileSync(file, js)
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'hypha-readme-'))
      try {
        const result = await runNode(file, cwd, run.answers ?? [])
        const shown = `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
        expect(result.code, shown).toBe(0)
        for (const pattern of run.expect) expect(result.stdout, shown).toMatch(pattern)
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true })
      }
    }, 150_000)
  }

  it("names in an `npm i` line of its README every package its complete snippets import", () => {
    const missing: string[] = []
    for (const readme of READMES) {
      const installed = new Set(
        all
          .filter((b) => b.readme === readme && b.lang === 'sh')
          .flatMap((b) => [...b.code.matchAll(/^npm i(?:nstall)?((?: +[^\s#]+)+)/gm)].flatMap((m) => m[1]!.trim().split(/ +/)))
          .filter((word) => !word.startsWith('-'))
      )
      for (const block of compiled.filter((b) => b.readme === readme && b.mode !== 'fragment')) {
        for (const [, specifier] of block.code.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)) {
          if (specifier!.startsWith('node:') || specifier!.startsWith('.')) continue
          const name = specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!
          if (!installed.has(name)) missing.push(`${where(block)} imports ${specifier}: not in an npm i line of ${readme}`)
        }
      }
    }
    expect(missing).toEqual([])
  })

  it('uses every substitution somewhere (a snippet that changed is noticed)', () => {
    const runs = code.filter((b) => b.mode === 'run').map((b) => b.code).join('\n')
    for (const s of SUBSTITUTIONS) expect(runs, s.why).toMatch(new RegExp(s.from.source))
  })

  it('keeps every API index up to date (scripts/api-index.mjs --check)', () => {
    const check = spawnSync(process.execPath, [path.join(root, 'scripts', 'api-index.mjs'), '--check'], { encoding: 'utf8' })
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0)
  }, 120_000)

  it('links only to files that exist in the repository', () => {
    const broken: string[] = []
    for (const readme of [...READMES, 'examples/README.md']) {
      const text = fs.readFileSync(path.join(root, readme), 'utf8')
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target!)) continue
        const file = path.resolve(path.dirname(path.join(root, readme)), target!.split('#')[0]!)
        if (!file.startsWith(root + path.sep) || !fs.existsSync(file)) broken.push(`${readme}: ${target}`)
      }
    }
    expect(broken).toEqual([])
  })
})

/** Runs `node file` in `cwd`, typing each answer once its prompt appears; kills it after 120 s. */
function runNode(file: string, cwd: string, answers: { when: RegExp; type: string }[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [file], { cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const pending = [...answers]
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      while (pending.length > 0 && pending[0]!.when.test(stdout)) child.stdin.write(pending.shift()!.type)
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
