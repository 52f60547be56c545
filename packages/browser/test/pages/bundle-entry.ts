// The entry the build test bundles: everything a browser app of Hypha imports.
import { HyphaNode, idbStorage, webSocketClient, webRtcTransport, deriveRootSecret } from '@hypha/node-core'
import { signUp, signIn } from '@hypha/auth'

export { HyphaNode, idbStorage, webSocketClient, webRtcTransport, deriveRootSecret, signUp, signIn }
