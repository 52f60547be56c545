import { fileURLToPath } from 'node:url'
import { defineProject } from 'vitest/config'

// Drives the built programs (examples/dist) as child processes on 127.0.0.1: real sockets, real
// crypto (Argon2id lowered by HYPHA_FAST_KDF) on a small machine, so generous timeouts and never
// timing assertions. Build first: `npx tsc -b examples` (the root test script runs `tsc -b`).
export default defineProject({
  // So that `vitest run --config examples/vitest.config.ts` from the repository root finds the tests.
  root: fileURLToPath(new URL('.', import.meta.url)),
  test: { name: 'examples', include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 60_000 }
})
