export {
  webRtcTransport,
  WebRtcTransport,
  DEFAULT_MESSAGE_BYTES,
  MAX_MESSAGE_BYTES,
  messageBytesFor,
  type WebRtcTransportOptions,
  type WebRtcTransportEvents,
  type WebRtcConnectionInfo,
  type WrtcImplementation
} from './webrtc.js'
export {
  DEFAULT_SIGNALLING_PATH,
  MAX_SIGNAL_MESSAGE_BYTES,
  SIGNAL_CLOSE,
  SIGNALLING_PROOF_PURPOSE,
  joinProof,
  candidateAddress,
  isLoopbackCandidate,
  signalCandidates,
  filterSignal,
  type Signal
} from './signalling-protocol.js'
