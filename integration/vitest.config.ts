import { defineProject } from 'vitest/config'

// Real sockets and real crypto on a 2-core machine: generous timeouts, never timing assertions.
export default defineProject({
  test: { name: 'integration', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 }
})
