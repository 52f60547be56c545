// A wrong entry for a browser: imports node-core's Node-only entry. The build test checks that
// its Node-only inputs are caught.
import { tcpServer, fileStorage } from '@hypha/node-core/native'

export { tcpServer, fileStorage }
