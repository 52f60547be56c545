import { defineProject } from 'vitest/config'

export default defineProject({ test: { name: 'node-core', include: ['test/**/*.test.ts'] } })
