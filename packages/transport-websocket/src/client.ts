// The WebSocket client transport. Browser-safe (no Node built-ins, no `ws` import): in browsers it
// uses the global WebSocket; in Node 20 pass `ws`'s WebSocket class.
import type { TransportContext, WebSocketConstructor } from '@hypha/node-core/transport'
import { DialingTransport, TransportError, type ReconnectOptions, type SecretStreamOptions } from '@hypha/node-core/transport'
import { WebSocketStream, type WebSocketStreamOptions } from './stream.js'

/** Options of `webSocketClient`: the server URL, the WebSocket implementation (Node 20: ws's), the re-dial schedule, back-pressure and Noise timers. */
export interface WebSocketClientOptions extends SecretStreamOptions, WebSocketStreamOptions {
  /** ws:// or wss:// URL of the server, including its path (e.g. 'ws://127.0.0.1:8080/hypha'). */
  url: string
  /**
   * The WebSocket class. Defaults to `globalThis.WebSocket` (browsers, Node ≥ 22). In Node 20 pass
   * `ws`'s: `import { WebSocket } from 'ws'`. Kept an option so this module never imports `ws`.
   */
  WebSocket?: WebSocketConstructor
  /** Re-dial schedule, or `false` to dial once. */
  reconnect?: ReconnectOptions | false
}

/** Dials a WebSocket server (browser or Node) and re-dials whenever the connection fails or is lost. */
export class WebSocketClientTransport extends DialingTransport {
  readonly name = 'websocket'
  readonly url: string
  private readonly WebSocketImpl: WebSocketConstructor
  private readonly streamOptions: WebSocketStreamOptions

  constructor(options: WebSocketClientOptions) {
    super(options)
    let url: URL
    try {
      url = new URL(options?.url)
    } catch (cause) {
      throw new TransportError('ERR_INVALID_ARGUMENT', `invalid url: ${options?.url}`, { cause })
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new TransportError('ERR_INVALID_ARGUMENT', 'url must be ws:// or wss://')
    }
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (typeof impl !== 'function') {
      throw new TransportError('ERR_NO_WEBSOCKET', "no WebSocket here: pass { WebSocket } (in Node 20, ws's WebSocket)")
    }
    this.url = url.href
    this.WebSocketImpl = impl
    this.streamOptions = {
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.drainPollMs !== undefined ? { drainPollMs: options.drainPollMs } : {})
    }
  }

  protected get remote(): string {
    return this.url
  }

  protected openRaw(): WebSocketStream {
    return new WebSocketStream(new this.WebSocketImpl(this.url), this.streamOptions)
  }
}

/** A WebSocket client transport (browsers and Node): dials `url` once started and re-dials on failure or loss until `stop()`. */
export function webSocketClient(options: WebSocketClientOptions): WebSocketClientTransport {
  return new WebSocketClientTransport(options)
}
