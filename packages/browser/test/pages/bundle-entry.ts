// The entry the build test bundles: everything a browser app of Hypha imports.
import { HyphaNode } from '@hypha/node-core'
import { idbStorage } from '@hypha/storage-indexeddb'
import { webSocketClient } from '@hypha/transport-websocket'
import { webRtcTransport } from '@hypha/transport-webrtc'
import { signUp, signIn, deriveRootSecret } from '@hypha/auth'

export { HyphaNode, idbStorage, webSocketClient, webRtcTransport, deriveRootSecret, signUp, signIn }
