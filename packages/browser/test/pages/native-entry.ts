// A wrong entry for a browser: imports two of our Node-only packages. The build test checks that
// the build fails, naming both.
import { tcpServer } from '@hypha/transport-tcp'
import { fileStorage } from '@hypha/storage-file'

export { tcpServer, fileStorage }
