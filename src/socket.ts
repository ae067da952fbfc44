/**
 * The client's connection to a Plume (or Phoenix) server: one WebSocket (or,
 * where those cannot be opened, long-poll), heartbeats, reconnection with
 * jittered backoff, reactions to the network and page visibility, and
 * routing of frames to channels.
 *
 * Responsible for the connection's state machine. Not responsible for
 * which transport to use (`transport-choice.ts`, `probe.ts`), the heartbeat's
 * timers (`heartbeat.ts`), channel semantics (`channel.ts`), replies to
 * pushes (`push.ts`) or how long-poll works (`longpoll.ts`).
 */
import { base64url } from './base64';
import { Channel, type ChannelOptions } from './channel';
import type { Outbox } from './outbox/outbox';
import { PlumeError, type PlumeErrorCode } from './errors';
import { Listeners, type Unsubscribe } from './listeners';
import { resolveSocketOptions, type ResolvedSocketOptions, type SocketOptions, type WebSocketLike } from './options';
import { CLOSE, PHOENIX_TOPIC, TAB_PARAM, TOKEN_PROTOCOL_PREFIX, VSN, decode, decodeServerFrame, encode, encodePush, type Message, type Payload } from './protocol';
import { tabId } from './tab';
import { RetryTimer, backoff, type TimerHandle } from './timer';
import { TokenRefresher } from './token-refresh';
import { TransportChoice, type TransportKind } from './transport-choice';
import { Heartbeat } from './heartbeat';
import { WebSocketProbe } from './probe';

/** Where the connection is. */
export type SocketState = 'closed' | 'connecting' | 'open' | 'reconnecting' | 'offline';

/** A state change and why it happened. */
export interface StateChange<S extends string = SocketState> {
  from: S;
  to: S;
  reason: string;
}

/** What carries the socket's frames: a WebSocket, or long-poll where WebSockets cannot be opened. */
export type { TransportKind } from './transport-choice';

/** A socket's state change, with the transport in use (or being tried). */
export interface SocketStateChange extends StateChange<SocketState> {
  transport: TransportKind;
}

const TRANSITIONS: Record<SocketState, readonly SocketState[]> = {
  closed: ['connecting', 'offline'],
  connecting: ['open', 'reconnecting', 'offline', 'closed'],
  open: ['reconnecting', 'offline', 'closed'],
  reconnecting: ['connecting', 'offline', 'closed'],
  offline: ['connecting', 'reconnecting', 'closed'],
};

const FATAL: Record<number, PlumeErrorCode> = { [CLOSE.unauthorized]: 'unauthorized', [CLOSE.forbidden]: 'forbidden' };
const PROTOCOL = new Set<number>([CLOSE.badFrame, CLOSE.unsupportedData, CLOSE.invalidData, CLOSE.tooBig]);

/** While the browser says it is offline, how often to try anyway (ms). */
const OFFLINE_PROBE_MS = 30_000;

/**
 * After close 4420 (flooding) the next attempt waits as if this many more had failed: 2–4 s with the
 * default `reconnect` options, so a client cut off for flooding does not come straight back.
 */
const FLOODING_EXTRA_TRIES = 5;

/** How long a heartbeat sent because the page became visible may take (ms). */
const VISIBLE_PROBE_MS = 5_000;

/**
 * A connection that stays up by itself: it reconnects with backoff, rejoins
 * channels, pauses while the browser is offline and checks itself when the
 * page becomes visible again.
 *
 * @example
 * const socket = new Socket('/socket', { params: { name: 'Ada' } });
 * socket.onStateChange(({ to, reason }) => console.log(to, reason));
 * socket.connect();
 * const room = socket.channel('room:lobby');
 * room.on('new_msg', (msg) => console.log(msg));
 * await room.join();
 */
export class Socket {
  /** @internal */
  readonly options: ResolvedSocketOptions;
  /** The durable outbox behind `channel.send()`, or null without `durable` storage. */
  readonly outbox: Outbox | null;
  private readonly endpoint: string;
  private current: SocketState = 'closed';
  private generation = 0;
  private ws: WebSocketLike | null = null;
  /** WebSocket or long-poll, by how earlier connections went. */
  private readonly choice: TransportChoice;
  /** When the current transport opened, or null while it has not. */
  private openedAt: number | null = null;
  private fallbackTimer: TimerHandle | null = null;
  /** While on long-poll: the next try of a WebSocket. */
  private readonly probe: WebSocketProbe;
  private refCount = 0;
  private wanted = false;
  private readonly channelsByTopic = new Map<string, Set<Channel>>();
  private readonly stateListeners = new Listeners<[SocketStateChange]>();
  private readonly errorListeners = new Listeners<[PlumeError]>();
  private readonly reconnectTimer: RetryTimer;
  private connectTimer: TimerHandle | null = null;
  private readonly heartbeat: Heartbeat;
  private environmentSubscriptions: Unsubscribe[] = [];
  /** Renews the token on the open socket (`plume:token`), when `token` is a function and Plume's extensions are on. */
  private readonly refresher: TokenRefresher | null;

  constructor(endpoint: string, options: SocketOptions = {}) {
    this.endpoint = endpoint;
    this.options = resolveSocketOptions(options);
    this.outbox = this.options.durable?.outbox ?? null;
    this.choice = new TransportChoice(this.options.longPollFallbackMs !== null, this.options.webSocketRetryMs);
    this.probe = new WebSocketProbe(this.options.clock, this.options.timeoutMs);
    this.heartbeat = new Heartbeat({
      clock: this.options.clock, intervalMs: this.options.heartbeatIntervalMs, isOpen: () => this.current === 'open',
      makeRef: () => this.makeRef(), send: (message) => this.send(message), timedOut: () => this.lost(this.generation, 'heartbeat timeout'),
    });
    this.options.durable?.onError((error) => this.errorListeners.emit(error));
    const { token, clock } = this.options;
    this.refresher = token && this.options.tokenIsDynamic && this.options.plume
      ? new TokenRefresher({ clock, token, makeRef: () => this.makeRef(), send: (m) => this.send(m), report: (e) => this.errorListeners.emit(e) })
      : null;
    this.reconnectTimer = new RetryTimer(this.options.clock, () => this.openTransport('retry'), (tries) =>
      backoff(tries, this.options.reconnect, this.options.random),
    );
  }

  /** The connection's state. */
  get state(): SocketState {
    return this.current;
  }

  /** The transport in use, or being tried: `websocket`, or `longpoll` where WebSockets cannot be opened. */
  get transport(): TransportKind {
    return this.choice.kind;
  }

  /** True when frames can be sent. */
  isConnected(): boolean {
    return this.current === 'open';
  }

  /** Opens the connection and keeps it open until `disconnect()`. Idempotent. */
  connect(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.watchEnvironment();
    if (this.options.environment.online()) this.openTransport('connect');
    else this.waitFor('offline', 'browser is offline');
  }

  /** Closes the connection and stops reconnecting. Channels stay and rejoin on the next `connect()`. */
  disconnect(reason = 'disconnect'): void {
    this.wanted = false;
    this.reconnectTimer.reset();
    for (const unsubscribe of this.environmentSubscriptions) unsubscribe();
    this.environmentSubscriptions = [];
    this.abandonTransport(reason);
    this.transition('closed', reason);
  }

  /**
   * Creates a channel for `topic`. Call `join()` on it. `params` go to the
   * server's join handler; `options.history` asks for the latest broadcasts
   * on a first join.
   * @example const room = socket.channel('room:lobby', { invite: 'x' }, { history: 50 });
   */
  channel(topic: string, params: Payload | (() => Payload) = {}, options: ChannelOptions = {}): Channel {
    const channel = new Channel(this, topic, params, options);
    let set = this.channelsByTopic.get(topic);
    if (!set) this.channelsByTopic.set(topic, (set = new Set()));
    set.add(channel);
    return channel;
  }

  /** Observes state changes (each with the transport in use). */
  onStateChange(callback: (change: SocketStateChange) => void): Unsubscribe {
    return this.stateListeners.on(callback);
  }

  /** Observes errors: refused authentication, protocol violations reported by the server. */
  onError(callback: (error: PlumeError) => void): Unsubscribe {
    return this.errorListeners.on(callback);
  }

  /** @internal Removes a closed channel. */
  remove(channel: Channel): void {
    const set = this.channelsByTopic.get(channel.topic);
    set?.delete(channel);
    if (set?.size === 0) this.channelsByTopic.delete(channel.topic);
  }

  /** @internal A fresh message ref. */
  makeRef(): string {
    this.refCount = this.refCount === Number.MAX_SAFE_INTEGER ? 1 : this.refCount + 1;
    return String(this.refCount);
  }

  /** @internal Sends a frame if connected; returns whether it was sent. */
  send(message: Message): boolean {
    if (this.current !== 'open' || !this.ws) return false;
    const { binary } = message;
    this.ws.send(binary ? encodePush(message.joinRef, message.ref ?? '', message.topic, message.event, binary, message.meta) : encode(message));
    return true;
  }

  /** The URL the socket connects to. */
  endpointUrl(): string {
    let base = this.endpoint.replace(/\/+$/, '');
    if (!/^(wss?|https?):\/\//.test(base)) {
      const location = (globalThis as { location?: { protocol: string; host: string } }).location;
      if (!location) throw new Error(`relative endpoint "${this.endpoint}" needs a page location; pass an absolute ws:// URL`);
      base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${base.startsWith('/') ? '' : '/'}${base}`;
    }
    const url = new URL(`${base.replace(/^http/, 'ws')}/websocket`);
    url.searchParams.set('vsn', VSN);
    if (this.options.plume) {
      url.searchParams.set('plume', '1');
      url.searchParams.set(TAB_PARAM, tabId(this)); // lets a reconnect take over its own presence
    }
    for (const [key, value] of Object.entries(this.options.params())) url.searchParams.set(key, String(value));
    return url.toString();
  }

  private transition(to: SocketState, reason: string): void {
    const from = this.current;
    if (from === to) return;
    if (!TRANSITIONS[from].includes(to)) throw new Error(`socket: illegal transition ${from} -> ${to} (${reason})`);
    this.current = to;
    this.stateListeners.emit({ from, to, reason, transport: this.choice.kind });
    for (const set of this.channelsByTopic.values()) for (const channel of [...set]) channel.socketChanged(to);
  }

  private openTransport(reason: string): void {
    if (!this.wanted) return;
    this.reconnectTimer.cancel();
    this.abandonTransport(reason);
    const generation = ++this.generation;
    this.transition('connecting', reason);
    this.connectTimer = this.options.clock.setTimeout(() => {
      if (generation === this.generation) this.countEnded(CLOSE.abnormal);
      this.lost(generation, 'connect timeout');
    }, this.options.timeoutMs);
    const token = this.options.token;
    Promise.resolve(token?.()).then(
      (value) => generation === this.generation && this.createTransport(generation, value),
      (cause: unknown) => {
        if (generation !== this.generation) return;
        this.errorListeners.emit(new PlumeError('unauthorized', 'the token function failed', { cause }));
        this.lost(generation, 'token unavailable');
      },
    );
  }

  private createTransport(generation: number, token: string | undefined): void {
    this.refresher?.use(token);
    const { longPollFallbackMs, clock } = this.options;
    const longPoll = this.choice.kind === 'longpoll';
    let ws: WebSocketLike;
    try {
      ws = (longPoll ? this.options.longPoll : this.options.transport)(this.endpointUrl(), subprotocols(token));
    } catch (cause) {
      this.errorListeners.emit(new PlumeError('transport', `cannot open a ${longPoll ? 'long-poll session' : 'WebSocket'}: ${String(cause)}`, { cause }));
      return this.lost(generation, 'transport failed');
    }
    this.ws = ws;
    this.openedAt = null;
    if (this.choice.mayFallBack && longPollFallbackMs !== null) {
      // A proxy that swallows the upgrade leaves the WebSocket hanging: long-poll may get through.
      this.fallbackTimer = clock.setTimeout(() => generation === this.generation && this.fallBack(`no WebSocket after ${longPollFallbackMs} ms`), longPollFallbackMs);
    }
    // Binary frames as ArrayBuffers (a browser's default is Blob, which would need an async read).
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => generation === this.generation && this.opened();
    ws.onmessage = (event) => generation === this.generation && this.received(event.data);
    ws.onclose = (event) => this.closed(generation, event.code, event.reason);
    // Every error event is followed by a close event, which is where we act.
    ws.onerror = () => {};
  }

  private decodeText(data: string): Message | null {
    // Frames from the server are trusted for depth: it vouches for what it broadcasts.
    const result = decode(data, true, Infinity);
    if (result.ok) return result.message;
    this.errorListeners.emit(new PlumeError('protocol', `server sent a malformed frame: ${result.reason}`));
    return null;
  }

  /** A binary frame (PROTOCOL.md §2): an ArrayBuffer, or a typed view in transports that give one. */
  private decodeBinary(data: unknown): Message | null {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    const message = bytes && decodeServerFrame(bytes);
    if (!message) this.errorListeners.emit(new PlumeError('protocol', 'server sent a malformed binary frame'));
    return message;
  }

  private opened(): void {
    this.clearConnectTimer();
    this.clearFallbackTimer();
    this.openedAt = this.options.clock.now();
    this.reconnectTimer.reset();
    if (this.choice.kind === 'longpoll') this.scheduleProbe();
    this.transition('open', 'connected');
    this.heartbeat.start();
    this.refresher?.start();
  }

  private received(data: unknown): void {
    const message = typeof data === 'string' ? this.decodeText(data) : this.decodeBinary(data);
    if (!message) return;
    // A signed broadcast keeps its text: a member forwarding it checks its re-encoding against it.
    if (message.meta?.sig !== undefined && typeof data === 'string') message.frame = data;
    if (message.topic === PHOENIX_TOPIC) {
      if (!this.heartbeat.answered(message)) this.refresher?.answer(message);
      return;
    }
    const set = this.channelsByTopic.get(message.topic);
    if (set) for (const channel of [...set]) channel.receive(message);
  }

  private closed(generation: number, code: number, reason: string): void {
    if (generation !== this.generation) return;
    this.countEnded(code);
    const fatal = FATAL[code];
    if (fatal) {
      this.errorListeners.emit(new PlumeError(fatal, reason || `closed with ${code}`, { closeCode: code }));
      if (!this.options.tokenIsDynamic && !this.options.paramsAreDynamic) {
        this.ws = null;
        this.clearTimers();
        this.wanted = false;
        return this.transition('closed', `${fatal}: ${reason}`);
      }
    } else if (PROTOCOL.has(code)) {
      this.errorListeners.emit(new PlumeError('protocol', reason || `closed with ${code}`, { closeCode: code }));
    } else if (code === CLOSE.flooding) {
      this.errorListeners.emit(new PlumeError('rate_limited', reason || `closed with ${code}`, { closeCode: code }));
    }
    const delayMs = code === CLOSE.flooding ? backoff(this.reconnectTimer.tries + FLOODING_EXTRA_TRIES, this.options.reconnect, this.options.random) : undefined;
    this.lost(generation, `closed ${code}${reason ? `: ${reason}` : ''}`, delayMs);
  }

  /** Tells the transport choice how the connection ended (`transport-choice.ts`). */
  private countEnded(code: number): void {
    this.choice.ended(code, this.openedAt === null ? null : this.options.clock.now() - this.openedAt);
  }

  /** The WebSocket did not open in time: long-poll now, without waiting for backoff. */
  private fallBack(reason: string): void {
    this.choice.useLongPoll();
    this.openTransport(`${reason}: trying long-poll`);
  }

  /** While on long-poll, a WebSocket is tried again now and then; when one opens, the socket moves to it. */
  private scheduleProbe(): void {
    const generation = this.generation;
    const open = async () => {
      if (this.choice.kind !== 'longpoll' || this.current !== 'open') return null;
      const token = await this.options.token?.();
      return generation === this.generation ? this.options.transport(this.endpointUrl(), subprotocols(token)) : null;
    };
    this.probe.schedule(this.choice.nextProbeDelay(), open, (opened) => {
      if (generation !== this.generation) return;
      // Not yet (or the token could not be had): stay on long-poll and try again later.
      if (!opened) return this.scheduleProbe();
      this.choice.useWebSocket();
      // Through reconnecting, as after any lost connection: channels rejoin over the WebSocket and recover.
      this.abandonTransport('moving to WebSocket');
      this.transition('reconnecting', 'WebSocket available again');
      this.openTransport('WebSocket available again');
    });
  }

  /** The current connection is gone (or never came): retry with backoff (or after `delayMs`). */
  private lost(generation: number, reason: string, delayMs?: number): void {
    if (generation !== this.generation) return;
    this.abandonTransport(reason);
    if (!this.wanted) return this.transition('closed', reason);
    this.waitFor(this.options.environment.online() ? 'reconnecting' : 'offline', reason, delayMs);
  }

  private waitFor(state: 'reconnecting' | 'offline', reason: string, delayMs?: number): void {
    this.transition(state, reason);
    // Offline, the 'online' event brings us back at once; a rare probe covers a browser whose onLine is wrong.
    this.reconnectTimer.schedule(state === 'offline' ? OFFLINE_PROBE_MS : delayMs);
  }

  /** Detaches and closes the current transport; its late events are ignored by generation. */
  private abandonTransport(reason: string): void {
    this.generation++;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    try {
      ws.close(CLOSE.normal, reason.slice(0, 100));
    } catch {
      // Closing a socket that is already closing can throw in some engines; it is gone either way.
    }
  }

  private clearFallbackTimer(): void {
    if (this.fallbackTimer !== null) this.options.clock.clearTimeout(this.fallbackTimer);
    this.fallbackTimer = null;
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) this.options.clock.clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private clearTimers(): void {
    this.clearConnectTimer();
    this.clearFallbackTimer();
    this.probe.cancel();
    this.refresher?.stop();
    this.heartbeat.stop();
  }

  private watchEnvironment(): void {
    const env = this.options.environment;
    this.environmentSubscriptions = [
      env.on('online', () => {
        if (this.current === 'offline' || this.current === 'reconnecting') this.openTransport('network online');
      }),
      env.on('offline', () => {
        if (this.current === 'closed' || this.current === 'offline') return;
        // The open socket is likely dead or about to be; queue instead of writing into it.
        this.abandonTransport('network offline');
        this.waitFor('offline', 'network offline');
      }),
      env.on('visible', () => {
        if (this.current === 'reconnecting' || this.current === 'offline') this.openTransport('page visible');
        else if (this.current === 'open') this.heartbeat.beat(Math.min(VISIBLE_PROBE_MS, this.options.heartbeatIntervalMs));
      }),
    ];
  }
}

/** The WebSocket subprotocols that carry a token (PROTOCOL.md §1), or none without one. */
function subprotocols(token: string | undefined): string[] | undefined {
  return token ? ['phoenix', TOKEN_PROTOCOL_PREFIX + base64url(token)] : undefined;
}
