// Drives the built command-line programs (examples/dist/always-on.js and native.js) as child
// processes on 127.0.0.1: their stdin is typed into, their stdout read line by line.
// Needs the build: `npx tsc -b examples` (the root test script runs `tsc -b` first).
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DIST, Program, escapeRegExp, running } from './program.js'

const PERSON = 'ada@example.com'
const FIREFOX = 'Firefox on Ubuntu 64-bit'


afterEach(async (context) => {
  await Promise.all([...running].map((p) => p.kill()))
  // On failure (or with HYPHA_CLI_TEST_LOG=1), show what each program printed.
  if (context.task.result?.state === 'fail' || process.env.HYPHA_CLI_TEST_LOG) {
    for (const p of running) console.log(`--- ${p.label} ---\n${p.output}\n${p.stderr ? `--- ${p.label} stderr ---\n${p.stderr}` : ''}`)
  }
  running.clear()
})

beforeAll(() => {
  for (const file of ['always-on.js', 'native.js']) {
    if (!existsSync(DIST + file)) throw new Error(`examples/dist/${file} is missing: run \`npx tsc -b examples\` first`)
  }
})


async function signUp(extra: string[] = []) {
  const laptop = new Program('sign-up', 'native.js', ['sign-up', '--name', PERSON, '--node-name', 'Laptop', ...extra])
  const passphrase = (await laptop.waitFor(/^passphrase: (.+)$/)).match[1]!
  const databaseKey = (await laptop.waitFor(/^database key: ([0-9a-f]{64})$/)).match[1]!
  await laptop.waitFor(/^ready: /)
  return { laptop, passphrase, databaseKey }
}

describe('native.js and always-on.js', () => {
  it('reject bad arguments with the usage and exit code 2', async () => {
    const cases: [string, string[], RegExp][] = [
      ['native.js', [], /say sign-up or sign-in/],
      ['native.js', ['sign-out', '--name', 'a', '--node-name', 'b'], /unknown command "sign-out"/],
      ['native.js', ['sign-up', '--node-name', 'b'], /--name is required/],
      ['native.js', ['sign-in', '--name', 'a', '--node-name', 'b', '--connect', 'http://x'], /must start with tcp:\/\/ or ws:\/\//],
      ['native.js', ['sign-up', '--name', 'a', '--node-name', 'b', '--listen-tcp', '70000'], /--listen-tcp must be a port number/],
      ['native.js', ['sign-up', '--name', 'a', '--node-name', 'b', '--bogus'], /Unknown option '--bogus'/],
      ['always-on.js', [], /--database-key is required/],
      ['always-on.js', ['--database-key', 'abc'], /--database-key must be 64 hex characters/],
      ['always-on.js', ['--database-key', 'a'.repeat(64), '--tcp-port', 'x'], /--tcp-port must be a port number/]
    ]
    const programs = cases.map(([script, args]) => new Program(script, script, args))
    const exits = await Promise.all(programs.map((p) => p.exited))
    cases.forEach(([script, args, message], i) => {
      const what = `${script} ${args.join(' ')}`
      expect(programs[i]!.stderr, what).toMatch(message)
      expect(programs[i]!.stderr, what).toMatch(/^usage: node examples\/dist\//m)
      expect(exits[i], what).toEqual({ code: 2, signal: null })
    })
  })

  it('authorises a device through the always-on node, which relays sizes and never content', async () => {
    const { laptop, passphrase, databaseKey } = await signUp()
    const alwaysOn = new Program('always-on', 'always-on.js', ['--database-key', databaseKey, '--tcp-port', '0', '--ws-port', '0'])
    const tcpUrl = (await alwaysOn.waitFor(/^ {2}tcp +(tcp:\/\/127\.0\.0\.1:\d+)$/)).match[1]!
    const wsUrl = (await alwaysOn.waitFor(/^ {2}websocket +(ws:\/\/127\.0\.0\.1:\d+\/hypha)$/)).match[1]!
    await alwaysOn.waitFor(/^ {2}can read the data: false$/)
    await alwaysOn.waitFor(/^ready/)

    // The laptop dials the always-on node over TCP, the new device over WebSocket: it bridges them.
    await laptop.command(`connect ${tcpUrl}`, /^\[peer\] connected over tcp/)
    await laptop.command('put shopping/1 oat milk', /^ok: put shopping\/1$/)

    const firefox = new Program('sign-in', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', FIREFOX, '--passphrase', passphrase, '--connect', wsUrl
    ])
    await firefox.waitFor(/read-only until another device authorises it/)
    const firefoxKey = (await firefox.waitFor(/^node key: ([0-9a-f]{64})$/)).match[1]!
    const code = (await firefox.waitFor(/^\[auth\] verification code (\d{3} \d{3}):/)).match[1]!
    expect(await firefox.getEventually('shopping/1')).toBe('"oat milk"')
    const refused = await firefox.command('put shopping/2 too early', /^(ok|error): .*/)
    expect(refused[0]).toMatch(/^error: this node is not writable yet/)

    // The laptop shows the request with the very code the new device shows.
    await laptop.waitFor(new RegExp(`^Authorise node "${escapeRegExp(FIREFOX)}"\\? code ${code} \\[y/N\\]$`))
    laptop.send('y')
    await laptop.waitFor(new RegExp(`^\\[auth\\] authorised "${escapeRegExp(FIREFOX)}": it is a writer now$`))
    await firefox.waitFor(/^\[auth\] approved: this node is writable now$/)

    await firefox.command('put shopping/2 coffee beans from Firefox', /^ok: put shopping\/2$/)
    expect(await laptop.getEventually('shopping/2')).toBe('"coffee beans from Firefox"')
    await laptop.command('list shopping/', /^\(2 entries\)$/)
    await laptop.command('writers', /^\(2 writers\)$/)

    // The relay saw the new device's envelopes: sizes and key prefix, nothing else.
    await alwaysOn.waitFor(new RegExp(`^\\[relay\\] \\d+ bytes from ${firefoxKey.slice(0, 8)} to \\d+ peer\\(s\\)$`))
    await alwaysOn.waitFor(/^\[seed\] keeping core [0-9a-f]{8}$/)
    await alwaysOn.waitFor(/^\[conn\] opened websocket /)
    for (const secret of [FIREFOX, 'Firefox', 'Laptop', 'oat milk', 'coffee', 'shopping', passphrase]) {
      expect(alwaysOn.output + alwaysOn.stderr).not.toContain(secret)
    }

    // Revoking the new device: it learns it is read-only again.
    const writerKey = (await firefox.command('status', /^writer key +([0-9a-f]{64})$/))[1]!
    await laptop.command(`revoke ${writerKey}`, /^ok: revoked /)
    await firefox.waitFor(/^\[auth\] this node is read-only now/)

    // Everything stops cleanly.
    firefox.send('quit')
    laptop.send('quit')
    expect((await firefox.exited).code).toBe(0)
    expect((await laptop.exited).code).toBe(0)
    await alwaysOn.waitFor(/^\[conn\] closed /)
    alwaysOn.signal('SIGTERM')
    expect(await alwaysOn.exited).toEqual({ code: 0, signal: null })
    await alwaysOn.waitFor(/^stopped$/)
  })

  it('denies with n (after insisting on y or n); the requester reports the denial', async () => {
    const { laptop, passphrase } = await signUp(['--listen-tcp', '0'])
    const port = (await laptop.waitFor(/^listening on tcp:\/\/127\.0\.0\.1:(\d+)$/)).match[1]!
    const phone = new Program('sign-in', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', 'Unknown phone', '--passphrase', passphrase, '--connect', `tcp://127.0.0.1:${port}`
    ])
    const code = (await phone.waitFor(/^\[auth\] verification code (\d{3} \d{3}):/)).match[1]!
    await laptop.waitFor(new RegExp(`^Authorise node "Unknown phone"\\? code ${code} \\[y/N\\]$`))

    // A command typed while the question is open is not taken as an answer.
    await laptop.command('put a b', /^Please answer y or n first\. Authorise node "Unknown phone"\?/)
    laptop.send('n')
    await laptop.waitFor(/^\[auth\] denied "Unknown phone"$/)
    await phone.waitFor(/^\[auth\] request denied: not approved on "Laptop"\. This node stays read-only/)
    const refused = await phone.command('put x y', /^(ok|error): .*/)
    expect(refused[0]).toMatch(/^error: this node is not writable yet/)
    // The REPL is back to commands on the laptop: the earlier "put a b" was never run.
    expect((await laptop.command('get a', /^a(: not found| = .*)$/))[0]).toBe('a: not found')
    await laptop.command('writers', /^\(1 writer\)$/)
  })

  it('reads the passphrase from stdin when --passphrase is left out', async () => {
    const { laptop, passphrase } = await signUp(['--listen-tcp', '0'])
    const port = (await laptop.waitFor(/^listening on tcp:\/\/127\.0\.0\.1:(\d+)$/)).match[1]!
    await laptop.command('put note hello there', /^ok: put note$/)
    const tablet = new Program('sign-in', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', 'Tablet', '--connect', `tcp://127.0.0.1:${port}`
    ])
    await tablet.waitFor(/^Passphrase/)
    tablet.send(passphrase)
    const databaseKey = (await laptop.waitFor(/^database key: ([0-9a-f]{64})$/)).match[1]!
    await tablet.waitFor(new RegExp(`^database key: ${databaseKey}$`))
    expect(await tablet.getEventually('note')).toBe('"hello there"')
  })
})

describe('always-on.js --web', () => {
  it('serves static files on the HTTP server that carries the WebSocket endpoint, and nothing outside', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hypha-web-'))
    try {
      const web = path.join(dir, 'www')
      await mkdir(web)
      await writeFile(path.join(web, 'index.html'), '<h1>hypha web</h1>')
      await writeFile(path.join(web, 'app.js'), 'console.log(1)')
      await writeFile(path.join(dir, 'secret.txt'), 'outside the web directory')
      const alwaysOn = new Program('always-on', 'always-on.js', ['--database-key', 'ab'.repeat(32), '--tcp-port', '0', '--ws-port', '0', '--web', web])
      const base = (await alwaysOn.waitFor(/^ {2}web +(http:\/\/127\.0\.0\.1:\d+)\/ \(serving /)).match[1]!
      await alwaysOn.waitFor(/^ready/)
      const index = await fetch(`${base}/`)
      expect([index.status, index.headers.get('content-type'), await index.text()]).toEqual([200, 'text/html; charset=utf-8', '<h1>hypha web</h1>'])
      const script = await fetch(`${base}/app.js`)
      expect([script.status, script.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8'])
      await script.text()
      for (const outside of ['/missing.js', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt', '/www/..%2f..%2fsecret.txt']) {
        const res = await fetch(`${base}${outside}`)
        expect(res.status, outside).toBe(404)
        await res.text()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
