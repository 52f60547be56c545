// What the test command needs beyond Node and npm, checked before anything else runs: the browser
// tests drive Debian's Chromium (never a downloaded browser build), and the WebRTC page test runs it
// in a loopback-only network namespace (unshare and nsenter from util-linux, ip from iproute2).
// Missing ones are installed when this runs as root on a machine with apt-get (a bare Debian or
// Ubuntu container, CI); otherwise it stops at once and says exactly what to install, instead of
// letting browser tests fail one by one. HYPHA_NO_INSTALL=1 only reports (to check the message).
import { spawnSync } from 'node:child_process'

const needs = [
  { command: 'chromium', pkg: 'chromium', why: "the browser tests drive Debian's Chromium (/usr/bin/chromium)" },
  { command: 'unshare', pkg: 'util-linux', why: 'the WebRTC page test runs Chromium in a loopback-only network namespace' },
  { command: 'nsenter', pkg: 'util-linux', why: 'the same' },
  { command: 'ip', pkg: 'iproute2', why: 'the same (it brings up loopback in that namespace)' }
]

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
const missingNow = () => needs.filter((n) => !has(n.command))

let missing = missingNow()
if (missing.length === 0) process.exit(0)
const packages = [...new Set(missing.map((n) => n.pkg))]

const root = typeof process.getuid === 'function' && process.getuid() === 0
if (root && has('apt-get') && process.env.HYPHA_NO_INSTALL !== '1') {
  console.log(`installing what the tests need: ${packages.join(' ')} (apt-get)`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...packages]]) {
    const run = spawnSync('apt-get', args, { stdio: 'inherit', env })
    if (run.status !== 0) {
      console.error(`apt-get ${args[0]} failed (exit ${run.status}): install ${packages.join(' ')} yourself and run the tests again`)
      process.exit(1)
    }
  }
  missing = missingNow()
  if (missing.length === 0) process.exit(0)
}

console.error('The tests need programs that are not on this machine:')
for (const n of missing) console.error(`  ${n.command} (package ${n.pkg}): ${n.why}`)
console.error(`Install them, e.g. on Debian or Ubuntu:  sudo apt-get install -y ${packages.join(' ')}`)
console.error('then run the same command again.')
process.exit(1)
