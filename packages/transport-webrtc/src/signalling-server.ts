// WebRTC signalling relay for the always-on node. Peers join a room (the hex discovery key) under a
// random id, with a proof that they hold the room's member key (keyed BLAKE2b over the server's
// challenge, the room and the id); the server tells each member who is already there and relays
// signals (SDP offers and answers, ICE candidates) between members of the same room. It never
// carries data. A join without a valid proof is refused before it learns any id, so strangers can
// neither fill a room nor see who is in it. A server given no member key at all is open (tests, dev).
// Sockets that have not joined yet are capped (maxPendingSockets) and timed out (joinTimeoutMs), so
// a flood of idle connections neither grows without bound nor touches the members already in.
//
// Node only (uses `ws` and `node:http`). The protocol is documented in signalling-protocol.ts.
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { TypedEmitter } from '@hypha/node-core'
import { WebSocketServer, type WebSocket, type RawData } from 'ws'
import {
  DEFAULT_SIGNALLING_PATH,
  MAX_SIGNAL_MESSAGE_BYTES,
  SIGNAL_CLOSE,
  CHALLENGE_BYTES,
  MEMBER_PROOF_BYTES,
  isValidPeerId,
  isValidRoom,
  parseHex,
  toHex,
  verifyJoinProof
} from './signalling-protocol.js'
import { TransportError, type TransportErrorCode } from '@hypha/node-core/transport'

export type { SignallingServerOptions, SignallingJoin, RelayedSignal, SignallingServerEvents } from './signalling-server-options.js'
import type { SignallingServerOptions, SignallingJoin, RelayedSignal, SignallingServerEvents } from './signalling-server-options.js'

interface Member {
  socket: WebSocket
  /** Sent on connect; the join's proof covers it. */
  challenge: Uint8Array
  /** The join's proof (kept: rooms added later re-check the members already joined). */
  proof: Uint8Array | null
  room: string | null
  id: string | null
  /** A join is waiting for `authorise`. */
  joining: boolean
  alive: boolean
  closing: boolean
  joinTimer: ReturnType<typeof setTimeout> | null
}

/** A running signalling server (from `signallingServer()`): admits members to their account's room and relays their WebRTC signals. */
export class SignallingServer extends TypedEmitter<SignallingServerEvents> {
  readonly path: string
  private readonly wss: WebSocketServer
  private readonly httpServer: http.Server
  private readonly ownsServer: boolean
  private readonly rooms = new Map<string, Map<string, Member>>()
  private readonly members = new Set<Member>()
  /** Connected, not joined yet: what maxPendingSockets counts. */
  private readonly pending = new Set<Member>()
  private readonly roomKeys = new Map<string, Uint8Array>()
  private readonly authorise: ((join: SignallingJoin) => boolean | Promise<boolean>) | null
  private readonly maxRoomSize: number
  private readonly joinTimeoutMs: number
  private readonly maxPendingSockets: number
  private readonly heartbeat: ReturnType<typeof setInterval>
  private closed = false

  /** Use {@link signallingServer}, which also waits until a server of its own is listening. */
  constructor(options: SignallingServerOptions = {}) {
    super()
    const path = options.path ?? DEFAULT_SIGNALLING_PATH
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new TransportError('ERR_INVALID_ARGUMENT', 'path must start with /')
    }
    this.path = path
    for (const [room, memberKey] of options.rooms ?? []) this.setRoomKey(room, memberKey)
    if (options.authorise !== undefined && typeof options.authorise !== 'function') {
      throw new TransportError('ERR_INVALID_ARGUMENT', 'authorise must be a function')
    }
    this.authorise = options.authorise ?? null
    this.maxRoomSize = positiveInt(options.maxRoomSize ?? 64, 'maxRoomSize')
    this.joinTimeoutMs = positiveInt(options.joinTimeoutMs ?? 10_000, 'joinTimeoutMs')
    this.maxPendingSockets = positiveInt(options.maxPendingSockets ?? 256, 'maxPendingSockets')
    const maxPayload = positiveInt(options.maxMessageBytes ?? MAX_SIGNAL_MESSAGE_BYTES, 'maxMessageBytes')
    // noServer + our own 'upgrade' handler: the same HTTP server also serves a web page and a
    // WebSocket replication endpoint on other paths.
    // skipUTF8Validation: the one UTF-8 check is the strict decode in onMessage (closes with 1007).
    this.wss = new WebSocketServer({ noServer: true, maxPayload, skipUTF8Validation: true })
    this.ownsServer = !options.server
    this.httpServer =
      options.server ??
      http.createServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n')
      })
    this.httpServer.on('upgrade', this.onUpgrade)
    this.heartbeat = setInterval(() => this.checkAlive(), positiveInt(options.heartbeatMs ?? 30_000, 'heartbeatMs'))
    this.heartbeat.unref()
  }

  /** Listens when the server is its own; no-op when attached to a caller's server. Rejects with `ERR_LISTEN`. */
  async listen(port = 0, host?: string): Promise<void> {
    if (!this.ownsServer || this.httpServer.listening) return
    await new Promise<void>((resolve, reject) => {
      const onError = (cause: unknown) => reject(new TransportError('ERR_LISTEN', `cannot listen on ${host ?? '*'}:${port}`, { cause }))
      this.httpServer.once('error', onError)
      this.httpServer.listen(port, host, () => {
        this.httpServer.off('error', onError)
        resolve()
      })
    })
  }

  /** Address of the HTTP server (own or attached), once listening. */
  get address(): AddressInfo | null {
    const address = this.httpServer.address()
    return address && typeof address === 'object' ? address : null
  }

  /** `ws://host:port/path` of this endpoint, once listening. */
  get url(): string {
    const address = this.address
    if (!address) throw new TransportError('ERR_INVALID_ARGUMENT', 'the server is not listening')
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    return `ws://${host}:${address.port}${this.path}`
  }

  /** True while the server holds no member key and has no `authorise`: every well-formed join is accepted (tests, dev). */
  get open(): boolean {
    return this.roomKeys.size === 0 && this.authorise === null
  }

  /**
   * Serves a room (hex discovery key) for the holders of `memberKey` (32 bytes). The server is
   * closed from then on: members already joined without a valid proof for their room (joined while
   * it was open, or to a room it has no key for) are dropped with `ERR_NOT_A_MEMBER`.
   * Throws `ERR_INVALID_ARGUMENT` for a bad room or key.
   */
  addRoom(room: string, memberKey: Uint8Array): void {
    this.setRoomKey(room, memberKey)
    for (const member of this.members) {
      if (member.room === null || member.id === null) continue
      // Admitted by `authorise` to a room without a key: nothing it was admitted on has changed.
      if (!this.roomKeys.has(member.room) && this.authorise) continue
      if (this.admits(member, member.room, member.id) !== true) {
        this.reject(member, 'ERR_NOT_A_MEMBER', 'not a member of the room (checked when its key was added)', SIGNAL_CLOSE.NOT_A_MEMBER)
      }
    }
  }

  /** Number of members in a room (hex discovery key). */
  roomSize(room: string): number {
    return this.rooms.get(room)?.size ?? 0
  }

  /** Drops every socket and stops serving. Closes the HTTP server only if it is its own. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.heartbeat)
    this.httpServer.off('upgrade', this.onUpgrade)
    for (const member of this.members) member.socket.terminate()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    if (this.ownsServer && this.httpServer.listening) {
      this.httpServer.closeAllConnections()
      await new Promise<void>((resolve) => this.httpServer.close(() => resolve()))
    }
  }

  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    let pathname: string
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    } catch {
      pathname = ''
    }
    if (pathname !== this.path) {
      // On a shared server other upgrade handlers own other paths; on our own nobody does.
      if (this.ownsServer) socket.destroy()
      return
    }
    if (this.closed) {
      socket.destroy()
      return
    }
    socket.on('error', () => {}) // a client resetting mid-upgrade must not crash the server
    if (this.pending.size >= this.maxPendingSockets) {
      // Refused before the upgrade: a flood of sockets that never join costs no WebSocket state.
      this.emit('rejected', new TransportError('ERR_TOO_MANY_PENDING', `${this.pending.size} sockets have not joined yet`))
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws))
  }

  private onSocket(socket: WebSocket): void {
    const challenge = new Uint8Array(randomBytes(CHALLENGE_BYTES))
    const member: Member = { socket, challenge, proof: null, room: null, id: null, joining: false, alive: true, closing: false, joinTimer: null }
    this.members.add(member)
    this.pending.add(member)
    sendJson(socket, { type: 'challenge', challenge: toHex(challenge) })
    member.joinTimer = setTimeout(() => {
      if (member.room === null) this.reject(member, 'ERR_JOIN_TIMEOUT', 'no join in time', SIGNAL_CLOSE.JOIN_TIMEOUT)
    }, this.joinTimeoutMs)
    socket.on('message', (data, isBinary) => this.onMessage(member, data, isBinary))
    socket.on('pong', () => (member.alive = true))
    socket.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself after protocol errors (1009 for an oversized frame).
      const tooLarge = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
      member.closing = true
      this.emit(
        'rejected',
        tooLarge
          ? new TransportError('ERR_MESSAGE_TOO_LARGE', 'frame exceeds maxMessageBytes', { cause: err })
          : new TransportError('ERR_CONNECTION', err.message, { cause: err })
      )
    })
    socket.on('close', () => this.onClose(member))
  }

  private onMessage(member: Member, data: RawData, isBinary: boolean): void {
    if (member.closing) return
    if (isBinary) return this.reject(member, 'ERR_BAD_SIGNAL', 'binary frame')
    let text: string
    try {
      text = utf8.decode(rawBytes(data))
    } catch {
      return this.reject(member, 'ERR_BAD_SIGNAL', 'not UTF-8', SIGNAL_CLOSE.NOT_UTF8)
    }
    let msg: unknown
    try {
      msg = JSON.parse(text)
    } catch {
      return this.reject(member, 'ERR_BAD_SIGNAL', 'not JSON')
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      return this.reject(member, 'ERR_BAD_SIGNAL', 'not a JSON object')
    }
    const m = msg as Record<string, unknown>
    if (m.type === 'join') return this.onJoin(member, m)
    if (m.type === 'signal') return this.onSignal(member, m)
    return this.reject(member, 'ERR_BAD_SIGNAL', 'unknown message type')
  }

  private onJoin(member: Member, m: Record<string, unknown>): void {
    if (member.room !== null || member.joining) return this.reject(member, 'ERR_ALREADY_JOINED', 'already in a room')
    if (!isValidRoom(m.room)) return this.reject(member, 'ERR_BAD_SIGNAL', 'room must be 64 lowercase hex chars')
    if (!isValidPeerId(m.peer)) return this.reject(member, 'ERR_BAD_SIGNAL', 'peer id must be 8-64 of [0-9A-Za-z_-]')
    const { room, peer } = m
    // Membership first: a stranger learns nothing (not even whether an id is taken or the room full).
    member.proof = m.proof === undefined ? null : parseHex(m.proof, MEMBER_PROOF_BYTES)
    const verdict = this.admits(member, room, peer)
    if (typeof verdict === 'boolean') return this.enter(member, room, peer, verdict)
    // The join timer keeps running: a slow `authorise` cannot hold a socket past joinTimeoutMs.
    member.joining = true
    void verdict.then((admitted) => {
      member.joining = false
      if (member.closing) return
      // A key added for the room meanwhile decides instead, as addRoom does for the members already in.
      this.enter(member, room, peer, this.roomKeys.has(room) ? this.admits(member, room, peer) === true : admitted)
    })
  }

  private enter(member: Member, roomId: string, peer: string, admitted: boolean): void {
    if (!admitted) {
      return this.reject(member, 'ERR_NOT_A_MEMBER', 'no valid proof of membership for the room', SIGNAL_CLOSE.NOT_A_MEMBER)
    }
    const room = this.rooms.get(roomId) ?? new Map<string, Member>()
    if (room.has(peer)) {
      return this.reject(member, 'ERR_DUPLICATE_PEER', 'peer id already in the room', SIGNAL_CLOSE.DUPLICATE_PEER)
    }
    if (room.size >= this.maxRoomSize) return this.reject(member, 'ERR_ROOM_FULL', 'room is full', SIGNAL_CLOSE.ROOM_FULL)
    const existing = [...room.keys()]
    room.set(peer, member)
    this.rooms.set(roomId, room)
    member.room = roomId
    member.id = peer
    this.pending.delete(member)
    if (member.joinTimer) clearTimeout(member.joinTimer)
    member.joinTimer = null
    sendJson(member.socket, { type: 'peers', peers: existing })
    this.emit('join', roomId, peer)
  }

  /**
   * Open server: anyone. Otherwise: a room with a key, and a proof under it for this socket's
   * challenge; for other rooms, what `authorise` says (a Promise only when it returns one).
   */
  private admits(member: Member, room: string, peer: string): boolean | Promise<boolean> {
    if (this.open) return true
    const proof = member.proof
    if (proof === null) return false
    const proves = (memberKey: Uint8Array): boolean =>
      memberKey instanceof Uint8Array && memberKey.byteLength === 32 && verifyJoinProof(memberKey, member.challenge, room, peer, proof)
    const memberKey = this.roomKeys.get(room)
    if (memberKey) return proves(memberKey)
    if (!this.authorise) return false
    const refused = (cause: unknown): false => {
      this.emit('rejected', new TransportError('ERR_HANDLER', 'authorise threw or rejected', { cause }))
      return false
    }
    try {
      const verdict = this.authorise({ room, peer, proves })
      if (typeof verdict === 'boolean') return verdict
      // Any thenable (a Promise from another realm or library too); anything else refuses.
      if (typeof (verdict as PromiseLike<boolean> | null)?.then !== 'function') return false
      return Promise.resolve(verdict).then((admitted) => admitted === true, refused)
    } catch (cause) {
      return refused(cause)
    }
  }

  private setRoomKey(room: string, memberKey: Uint8Array): void {
    if (!isValidRoom(room)) throw new TransportError('ERR_INVALID_ARGUMENT', 'a room must be 64 lowercase hex chars')
    if (!(memberKey instanceof Uint8Array) || memberKey.byteLength !== 32) {
      throw new TransportError('ERR_INVALID_ARGUMENT', 'a member key must be a 32-byte Uint8Array')
    }
    this.roomKeys.set(room, Uint8Array.from(memberKey))
  }

  private onSignal(member: Member, m: Record<string, unknown>): void {
    if (member.room === null || member.id === null) return this.reject(member, 'ERR_NOT_JOINED', 'signal before join')
    const { to, signal } = m
    if (!isValidPeerId(to) || to === member.id) return this.reject(member, 'ERR_BAD_SIGNAL', 'bad recipient')
    if (typeof signal !== 'object' || signal === null || Array.isArray(signal)) {
      return this.reject(member, 'ERR_BAD_SIGNAL', 'signal must be an object')
    }
    const target = this.rooms.get(member.room)?.get(to)
    if (!target) {
      // Not delivered, but the socket stays: the recipient may just have left (a benign race).
      // Members of other rooms are unreachable by construction: lookup is within the sender's room.
      this.emit('rejected', new TransportError('ERR_UNKNOWN_PEER', `no peer ${to} in the sender's room`))
      sendJson(member.socket, { type: 'error', code: 'ERR_UNKNOWN_PEER', peer: to })
      return
    }
    // `from` comes from the server's record of the sender, never from the message.
    const relayed: RelayedSignal = { room: member.room, from: member.id, to, signal }
    sendJson(target.socket, { type: 'signal', from: member.id, to, signal })
    this.emit('relay', relayed)
  }

  private onClose(member: Member): void {
    member.closing = true // a pending authorise must not seat a socket that is gone
    this.members.delete(member)
    this.pending.delete(member)
    if (member.joinTimer) clearTimeout(member.joinTimer)
    const { room: roomId, id } = member
    if (roomId === null || id === null) return
    const room = this.rooms.get(roomId)
    if (room?.get(id) !== member) return
    room.delete(id)
    if (room.size === 0) this.rooms.delete(roomId)
    else for (const other of room.values()) sendJson(other.socket, { type: 'left', peer: id })
    this.emit('leave', roomId, id)
  }

  private reject(member: Member, code: TransportErrorCode, message: string, closeCode: number = SIGNAL_CLOSE.BAD_MESSAGE): void {
    if (member.closing) return
    member.closing = true
    this.emit('rejected', new TransportError(code, message))
    member.socket.close(closeCode, code)
  }

  private checkAlive(): void {
    for (const member of this.members) {
      if (!member.alive) {
        member.socket.terminate()
        continue
      }
      member.alive = false
      try {
        member.socket.ping()
      } catch {
        // socket already closing
      }
    }
  }
}

/**
 * Starts a signalling relay: on a server of its own (`port`, `host`) or on an existing HTTP server
 * (`server`) at `path`. Resolves when it accepts connections.
 */
export async function signallingServer(options: SignallingServerOptions = {}): Promise<SignallingServer> {
  const server = new SignallingServer(options)
  if (!options.server) {
    try {
      await server.listen(options.port ?? 0, options.host)
    } catch (err) {
      await server.close()
      throw err
    }
  }
  return server
}

function sendJson(socket: WebSocket, message: object): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message))
}

// fatal: a malformed sequence is refused, never decoded to U+FFFD (which would let two different
// byte strings read as the same JSON).
const utf8 = new TextDecoder('utf-8', { fatal: true })

function rawBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new TransportError('ERR_INVALID_ARGUMENT', `${name} must be a positive integer`)
  return value
}
