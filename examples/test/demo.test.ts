// The README's demo, run as a person would run it (with the test KDF): it must finish, show the
// prompt with the same code on both devices, show the relay reading nothing, and end with the
// device list and the recovery code.
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
    const code = /this device shows code (\d{3} \d{3}) beside "Laptop"/.exec(stdout)?.[1]
    expect(code).toBeDefined()
    expect(stdout).toContain(`Authorise node "Firefox on Ubuntu 64-bit"?  code ${code}`)
    expect(stdout).toContain('[laptop] warnings: none')
    expect(stdout).toMatch(/with the locator only\.\n {3}locator [0-9a-f]{16}… \(129 bytes/)
    expect(stdout).toContain('[firefox] writable: true')
    expect(stdout).toContain('[laptop] shopping/2 = "coffee beans"')
    expect(stdout).toMatch(/\d+ envelopes relayed, 0 decrypted, device name visible: false/)
    expect(stdout).toContain('readable: false')
    // The device list at the end, the laptop marked, and the recovery code.
    expect(stdout).toMatch(/^ {3}\* "Laptop" writer, origin; key [0-9a-f]{64}$/m)
    expect(stdout).toMatch(/^ {5}"Firefox on Ubuntu 64-bit" writer, added by "Laptop" .* UTC; key [0-9a-f]{64}$/m)
    expect(stdout).toMatch(/^ {5}recovery key not used yet; key [0-9a-f]{64}$/m)
    expect(stdout).toMatch(/^ {3}\(2 devices: 2 writers, 0 revoked; \* is this device\)$/m)
    expect(stdout).toMatch(/^ {3}recovery code: [0-9a-f]{4}(-[0-9a-f]{4}){7} /m)
    expect(stdout).toContain('node examples/dist/always-on.js --web examples/web')
  })
})
