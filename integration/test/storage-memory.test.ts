// The shared storage contract (@hypha/adapter-tests) on node-core's memory storage. It runs here
// because node-core cannot depend on adapter-tests (which depends on node-core).
import { runStorageTests } from '@hypha/adapter-tests'
import { memoryStorage } from '@hypha/node-core'

runStorageTests(
  {
    name: 'memory',
    // One reusable RAM store: each open() is the same adapter, which keeps closed files' data.
    async fresh() {
      const storage = memoryStorage()
      return () => storage
    }
  },
  {
    knownFailures: {
      // random-access-memory 6.2.1 zeroes the cut part of a page only when the new end is inside
      // that page: new RAM(); write(0, 10 × 0x01); truncate(0); write(20, [2]); read(0, 10) gives
      // ten 0x01, not zeros.
      'truncate shrinks and grows; a grown tail reads zeros': 'random-access-memory brings back bytes cut by a truncate to a page boundary'
    }
  }
)
