import { defineProject } from 'vitest/config'

export default defineProject({ test: { name: 'ephemeral-ext', include: ['test/**/*.test.ts'] } })
