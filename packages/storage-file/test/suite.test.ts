// The shared storage contract (@hypha/adapter-tests) on file storage, in a fresh temporary directory per check.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runStorageTests } from '@hypha/adapter-tests'
import { fileStorage } from '../src/index.js'

runStorageTests({
  name: 'file',
  async fresh(cleanups) {
    const dir = await mkdtemp(join(tmpdir(), 'hypha-storage-suite-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    return () => fileStorage(dir)
  }
})
