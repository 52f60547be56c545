// The shared storage contract (@hypha/adapter-tests) on node-core's memory storage. It runs here
// because node-core cannot depend on adapter-tests (which depends on node-core).
import { runStorageTests } from '@hypha/adapter-tests'
import { memoryStorage } from '@hypha/node-core'

runStorageTests({
  name: 'memory',
  // One reusable RAM store: each open() is the same adapter, which keeps closed files' data.
  async fresh() {
    const storage = memoryStorage()
    return () => storage
  }
})
