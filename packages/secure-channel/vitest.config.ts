import { defineProject } from 'vitest/config'

export default defineProject({ test: { name: 'secure-channel', include: ['test/**/*.test.ts'] } })
