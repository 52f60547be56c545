// What the command-line programs say when things go wrong, run as a person would meet it: a port
// that another program holds, a storage folder a running node holds, a peer nobody listens on,
// an empty passphrase (piped, and typed in a real terminal through util-linux `script`).
// Needs the build: `npx tsc -b examples`.
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DIST, Program, usePrograms, escapeRegExp, type Wrap } from './program.js'

const PERSON = 'ada@example.com'
// A chosen passphrase strong enough for sign-up (zxcvbn ≥ 60 bits).
const PASSPHRASE = 'lantern puzzle bucket fence fiddle orbit'
// Any well-formed locator: the always-on node opens its storage and listens before it meets anyone.
const LOCATOR = '01' + 'cd'.repeat(128)
// A stack frame as Node prints it.
const STACK_FRAME = /^ {4}at /m

usePrograms(['always-on.js', 'native.js', 'cli-args.js'])

const temporary: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hypha-cli-errors-'))
  temporary.push(dir)
  return dir
}
const servers: net.Server[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })))
})

/** A port on 127.0.0.1 that this process holds open (another program, for the one under test). */
async function occupiedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  return (server.address() as net.AddressInfo).port
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** stderr is exactly one line; returns it. */
function oneLine(program: Program): string {
  const text = program.stderr
  expect(text.endsWith('\n') && text.indexOf('\n') === text.length - 1, `${program.label} stderr: ${JSON.stringify(text)}`).toBe(true)
  return text.trimEnd()
}

/** Runs the program inside a pseudo-terminal (util-linux `script`), so that it sees a TTY. */
const inTerminal: Wrap = (command, argv) => {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`
  return ['script', ['-qefc', [command, ...argv].map(quote).join(' '), '/dev/null']]
}

async function signUpInto(dir: string, extra: string[] = []): Promise<Program> {
  const laptop = new Program('sign-up', 'native.js', [
    'sign-up', '--name', PERSON, '--node-name', 'Laptop', '--passphrase', PASSPHRASE, '--storage', dir, ...extra
  ])
  await laptop.waitFor(/^ready: /)
  return laptop
}

describe('expected failures: one line saying what to do, exit code 1, the stacks only with --verbose', () => {
  it('a port in use (EADDRINUSE): --tcp-port, --ws-port, --listen-tcp', async () => {
    const port = await occupiedPort()
    const inUse = (program: string, option: string) =>
      new RegExp(`^${escapeRegExp(program)}: ${option} ${port}: port ${port} on 127\\.0\\.0\\.1 is in use by another program \\(EADDRINUSE\\); stop that one or pick another port \\(0 picks a free one\\)$`)
    const runs: [Program, RegExp][] = [
      [new Program('always-on tcp', 'always-on.js', ['--locator', LOCATOR, '--tcp-port', String(port), '--ws-port', '0']), inUse('always-on.js', '--tcp-port')],
      [new Program('always-on ws', 'always-on.js', ['--locator', LOCATOR, '--tcp-port', '0', '--ws-port', String(port)]), inUse('always-on.js', '--ws-port')],
      [new Program('native listen', 'native.js', ['sign-up', '--name', PERSON, '--node-name', 'Laptop', '--listen-tcp', String(port)]), inUse('native.js', '--listen-tcp')]
    ]
    for (const [program, message] of runs) {
      expect(await program.exited, program.label).toEqual({ code: 1, signal: null })
      expect(oneLine(program), program.label).toMatch(message)
    }

    // --verbose: the same line first, then the stacks down to the socket's own error.
    const verbose = new Program('native listen --verbose', 'native.js', [
      'sign-up', '--name', PERSON, '--node-name', 'Laptop', '--listen-tcp', String(port), '--verbose'
    ])
    expect(await verbose.exited).toEqual({ code: 1, signal: null })
    const [first, ...rest] = verbose.stderr.split('\n')
    expect(first).toMatch(inUse('native.js', '--listen-tcp'))
    expect(rest.join('\n')).toMatch(STACK_FRAME)
    expect(rest.join('\n')).toMatch(/^caused by: Error: listen EADDRINUSE/m)
  })

  it('a storage folder a running program holds (ELOCKED): native.js and always-on.js', async () => {
    const deviceDir = await tempDir()
    const laptop = await signUpInto(deviceDir)
    const second = new Program('second native', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', 'Laptop', '--passphrase', PASSPHRASE, '--storage', deviceDir
    ])
    expect(await second.exited).toEqual({ code: 1, signal: null })
    expect(oneLine(second)).toMatch(
      new RegExp(`^native\\.js: --storage ${escapeRegExp(deviceDir)} is in use by another running program \\(ELOCKED\\): stop that one first, or give another folder$`)
    )
    // The first one did not notice.
    await laptop.command('put still working', /^ok: put still$/)

    const nodeDir = await tempDir()
    const first = new Program('always-on', 'always-on.js', ['--locator', LOCATOR, '--storage', nodeDir, '--tcp-port', '0', '--ws-port', '0'])
    await first.waitFor(/^ready/)
    const other = new Program('second always-on', 'always-on.js', ['--locator', LOCATOR, '--storage', nodeDir, '--tcp-port', '0', '--ws-port', '0'])
    expect(await other.exited).toEqual({ code: 1, signal: null })
    expect(oneLine(other)).toMatch(
      new RegExp(`^always-on\\.js: --storage ${escapeRegExp(nodeDir)} is in use by another running program \\(ELOCKED\\): stop that one first, or give another folder$`)
    )
    const verbose = new Program('always-on --verbose', 'always-on.js', ['--locator', LOCATOR, '--storage', nodeDir, '--tcp-port', '0', '--ws-port', '0', '--verbose'])
    expect(await verbose.exited).toEqual({ code: 1, signal: null })
    expect(verbose.stderr).toMatch(/^always-on\.js: --storage .* \(ELOCKED\)/)
    expect(verbose.stderr).toMatch(STACK_FRAME)
    expect(verbose.stderr).toMatch(/^caused by: .*ELOCKED/m)
  })

  it('a wrong passphrase and an existing account: one line each, a stack only with --verbose', async () => {
    const dir = await tempDir()
    const laptop = await signUpInto(dir)
    laptop.send('quit')
    expect((await laptop.exited).code).toBe(0)

    // One after the other: two at once on one folder would meet its lock (ELOCKED) instead.
    const wrong = new Program('wrong passphrase', 'native.js', ['sign-in', '--name', PERSON, '--node-name', 'Laptop', '--passphrase', `${PASSPHRASE} typo`, '--storage', dir])
    expect(await wrong.exited).toEqual({ code: 1, signal: null })
    const exists = new Program('sign-up again', 'native.js', ['sign-up', '--name', PERSON, '--node-name', 'Laptop', '--passphrase', PASSPHRASE, '--storage', dir])
    expect(await exists.exited).toEqual({ code: 1, signal: null })
    expect(oneLine(wrong)).toMatch(/^native\.js: --storage .* holds a device of another account, or the name or passphrase is wrong$/)
    expect(oneLine(exists)).toMatch(/^native\.js: cannot sign up: .*Use sign-in/)

    const verbose = new Program('wrong passphrase --verbose', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', 'Laptop', '--passphrase', `${PASSPHRASE} typo`, '--storage', dir, '--verbose'
    ])
    expect(await verbose.exited).toEqual({ code: 1, signal: null })
    expect(verbose.stderr).toMatch(/^native\.js: --storage .* the name or passphrase is wrong\nAuthError: /)
    expect(verbose.stderr).toMatch(STACK_FRAME)
    expect(verbose.stderr).toMatch(/\(code ERR_OTHER_ACCOUNT\)/)
  })

  it('an unexpected error still prints its stack; a Failure its causes only with verbose (errorReport)', async () => {
    const { errorReport, Failure, UsageError } = await import(`${DIST}cli-args.js`)
    const bug = errorReport('native.js', new TypeError('boom'), false)
    expect(bug.exitCode).toBe(1)
    expect(bug.text).toMatch(/^native\.js: unexpected error: TypeError: boom\n/)
    expect(bug.text).toMatch(STACK_FRAME)

    const cause = Object.assign(new Error('address already in use'), { code: 'EADDRINUSE' })
    const failure = new Failure('port in use', 'EADDRINUSE', { cause })
    expect(errorReport('always-on.js', failure, false)).toEqual({ text: 'always-on.js: port in use', exitCode: 1 })
    const verbose = errorReport('always-on.js', failure, true)
    expect(verbose.text).toMatch(/^always-on\.js: port in use\nError: address already in use\n {4}at /)
    expect(verbose.text).toMatch(/\(code EADDRINUSE\)/)
    expect(errorReport('native.js', new UsageError('--name is required'), true)).toEqual({ text: 'native.js: --name is required (see --help)', exitCode: 2 })
  })
})

describe('an empty passphrase', () => {
  it('from a pipe: one line saying so, exit code 1, no loop and no usage', async () => {
    const port = await closedPort()
    const device = new Program('sign-in piped', 'native.js', ['sign-in', '--name', PERSON, '--node-name', 'Tablet', '--connect', `tcp://127.0.0.1:${port}`])
    await device.waitFor(/^Passphrase/)
    device.send('')
    expect(await device.exited).toEqual({ code: 1, signal: null })
    expect(oneLine(device)).toBe('native.js: the passphrase read from stdin is empty; give --passphrase, or type it when asked')
  })

  it('typed in a terminal: asked again with the reason, then the device opens', async () => {
    const dir = await tempDir()
    const laptop = await signUpInto(dir)
    laptop.send('quit')
    expect((await laptop.exited).code).toBe(0)

    const device = new Program('sign-in in a terminal', 'native.js', ['sign-in', '--name', PERSON, '--node-name', 'Laptop', '--storage', dir], inTerminal)
    const { index } = await device.waitFor(/Passphrase \(it will show as you type\):/)
    device.send('')
    const again = await device.waitFor(/The passphrase cannot be empty: type it and press Enter \(Ctrl-C to give up\)\./, index + 1)
    await device.waitFor(/Passphrase \(it will show as you type\):/, again.index + 1)
    device.send('   ') // blanks are empty too
    const third = await device.waitFor(/The passphrase cannot be empty/, again.index + 1)
    device.send(PASSPHRASE)
    await device.waitFor(/Reopened "ada@example\.com" on "Laptop" from .*: writable \(the origin\)\./, third.index + 1)
    await device.waitFor(/ready: type "help" for commands/)
    device.send('quit')
    expect(await device.exited).toEqual({ code: 0, signal: null })
  })
})

describe('an unreachable peer', () => {
  it('a new device that finds no database says which peer it could not reach and why: one line, exit code 1', async () => {
    const port = await closedPort()
    const url = `tcp://127.0.0.1:${port}`
    const device = new Program('sign-in unreachable', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', 'Tablet', '--passphrase', PASSPHRASE, '--connect', url, '--lookup-timeout', '3'
    ])
    expect(await device.exited).toEqual({ code: 1, signal: null })
    expect(oneLine(device)).toMatch(
      new RegExp(`^native\\.js: cannot find the database: .*\\. Not reachable: ${escapeRegExp(url)} \\(ECONNREFUSED, \\d+ attempts?\\)\\. Another device .*$`)
    )
    await device.waitFor(/^A new device: looking for the database among the peers \(up to 3 s\)…$/)
    await device.waitFor(new RegExp(`^\\[peer\\] ${escapeRegExp(url)} unreachable \\(ECONNREFUSED\\); next attempt at `))
  })

  it('shows a line per failed attempt with the reason and the next attempt, backing off; then connected, then lost', async () => {
    const port = await closedPort()
    const url = `tcp://127.0.0.1:${port}`
    const laptop = new Program('sign-up', 'native.js', ['sign-up', '--name', PERSON, '--node-name', 'Laptop', '--connect', url])
    const unreachable = new RegExp(`^\\[peer\\] ${escapeRegExp(url)} unreachable \\(ECONNREFUSED\\); next attempt at \\d\\d:\\d\\d:\\d\\d \\(in ([^)]+)\\)$`)
    // The schedule (250 ms doubling, no jitter), one line per attempt.
    const delays: string[] = []
    let from = 0
    for (let i = 0; i < 4; i++) {
      const { match, index } = await laptop.waitFor(unreachable, from)
      delays.push(match[1]!)
      from = index + 1
    }
    expect(delays).toEqual(['250 ms', '500 ms', '1 s', '2 s'])
    const locator = (await laptop.waitFor(/^locator: ([0-9a-f]{258})$/)).match[1]!
    await laptop.waitFor(/^ready: /)
    const status = await laptop.command('status', new RegExp(`^dialling +${escapeRegExp(url)}: .*$`))
    expect(status[0]).toMatch(/: unreachable \(ECONNREFUSED\), \d+ failed attempts; next attempt at \d\d:\d\d:\d\d \(in [^)]+\)$/)

    // The always-on node comes up on that port: one line when the device reaches it.
    const alwaysOn = new Program('always-on', 'always-on.js', ['--locator', locator, '--tcp-port', String(port), '--ws-port', '0'])
    await alwaysOn.waitFor(/^ready/)
    await laptop.waitFor(new RegExp(`^\\[peer\\] connected to ${escapeRegExp(url)} \\(after \\d+ failed attempts\\)$`))
    expect((await laptop.command('status', /^dialling +.*$/))[0]).toBe(`dialling     ${url}: connected`)

    // It goes away: the device says so, and when it tries again.
    const connectedAt = laptop.lines.length
    await alwaysOn.kill()
    const lost = await laptop.waitFor(new RegExp(`^\\[peer\\] lost ${escapeRegExp(url)}( \\([^)]+\\))?; next attempt at \\d\\d:\\d\\d:\\d\\d \\(in [^)]+\\)$`), connectedAt)
    await laptop.waitFor(unreachable, lost.index + 1)
    // One line per event: never the same line twice in a row.
    laptop.lines.forEach((line, i) => expect(line, `line ${i}`).not.toBe(laptop.lines[i - 1]))
  })
})
