// The published declarations work for a consumer: a TypeScript project with skipLibCheck: false
// (so every .d.ts it reaches is checked) compiles against the built packages, as linked from npm.
import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const run = promisify(execFile)
const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
let dir: string | null = null
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
  dir = null
})

describe('published types', () => {
  it('a consumer with skipLibCheck: false type-checks against @hypha/auth, @hypha/node-core and its native entry', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hypha-consumer-'))
    await mkdir(join(dir, 'node_modules', '@hypha'), { recursive: true })
    await mkdir(join(dir, 'node_modules', '@types'), { recursive: true })
    for (const name of ['auth', 'node-core', 'ephemeral-ext', 'secure-channel', 'transport-tcp']) {
      await symlink(join(repo, 'packages', name), join(dir, 'node_modules', '@hypha', name))
    }
    await symlink(join(repo, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'))
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }')
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] },
        files: ['app.ts']
      })
    )
    await writeFile(
      join(dir, 'app.ts'),
      `import { signUp, signIn, recover, type Account, type AuthorisationPrompt } from '@hypha/auth'
import { HyphaNode, memoryStorage, type Device } from '@hypha/node-core'
import { tcpServer, tcpClient } from '@hypha/transport-tcp'
import { EphemeralExtension, muxerOf } from '@hypha/ephemeral-ext'
const account: Account = await signUp({ name: 'ada', nodeName: 'Laptop', storage: memoryStorage(), transports: [tcpServer({ port: 0 })] })
account.on('authorisation-request', (prompt: AuthorisationPrompt) => console.log(prompt.code, prompt.warnings))
const node: HyphaNode = account.node
node.on('update', () => {})
const devices: Device[] = await node.devices()
console.log(devices.length, account.locator, signIn, recover, tcpClient, EphemeralExtension, muxerOf)
`
    )
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')
    const result = await run(process.execPath, [tsc, '-p', dir]).then(
      () => '',
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`
    )
    expect(result).toBe('')
  }, 60_000)
})
