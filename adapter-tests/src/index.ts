export { createPeer, createPair, track, cleanups, expectRedialAndCatchUp, type Peer } from './transport-peer.js'
export { expectEphemeralBothWays } from './exchange.js'
export { rootSecret, startNode, eventually } from './nodes.js'
