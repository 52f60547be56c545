import { defineProject } from 'vitest/config'

// npm installs from the registry, tsc, vite build and Chromium on a 2-core machine: long timeouts,
// never timing assertions. One file, its tests in order (later steps use earlier steps' apps).
export default defineProject({
  test: { name: 'packaging', include: ['test/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000 }
})
