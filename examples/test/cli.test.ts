// Drives the built command-line programs (examples/dist/always-on.js and native.js) as child
// processes on 127.0.0.1: their stdin is typed into, their stdout read line by line.
// Needs the build: `npx tsc -b examples` (the root test script runs `tsc -b` first).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { joinProof } from '@hypha/transport-webrtc'
import { Program, usePrograms, escapeRegExp } from './program.js'

const PERSON = 'ada@example.com'
const FIREFOX = 'Firefox on Ubuntu 64-bit'


usePrograms(['always-on.js', 'native.js'])


async function signUp(extra: string[] = []) {
  const laptop = new Program('sign-up', 'native.js', ['sign-up', '--name', PERSON, '--node-name', 'Laptop', ...extra])
  const passphrase = (await laptop.waitFor(/^passphrase: (.+)$/)).match[1]!
  const recoveryCode = (await laptop.waitFor(/^recovery code: (\S+)$/)).match[1]!
  const databaseKey = (await laptop.waitFor(/^database key: ([0-9a-f]{64})$/)).match[1]!
  const locator = (await laptop.waitFor(/^locator: ([0-9a-f]{258})$/)).match[1]!
  await laptop.waitFor(/^ready: /)
  return { laptop, passphrase, recoveryCode, databaseKey, locator }
}

/** The always-on program for `locator` on free ports of 127.0.0.1. */
async function startAlwaysOn(locator: string) {
  const alwaysOn = new Program('always-on', 'always-on.js', ['--locator', locator, '--tcp-port', '0', '--ws-port', '0'])
  const tcpUrl = (await alwaysOn.waitFor(/^ {2}tcp +(tcp:\/\/127\.0\.0\.1:\d+)$/)).match[1]!
  const wsUrl = (await alwaysOn.waitFor(/^ {2}websocket +(ws:\/\/127\.0\.0\.1:\d+\/hypha)$/)).match[1]!
  await alwaysOn.waitFor(/^ {2}can read the data: false$/)
  await alwaysOn.waitFor(/^ready/)
  return { alwaysOn, tcpUrl, wsUrl }
}

/** The verification code the requesting device shows beside `approver`'s name. */
async function codeFrom(device: Program, approver: string): Promise<string> {
  const line = new RegExp(`^\\[auth\\] verification code (\\d{3} \\d{3}) from "${escapeRegExp(approver)}": the prompt there must show the same code$`)
  return (await device.waitFor(line)).match[1]!
}

const question = (device: string, code: string) => new RegExp(`^Authorise node "${escapeRegExp(device)}"\\? code ${code} \\[y/N\\]$`)

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hypha-cli-'))
  temporary.push(dir)
  return dir
}
const temporary: string[] = []
afterAll(async () => {
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('native.js and always-on.js', () => {
  it('reject bad arguments with one line naming the option, without the usage, and exit code 2', async () => {
    const cases: [string, string[], RegExp][] = [
      ['native.js', [], /^native\.js: say sign-up, sign-in or recover \(see --help\)$/],
      ['native.js', ['sign-out', '--name', 'a', '--node-name', 'b'], /^native\.js: unknown command "sign-out": say sign-up, sign-in or recover \(see --help\)$/],
      ['native.js', ['sign-up', '--node-name', 'b'], /^native\.js: --name is required \(see --help\)$/],
      ['native.js', ['sign-in', '--name', 'a', '--node-name', 'b', '--connect', 'http://x'], /^native\.js: --connect must start with tcp:\/\/ or ws:\/\/, not "http:\/\/x" \(see --help\)$/],
      ['native.js', ['sign-up', '--name', 'a', '--node-name', 'b', '--listen-tcp', '70000'], /^native\.js: --listen-tcp must be a port number .* \(see --help\)$/],
      // Node's own parseArgs message would add advice about '--': none of that.
      ['native.js', ['sign-up', '--name', 'a', '--node-name', 'b', '--bogus'], /^native\.js: unknown option --bogus \(see --help\)$/],
      ['native.js', ['sign-up', '--name', 'a', '--node-name', 'b', '--storge', 'x'], /^native\.js: unknown option --storge; did you mean --storage\? \(see --help\)$/],
      ['native.js', ['sign-up', '--name', 'a', '--node-name', 'b', '-x'], /^native\.js: unknown option -x \(see --help\)$/],
      ['native.js', ['sign-up', '--name', 'a', '--node-name', 'b', '--storage'], /^native\.js: --storage needs a value \(see --help\)$/],
      ['native.js', ['sign-up', '--name', 'a', '--storage', '--node-name', 'b'], /^native\.js: --storage needs a value \(for one starting with "-", write --storage=--node-name\) \(see --help\)$/],
      ['native.js', ['sign-up', '--help=yes'], /^native\.js: --help takes no value \(see --help\)$/],
      ['native.js', ['sign-in', '--name', 'a', '--node-name', 'b', '--passphrase', 'x y z'], /^native\.js: sign-in on a new device finds the database through a peer: .* \(see --help\)$/],
      ['native.js', ['sign-up', '--name', 'a', '--node-name', 'b', '--passphrase', 'password123'], /^native\.js: --passphrase: passphrase too weak: about \d+ bits, at least 60 needed.* \(see --help\)$/],
      ['native.js', ['sign-in', '--name', 'a', '--node-name', 'b', '--recovery-code', 'x'], /^native\.js: --recovery-code is for recover \(see --help\)$/],
      ['native.js', ['sign-in', '--name', 'a', '--node-name', 'b', '--connect', 'tcp://127.0.0.1:1', '--lookup-timeout', '0'], /^native\.js: --lookup-timeout must be a number of seconds above 0 .* \(see --help\)$/],
      ['always-on.js', [], /^always-on\.js: --locator is required .* \(see --help\)$/],
      ['always-on.js', ['--locator', 'abc'], /^always-on\.js: --locator must be 258 hex characters .* \(see --help\)$/],
      ['always-on.js', ['--locator', 'a'.repeat(64)], /^always-on\.js: --locator must be 258 hex characters .* \(see --help\)$/],
      ['always-on.js', ['--locator', 'a'.repeat(258), '--tcp-port', 'x'], /^always-on\.js: --tcp-port must be a port number .* \(see --help\)$/],
      ['always-on.js', ['--locator', 'a'.repeat(258), '--tcp-port'], /^always-on\.js: --tcp-port needs a value \(see --help\)$/],
      ['always-on.js', ['--locator', 'a'.repeat(258), 'extra'], /^always-on\.js: unexpected argument "extra" \(see --help\)$/],
      ['always-on.js', ['--lokator', 'a'], /^always-on\.js: unknown option --lokator; did you mean --locator\? \(see --help\)$/]
    ]
    const programs = cases.map(([script, args]) => new Program(script, script, args))
    const exits = await Promise.all(programs.map((p) => p.exited))
    cases.forEach(([script, args, message], i) => {
      const what = `${script} ${args.join(' ')}`
      const stderr = programs[i]!.stderr
      // Exactly one line, which names the option at fault.
      expect(stderr.endsWith('\n') && stderr.indexOf('\n') === stderr.length - 1, `${what}: ${JSON.stringify(stderr)}`).toBe(true)
      expect(stderr.trimEnd(), what).toMatch(message)
      expect(exits[i], what).toEqual({ code: 2, signal: null })
    })
  })

  it('print the usage for --help and -h (exit code 0)', async () => {
    const programs = [
      new Program('native --help', 'native.js', ['--help']),
      new Program('native -h', 'native.js', ['sign-in', '-h']),
      new Program('always-on --help', 'always-on.js', ['--help'])
    ]
    for (const p of programs) expect(await p.exited, p.label).toEqual({ code: 0, signal: null })
    for (const p of programs.slice(0, 2)) expect(p.output, p.label).toMatch(/^usage: node examples\/dist\/native\.js sign-up\|sign-in\|recover/)
    expect(programs[2]!.output).toMatch(/^usage: node examples\/dist\/always-on\.js --locator <hex>/)
    for (const p of programs) {
      expect(p.output, p.label).toMatch(/^ {2}--verbose +on a failure, also print the stacks/m)
      expect(p.stderr, p.label).toBe('')
    }
  })

  it('authorises a device through the always-on node (given the locator), which relays sizes and never content', async () => {
    const { laptop, passphrase, databaseKey, locator } = await signUp()
    const { alwaysOn, tcpUrl, wsUrl } = await startAlwaysOn(locator)
    await alwaysOn.waitFor(new RegExp(`^relaying for database ${databaseKey}$`))

    // The laptop dials the always-on node over TCP, the new device over WebSocket: it bridges them.
    await laptop.command(`connect ${tcpUrl}`, /^\[peer\] connected over tcp/)
    await laptop.command('put shopping/1 oat milk', /^ok: put shopping\/1$/)

    // A new device learns where the database is from the always-on node (the laptop's locator).
    const firefox = new Program('sign-in', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', FIREFOX, '--passphrase', passphrase, '--connect', wsUrl
    ])
    await firefox.waitFor(/^Signed in .*: a new device, read-only until another device authorises it\.$/)
    expect((await firefox.waitFor(/^database key: ([0-9a-f]{64})$/)).match[1]).toBe(databaseKey)
    expect(await firefox.getEventually('shopping/1')).toBe('"oat milk"')
    const refused = await firefox.command('put shopping/2 too early', /^(ok|error): .*/)
    expect(refused[0]).toMatch(/^error: this node is not writable yet/)

    // The code is the laptop's and the new device's together: shown beside the approver's name,
    // and the laptop's prompt shows the very same code.
    const code = await codeFrom(firefox, 'Laptop')
    await laptop.waitFor(question(FIREFOX, code))
    laptop.send('y')
    await laptop.waitFor(new RegExp(`^\\[auth\\] authorised "${escapeRegExp(FIREFOX)}": it is a writer now$`))
    await firefox.waitFor(/^\[auth\] approved: this node is writable now$/)

    await firefox.command('put shopping/2 coffee beans from Firefox', /^ok: put shopping\/2$/)
    expect(await laptop.getEventually('shopping/2')).toBe('"coffee beans from Firefox"')
    await laptop.command('list shopping/', /^\(2 entries\)$/)

    // The device list: both devices and the recovery key, each side marking itself.
    const writerKey = (await firefox.command('status', /^writer key +([0-9a-f]{64})$/))[1]!
    const added = new RegExp(`^ {2}"${escapeRegExp(FIREFOX)}" writer, added by "Laptop" \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC; key ${writerKey}$`, 'm')
    await laptop.command('devices', /^\(2 devices: 2 writers, 0 revoked; \* is this device\)$/)
    expect(laptop.output).toMatch(new RegExp(`^\\* "Laptop" writer, origin; key ${databaseKey}$`, 'm'))
    expect(laptop.output).toMatch(added)
    expect(laptop.output).toMatch(/^ {2}recovery key not used yet; key [0-9a-f]{64}$/m)
    const firefoxDevices = await firefox.command('devices', /^\(2 devices: 2 writers, 0 revoked; \* is this device\)$/)
    expect(firefoxDevices).toBeTruthy()
    expect(firefox.output).toMatch(new RegExp(`^\\* "${escapeRegExp(FIREFOX)}" writer, added by "Laptop" .*; key ${writerKey}$`, 'm'))

    // The relay saw the new device's envelopes (signed with its channel key): sizes and key
    // prefix, nothing else.
    const channelKey = (await firefox.command('status', /^channel key +([0-9a-f]{64})$/))[1]!
    await alwaysOn.waitFor(new RegExp(`^\\[relay\\] \\d+ bytes from ${channelKey.slice(0, 8)} to \\d+ peer\\(s\\)$`))
    await alwaysOn.waitFor(/^\[seed\] keeping core [0-9a-f]{8}$/)
    await alwaysOn.waitFor(/^\[conn\] opened websocket /)
    for (const secret of [FIREFOX, 'Firefox', 'Laptop', 'oat milk', 'coffee', 'shopping', passphrase]) {
      expect(alwaysOn.output + alwaysOn.stderr).not.toContain(secret)
    }

    // Revoking the new device: it learns it is read-only again; the registry says who and when.
    await laptop.command(`revoke ${writerKey}`, new RegExp(`^ok: revoked "${escapeRegExp(FIREFOX)}" \\(${writerKey.slice(0, 8)}…\\)$`))
    await firefox.waitFor(/^\[auth\] this node is read-only now/)
    await laptop.command('devices', /^\(2 devices: 1 writer, 1 revoked; \* is this device\)$/)
    expect(laptop.output).toMatch(new RegExp(`^ {2}"${escapeRegExp(FIREFOX)}" revoked by "Laptop" \\d{4}-.* UTC; key ${writerKey}$`, 'm'))

    // Asking again: the laptop's prompt warns that this device was revoked.
    firefox.send('request')
    const again = await codeFrom(firefox, 'Laptop')
    await laptop.waitFor(/^\[auth\] warning \(revoked\): this device was revoked/)
    await laptop.waitFor(/^\[auth\] warning \(name-in-use\): a device named "Firefox on Ubuntu 64-bit" is already in your device list \(1 revoked\)/)
    await laptop.waitFor(question(FIREFOX, again))
    laptop.send('n')
    await firefox.waitFor(/^\[auth\] request denied: not approved on "Laptop"\./)

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
    const code = await codeFrom(phone, 'Laptop')
    await laptop.waitFor(question('Unknown phone', code))

    // A command typed while the question is open is not taken as an answer.
    await laptop.command('put a b', /^Please answer y or n first\. Authorise node "Unknown phone"\?/)
    laptop.send('n')
    await laptop.waitFor(/^\[auth\] denied "Unknown phone"$/)
    await phone.waitFor(/^\[auth\] request denied: not approved on "Laptop"\. This node stays read-only/)
    const refused = await phone.command('put x y', /^(ok|error): .*/)
    expect(refused[0]).toMatch(/^error: this node is not writable yet/)
    // The REPL is back to commands on the laptop: the earlier "put a b" was never run.
    expect((await laptop.command('get a', /^a(: not found| = .*)$/))[0]).toBe('a: not found')
    await laptop.command('devices', /^\(1 device: 1 writer, 0 revoked; \* is this device\)$/)
  })

  it('reads the passphrase from stdin when --passphrase is left out', async () => {
    const { laptop, passphrase, databaseKey } = await signUp(['--listen-tcp', '0'])
    const port = (await laptop.waitFor(/^listening on tcp:\/\/127\.0\.0\.1:(\d+)$/)).match[1]!
    await laptop.command('put note hello there', /^ok: put note$/)
    const tablet = new Program('sign-in', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', 'Tablet', '--connect', `tcp://127.0.0.1:${port}`
    ])
    await tablet.waitFor(/^Passphrase/)
    tablet.send(passphrase)
    await tablet.waitFor(new RegExp(`^database key: ${databaseKey}$`))
    expect(await tablet.getEventually('note')).toBe('"hello there"')
  })

  it('reopens a folder with sign-in as it was: the origin and an approved device stay writers, no role given', async () => {
    const laptopDir = await tempDir()
    const tabletDir = await tempDir()
    const first = await signUp(['--storage', laptopDir, '--listen-tcp', '0'])
    const { passphrase, databaseKey } = first
    let port = (await first.laptop.waitFor(/^listening on tcp:\/\/127\.0\.0\.1:(\d+)$/)).match[1]!
    await first.laptop.command('put kept across restarts', /^ok: put kept$/)

    // A second device with a folder of its own, approved once.
    const tablet = new Program('tablet sign-in', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', 'Tablet', '--passphrase', passphrase, '--storage', tabletDir, '--connect', `tcp://127.0.0.1:${port}`
    ])
    const code = await codeFrom(tablet, 'Laptop')
    await first.laptop.waitFor(question('Tablet', code))
    first.laptop.send('y')
    await tablet.waitFor(/^\[auth\] approved: this node is writable now$/)
    await tablet.command('put from-tablet yes', /^ok: put from-tablet$/)
    expect(await first.laptop.getEventually('from-tablet')).toBe('"yes"')
    for (const p of [tablet, first.laptop]) {
      p.send('quit')
      expect((await p.exited).code).toBe(0)
    }

    // Signing up again on that folder is refused: the account is there already.
    const again = new Program('sign-up again', 'native.js', [
      'sign-up', '--name', PERSON, '--node-name', 'Laptop', '--passphrase', passphrase, '--storage', laptopDir
    ])
    expect((await again.exited).code).toBe(1)
    expect(again.stderr).toMatch(/^native\.js: cannot sign up: .*Use sign-in \(with --storage .* to reopen this device\)\.\n$/)

    // sign-in on the laptop's folder: the origin again, writable at once, asks nobody.
    const laptop = new Program('laptop reopened', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', 'Laptop', '--passphrase', passphrase, '--storage', laptopDir, '--listen-tcp', '0'
    ])
    await laptop.waitFor(/^Reopened "ada@example\.com" on "Laptop" from .*: writable \(the origin\)\.$/)
    await laptop.waitFor(new RegExp(`^database key: ${databaseKey}$`))
    port = (await laptop.waitFor(/^listening on tcp:\/\/127\.0\.0\.1:(\d+)$/)).match[1]!
    await laptop.waitFor(/^ready: /)
    expect((await laptop.command('get kept', /^kept( = .*|: not found)$/))[0]).toBe('kept = "across restarts"')
    await laptop.command('put after reopening', /^ok: put after$/)

    // sign-in on the tablet's folder: still a writer, no new request.
    const tablet2 = new Program('tablet reopened', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', 'Tablet', '--passphrase', passphrase, '--storage', tabletDir, '--connect', `tcp://127.0.0.1:${port}`
    ])
    await tablet2.waitFor(/^Reopened "ada@example\.com" on "Tablet" from .*: writable\.$/)
    await tablet2.waitFor(/^ready: /)
    await tablet2.command('put tablet-again yes', /^ok: put tablet-again$/)
    expect(await laptop.getEventually('tablet-again')).toBe('"yes"')
    expect(await tablet2.getEventually('after')).toBe('"reopening"')
    expect(tablet2.output).not.toMatch(/asking your other devices/)
    expect(laptop.output).not.toMatch(/^Authorise node/m)
    await laptop.command('devices', /^\(2 devices: 2 writers, 0 revoked; \* is this device\)$/)

    // The wrong passphrase does not open a folder.
    tablet2.send('quit')
    expect((await tablet2.exited).code).toBe(0)
    const wrong = new Program('wrong passphrase', 'native.js', [
      'sign-in', '--name', PERSON, '--node-name', 'Tablet', '--passphrase', `${passphrase} typo`, '--storage', tabletDir
    ])
    expect((await wrong.exited).code).toBe(1)
    expect(wrong.stderr).toMatch(/^native\.js: --storage .* holds a device of another account, or the name or passphrase is wrong\n$/)
  })

  it('recovers write access with the recovery code when no other device is online (through the always-on node)', async () => {
    const { laptop, passphrase, recoveryCode, locator } = await signUp()
    const { alwaysOn, tcpUrl } = await startAlwaysOn(locator)
    await laptop.command(`connect ${tcpUrl}`, /^\[peer\] connected over tcp/)
    await laptop.command('put diary/1 before the laptop was lost', /^ok: put diary\/1$/)
    // A reader that reaches only the always-on node has the data: the always-on node holds it.
    const reader = new Program('reader', 'native.js', ['sign-in', '--name', PERSON, '--node-name', 'Reader', '--passphrase', passphrase, '--connect', tcpUrl])
    expect(await reader.getEventually('diary/1')).toBe('"before the laptop was lost"')
    await laptop.waitFor(question('Reader', await codeFrom(reader, 'Laptop')))
    laptop.send('n')
    await reader.waitFor(/^\[auth\] request denied/)
    for (const p of [reader, laptop]) {
      p.send('quit')
      expect((await p.exited).code).toBe(0)
    }

    const phone = new Program('recover', 'native.js', ['recover', '--name', PERSON, '--node-name', 'New phone', '--passphrase', passphrase, '--connect', tcpUrl])
    await phone.waitFor(/^Recovery code:$/)
    phone.send(recoveryCode)
    await phone.waitFor(/^Recovered "ada@example\.com" on "New phone": this device is a writer now/)
    const next = (await phone.waitFor(/^recovery code: (\S+)$/)).match[1]!
    expect(next).not.toBe(recoveryCode)
    await phone.waitFor(/^ready: /)
    expect(phone.output).not.toMatch(/asking your other devices/)
    await phone.command('put diary/2 after recovering', /^ok: put diary\/2$/)
    expect(await phone.getEventually('diary/1')).toBe('"before the laptop was lost"')
    await phone.command('devices', /^\(2 devices: 2 writers, 0 revoked; \* is this device\)$/)
    expect(phone.output).toMatch(/^\* "New phone" writer, added by the recovery key .*; key [0-9a-f]{64}$/m)
    expect(phone.output).toMatch(/^ {2}recovery key used; key [0-9a-f]{64}$/m)
    expect(phone.output).toMatch(/^ {2}recovery key not used yet; key [0-9a-f]{64}$/m)

    // The used code does not work twice.
    const thief = new Program('recover again', 'native.js', [
      'recover', '--name', PERSON, '--node-name', 'Thief', '--passphrase', passphrase, '--recovery-code', recoveryCode, '--connect', tcpUrl
    ])
    expect((await thief.exited).code).toBe(1)
    expect(thief.stderr).toMatch(/^native\.js: cannot recover: [^\n]*\n$/)
    expect(alwaysOn.output).not.toContain(recoveryCode)
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
      // No locator yet: it serves the page (and signalling) and waits for one on stdin.
      const alwaysOn = new Program('always-on', 'always-on.js', ['--tcp-port', '0', '--ws-port', '0', '--web', web])
      const base = (await alwaysOn.waitFor(/^ {2}web +(http:\/\/127\.0\.0\.1:\d+)\/ \(serving /)).match[1]!
      await alwaysOn.waitFor(/^waiting for the locator/)
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

      // Replication is refused until the locator is given ("503": the page's WebSocket re-dials).
      const wsBase = base.replace(/^http/, 'ws')
      expect(await upgradeStatus(`${wsBase}/hypha`)).toBe(503)
      // WebRTC signalling is open until then (the page's own tab joins before its locator exists).
      const room = 'cd'.repeat(32) // the locator's topic (below)
      const early = await signallingJoin(`${wsBase}/hypha-signal`, room, 'early-peer', null)
      expect(early.reply).toEqual({ type: 'peers', peers: [] })
      // Not a locator: asked again. A locator: it starts relaying for that database.
      alwaysOn.send('not-a-locator')
      await alwaysOn.waitFor(/^the locator must be 258 hex characters .*; paste it again$/)
      const locator = '01' + 'cd'.repeat(128)
      alwaysOn.send(locator)
      await alwaysOn.waitFor(new RegExp(`^relaying for database ${locator.slice(66, 130)}$`))
      await alwaysOn.waitFor(/^ {2}tcp +tcp:\/\/127\.0\.0\.1:\d+$/)
      await alwaysOn.waitFor(/^ready/)
      expect(await upgradeStatus(`${wsBase}/hypha`)).toBe(101)
      expect((await fetch(`${base}/`)).status).toBe(200)
      // From the locator on, signalling is for members only: the early joiner, who proved nothing,
      // was dropped; a stranger is refused (4403) before it sees an id; a member (the locator's
      // member key, 0xcd × 32 here) joins.
      expect(await early.closed).toBe(4403)
      const stranger = await signallingJoin(`${wsBase}/hypha-signal`, room, 'stranger-1', new Uint8Array(32))
      expect([stranger.reply, await stranger.closed]).toEqual([null, 4403])
      const member = await signallingJoin(`${wsBase}/hypha-signal`, room, 'member-1', new Uint8Array(32).fill(0xcd))
      expect(member.reply).toEqual({ type: 'peers', peers: [] })
      member.socket.terminate()
      await alwaysOn.waitFor(/^\[signal\] refused a WebRTC join without proof of membership$/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

/**
 * A raw signalling join (with a proof under `memberKey`, or none): the server's reply to it (null if
 * it closed the socket instead) and the close code when the socket closes.
 */
async function signallingJoin(url: string, room: string, peer: string, memberKey: Uint8Array | null) {
  const socket = new WebSocket(url)
  socket.on('error', () => {})
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)))
  const frames: unknown[] = []
  const reply = await new Promise<unknown>((resolve) => {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; challenge?: string }
      frames.push(message)
      if (message.type === 'challenge') {
        const proof = memberKey ? { proof: Buffer.from(joinProof(memberKey, Buffer.from(message.challenge!, 'hex'), room, peer)).toString('hex') } : {}
        socket.send(JSON.stringify({ type: 'join', room, peer, ...proof }))
      } else resolve(message)
    })
    void closed.then(() => resolve(null))
  })
  return { socket, reply, closed, frames }
}

/** The HTTP status a WebSocket upgrade to `url` gets (101 when it opens). */
async function upgradeStatus(url: string): Promise<number> {
  const socket = new WebSocket(url)
  try {
    return await new Promise<number>((resolve, reject) => {
      socket.once('open', () => resolve(101))
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      socket.once('error', reject)
    })
  } finally {
    socket.terminate()
  }
}
