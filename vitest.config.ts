import { defineConfig } from 'vitest/config'

// One project per package: `vitest run` runs them all, `vitest run --project <name>` one.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples', 'integration', 'packaging']
  }
})
