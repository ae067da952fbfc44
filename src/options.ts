/**
 * Socket options, with every default in one place.
 */
import type { Durable } from './durable';
import { LongPoll } from './longpoll';
import type { MeshFactory } from './sync';
import { browserEnvironment, type Environment } from './environment';
import { systemClock, type BackoffOptions, type Clock } from './timer';

/** The minimal WebSocket surface the socket uses; the browser's `WebSocket` and `ws` both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  /** Set to `"arraybuffer"` so binary frames arrive as ArrayBuffers (browsers' default is Blob). */
  binaryType?: string;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** Creates a transport for a URL and optional subprotocols. */
export type TransportFactory = (url: string, protocols?: string[]) => WebSocketLike;

/** Connect params: strings sent in the query string. */
export type Params = Record<string, string>;

/** Options for `new Socket(endpoint, options)`. Every field is optional. */
export interface SocketOptions {
  /** Connect params, or a function returning them (called on every connect). Default `{}`. */
  params?: Params | (() => Params);
  /**
   * An auth token, or a function returning one (sync or async). Sent in the
   * `Sec-WebSocket-Protocol` header, never in the URL. A function is called
   * on every connect, and, with Plume's extensions on, again before the
   * token expires (10% of its lifetime before, at least 5 s and at most
   * 60 s, halfway for tokens under 10 s; read from its `exp` and `iat`): the new token goes to the server
   * on the open socket (`plume:token`, PROTOCOL.md §8), so channels stay
   * joined. A refused refresh is reported as `unauthorized` on
   * `socket.onError`; the server then closes the socket when the old token
   * expires and the socket reconnects with a fresh one. Default: none.
   */
  token?: string | (() => string | Promise<string>);
  /** Default timeout for joins, pushes and connection attempts (ms). Default 10000. */
  timeoutMs?: number;
  /** Interval between heartbeats; a heartbeat unanswered for this long drops the connection (ms). Default 30000. */
  heartbeatIntervalMs?: number;
  /** Reconnect backoff. Default `{ baseMs: 250, maxMs: 10000 }`. */
  reconnect?: BackoffOptions;
  /** Channel rejoin backoff after a refused or failed join. Default `{ baseMs: 1000, maxMs: 10000 }`. */
  rejoin?: BackoffOptions;
  /** Ask the server for Plume's extensions (order metadata, ...). Default true. */
  plume?: boolean;
  /** Creates the WebSocket. Default: the global `WebSocket` (in Node, pass `ws`). */
  transport?: TransportFactory;
  /**
   * Long-poll where WebSockets cannot be opened (PROTOCOL.md §1, Long-poll):
   * when a WebSocket has not opened after this long, or two in a row failed
   * to open (closed without a close code before, or within 5 s of, opening;
   * five in a row once a WebSocket has worked on this socket), the
   * socket connects over HTTP long-polling instead; every guarantee holds
   * there too. While on long-poll it tries a WebSocket again (after 5 s,
   * then at doubling intervals up to `webSocketRetryMs`) and moves back to
   * it when one opens. `false` never
   * falls back. Default 4000 with the default `transport`; with a `transport`
   * of your own, off unless set.
   */
  longPollFallbackMs?: number | false;
  /** While on long-poll, the longest wait between tries of a WebSocket (ms). Default 30000. */
  webSocketRetryMs?: number;
  /** Creates the long-poll transport. Default: {@link LongPoll} over the global `fetch`. */
  longPoll?: TransportFactory;
  /** Time source. Default: the system clock. */
  clock?: Clock;
  /** Network and visibility signals. Default: the browser's. */
  environment?: Environment;
  /** Random source for jitter. Default `Math.random`. */
  random?: () => number;
  /**
   * Durable storage from `plume/durable`: the IndexedDB outbox behind
   * `channel.send()` and the last delivered position per topic (so a reload
   * resumes without duplicates or gaps). Needs the Plume extensions
   * (`plume: true`). Default: none (sends are `push`es, positions live in memory).
   */
  durable?: Durable;
  /**
   * Peer-assisted fan-out from `plume/mesh`: room members relay signed
   * broadcasts to each other over WebRTC. Needs `plume: true`. Default: none.
   */
  mesh?: MeshFactory;
  /** How long a gap in a topic's sequence may stay open before it is fetched from the server (ms). Default 200. */
  gapWaitMs?: number;
}


export interface ResolvedSocketOptions {
  params: () => Params;
  token: (() => string | Promise<string>) | undefined;
  tokenIsDynamic: boolean;
  paramsAreDynamic: boolean;
  timeoutMs: number;
  heartbeatIntervalMs: number;
  reconnect: BackoffOptions;
  rejoin: BackoffOptions;
  plume: boolean;
  transport: TransportFactory;
  /** Null when the socket never falls back to long-poll. */
  longPollFallbackMs: number | null;
  webSocketRetryMs: number;
  longPoll: TransportFactory;
  clock: Clock;
  environment: Environment;
  random: () => number;
  durable: Durable | null;
  mesh: MeshFactory | null;
  gapWaitMs: number;
}

function defaultTransport(url: string, protocols?: string[]): WebSocketLike {
  const WS = (globalThis as { WebSocket?: new (url: string, protocols?: string[]) => WebSocketLike }).WebSocket;
  if (!WS) throw new Error('no global WebSocket: pass `transport: (url, protocols) => new WebSocket(url, protocols)` (for Node, from the `ws` package)');
  return new WS(url, protocols);
}

/** Applies defaults. */
export function resolveSocketOptions(options: SocketOptions): ResolvedSocketOptions {
  const { params, token } = options;
  if (options.durable && options.plume === false) throw new Error('durable storage needs the Plume extensions: remove plume: false');
  return {
    params: typeof params === 'function' ? params : () => params ?? {},
    paramsAreDynamic: typeof params === 'function',
    token: token === undefined ? undefined : typeof token === 'function' ? token : () => token,
    tokenIsDynamic: typeof token === 'function',
    timeoutMs: options.timeoutMs ?? 10_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 30_000,
    reconnect: options.reconnect ?? { baseMs: 250, maxMs: 10_000 },
    rejoin: options.rejoin ?? { baseMs: 1_000, maxMs: 10_000 },
    plume: options.plume ?? true,
    transport: options.transport ?? defaultTransport,
    longPollFallbackMs: options.longPollFallbackMs === false ? null : options.longPollFallbackMs ?? (options.transport ? null : 4_000),
    webSocketRetryMs: options.webSocketRetryMs ?? 30_000,
    longPoll: options.longPoll ?? ((url, protocols) => new LongPoll(url, protocols)),
    clock: options.clock ?? systemClock,
    environment: options.environment ?? browserEnvironment(),
    random: options.random ?? Math.random,
    durable: options.durable ?? null,
    mesh: options.plume === false ? null : options.mesh ?? null,
    gapWaitMs: options.gapWaitMs ?? 200,
  };
}
