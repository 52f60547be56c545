export {
  EphemeralExtension,
  EphemeralPeer,
  PROTOCOL,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_CONTENT_TYPE,
  muxerOf
} from './extension.js'
export type {
  EphemeralExtensionOptions,
  EphemeralMessage,
  EphemeralEvents,
  SendOptions,
  BroadcastOptions,
  ReplicationStream
} from './extension.js'
export { EphemeralError } from './errors.js'
export type { EphemeralErrorCode } from './errors.js'
export { encodeFrame, decodeFrame, frameEncoding, frameMessageEncoding, FRAME_VERSION, FRAME_OVERHEAD_BYTES, MAX_CONTENT_TYPE_BYTES } from './frame.js'
export type { Frame } from './frame.js'
export { strictUtf8, decodeUtf8, decodeCanonical, canonicalUint, canonicalUint8array, isWellFormed, utf8ByteLength } from './codec.js'
export type { CompactEncoding, CompactState } from './codec.js'
export type { Muxer, MuxerChannel, MuxerMessage, MuxerChannelOptions, MuxerMessageOptions, MuxerEncoding } from './muxer.js'
export { TypedEmitter } from './typed-emitter.js'
export type { TypedEmitterConstructor, EventMap, TypedListener } from './typed-emitter.js'
