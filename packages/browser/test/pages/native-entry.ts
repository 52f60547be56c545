// A wrong entry for a browser: imports node-core's Node-only entry. The build test checks that
// its Node-only inputs are caught.
import { tcpServer } from '@hypha/transport-tcp'
import { fileStorage } from '@hypha/storage-file'

export { tcpServer, fileStorage }
