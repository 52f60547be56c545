// Node only in practice (node-datachannel is a native module), but this file never imports it:
// the caller passes the polyfill in.
import type { WrtcImplementation } from './webrtc.js'

const ICE_TRANSPORT_RETRIES = 200

/** The classes of `node-datachannel/polyfill` (passed in, so this module never imports it). */
export interface NodeDatachannelPolyfill {
  RTCPeerConnection: new (config?: any) => any
  RTCSessionDescription: unknown
  RTCIceCandidate: unknown
}

/**
 * Adapts `node-datachannel/polyfill` for simple-peer in Node:
 * `nodeDatachannelWrtc(await import('node-datachannel/polyfill'), { bindAddress: '127.0.0.1' })`.
 *
 * - simple-peer assigns to `description.sdp`, which the polyfill's RTCSessionDescription only has
 *   a getter for, so createOffer/createAnswer return plain `{ type, sdp }` objects.
 * - libdatachannel sets up its ICE transport on its own thread: a remote candidate that arrives
 *   just after the answer can fail with "remote candidate without ICE transport", which makes
 *   simple-peer drop the connection. addIceCandidate retries that case briefly.
 * - `bindAddress` (merged into every connection's config) binds ICE to one address: with
 *   '127.0.0.1' no other local address is ever used, which is how tests stay on loopback.
 */
export function nodeDatachannelWrtc(
  polyfill: NodeDatachannelPolyfill,
  defaults: { bindAddress?: string } = {}
): WrtcImplementation {
  const Base = polyfill.RTCPeerConnection
  class PeerConnection extends Base {
    constructor(config: Record<string, unknown> = {}) {
      super({ ...defaults, ...config })
    }
    async createOffer(...args: unknown[]): Promise<RTCSessionDescriptionInit> {
      const description = await super.createOffer(...args)
      return { type: description.type, sdp: description.sdp }
    }
    async createAnswer(...args: unknown[]): Promise<RTCSessionDescriptionInit> {
      const description = await super.createAnswer(...args)
      return { type: description.type, sdp: description.sdp }
    }
    async addIceCandidate(candidate: unknown): Promise<void> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await super.addIceCandidate(candidate)
        } catch (err) {
          const early = /without ICE transport/.test((err as Error)?.message ?? '')
          if (!early || attempt >= ICE_TRANSPORT_RETRIES || this.connectionState === 'closed') throw err
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
      }
    }
  }
  return {
    RTCPeerConnection: PeerConnection,
    RTCSessionDescription: polyfill.RTCSessionDescription,
    RTCIceCandidate: polyfill.RTCIceCandidate
  }
}
