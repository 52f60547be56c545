import { defineProject } from 'vitest/config'

// Real sockets and real crypto on a 2-core machine: generous timeouts, never timing assertions.
export default defineProject({
  test: { name: 'storage-file', include: ['test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 }
})
