// The README's demo, run as a person would run it (with the test KDF): it must finish, show the
// prompt with the same code on both devices, and show the relay reading nothing.
import { describe, it, expect } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const DEMO = fileURLToPath(new URL('../dist/demo.js', import.meta.url))

describe('the demo', () => {
  it('runs the whole flow and exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [DEMO], {
      env: { ...process.env, HYPHA_DEMO_FAST_KDF: '1' },
      timeout: 90_000
    })
    const code = /this device shows code (\d{3} \d{3})/.exec(stdout)?.[1]
    expect(code).toBeDefined()
    expect(stdout).toContain(`Authorise node "Firefox on Ubuntu 64-bit"?  code ${code}`)
    expect(stdout).toContain('[firefox] writable: true')
    expect(stdout).toContain('[laptop] shopping/2 = "coffee beans"')
    expect(stdout).toMatch(/\d+ envelopes relayed, 0 decrypted, device name visible: false/)
    expect(stdout).toContain('readable: false')
  })
})
