/**
 * The Plume server: the public `PlumeServer` API, routing channels and
 * broadcasting through the history (which orders them) and PubSub.
 *
 * Responsible for wiring the pieces together, the server's lifecycle
 * (`listen`/`attach`/`close`, the periodic sweep's timer and its history
 * part) and `stats`. Not responsible for the sockets themselves: admitting,
 * authenticating, holding and sweeping them is `socket/registry.ts`'s (which
 * `disconnect` and `sockets` delegate to); HTTP and the upgrade live in
 * `transport/http.ts`; protocol handling per socket in `socket/connection.ts`.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { CLOSE, EXTENSION_EVENTS, isPayload, isReservedEvent, type Payload } from '../src/protocol';
import type { ConnectHook } from './auth/connect';
import type { Assigns, ChannelHandler } from './channels/channel';
import type { ChannelInstance } from './channels/instance';
import type { ConnectionHost } from './socket/host';
import { SocketRegistry, type SocketInfo } from './socket/registry';
import { Extensions } from './socket/extensions';
import { historyExtension } from './delivery/history-extension';
import { ephemeralExtension } from './delivery/ephemeral';
import { presenceExtension } from './presence/extension';
import { meshExtensions } from './mesh/extensions';
import { tokenExtension } from './auth/refresh-extension';
import { Documents } from './docs/documents';
import { docExtension } from './docs/extension';
import { Fanout } from './delivery/fanout';
import { MeshRegistry } from './mesh/registry';
import { consoleLogger, silentLogger, type Logger } from './log';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options';
import { PubSub } from './pubsub/pubsub';
import { trackOnJoin } from './presence/track-on-join';
import { PresenceTracker } from './presence/tracker';
import { relayChannelFor, RELAY_PATTERN } from './channels/relay';
import { TokenVerifier } from './auth/verifier';
import { checkDevMode, isLoopbackHost } from './auth/dev-mode';
import { Router } from './channels/router';
import { CoalescedLog } from './engine/coalesce';
import type { BroadcastLog, Engine, EngineHealth, NewBroadcast, Position } from './engine/engine';
import { MemoryEngine, memoryEngine } from './engine/memory/engine';
import type { HistoryMemory } from './engine/memory/history';
import { AtMostOnce } from './socket/at-most-once';
import { FrameJson } from './wire/frame-json';
import { toJson } from './wire/json';
import { textBytes } from './wire/frame';
import { WriteScheduler } from './transport/outbound';
import { Transport, type Address } from './transport/http';
import { newCounters } from './metrics/counters';
import { newEngineTimings, timedLog, type EngineTimings } from './metrics/engine-timing';
import { listenMetrics, type MetricsPort } from './metrics/port';
import { metricsSource } from './metrics/source';
import { HttpApi } from './http/api';

/** Defined with the registry; exported here too, where `index.ts` and callers have always imported it. */
export type { SocketInfo } from './socket/registry';

/**
 * @example
 * const server = new PlumeServer({ secret: process.env.PLUME_SECRET });
 * server.channel('room:*', { handleIn: (event, payload, socket) => { socket.broadcast(event, payload); return ok(); } });
 * const { url } = await server.listen(4000, '127.0.0.1');
 */
export class PlumeServer {
  readonly options: ResolvedOptions;
  /** Where order, history, dedupe and the bus between nodes live (`engine/`): memory by default, or Redis. */
  readonly engine: Engine;
  readonly pubsub: PubSub;
  /** @internal The engine's broadcast log, with identical history reads in flight merged. */
  readonly history: BroadcastLog;
  /** @internal Applies client message ids at most once, through the engine's dedupe store. */
  readonly once: AtMostOnce;
  /** Who is in each topic (Phoenix.Presence); see `presence/tracker.ts`. */
  readonly presence: PresenceTracker;
  /** Peer-assisted fan-out on this node (PROTOCOL.md §10), or null when `mesh: false`. */
  readonly mesh: MeshRegistry | null;
  /** What tokens are verified with (it caches a JWK Set), or null in dev mode. */
  readonly verifier: TokenVerifier | null;
  /** What this server counted since start (frames and bytes both ways, joins, broadcasts, ...): `/metrics` reads them. */
  readonly counters = newCounters();
  /** Where `/metrics` is served on a port of its own (`metricsPort`), once listening; else null. */
  metricsUrl: string | null = null;
  /** @internal Writes every socket's frames of a turn at its end, or `writeDelayMs` later (and signs the batch first). */
  readonly writes: WriteScheduler;
  /** @internal The frame whose push is being handled: a broadcast of what the client sent reuses its text. */
  readonly frameJson = new FrameJson();
  readonly log: Logger;
  /** The handlers of `plume:*` events, one registered by each concern (`socket/extensions.ts`). */
  readonly extensions = new Extensions();
  private readonly router = new Router<ChannelHandler>();
  /** This node's sockets: admission, authentication, the liveness sweep, `disconnect` (`socket/registry.ts`). */
  private readonly socketRegistry: SocketRegistry;
  private readonly fanout: Fanout;
  private readonly transport: Transport;
  /** The HTTP API (`/api/*`, with an API key) and `/metrics`. */
  private readonly api: HttpApi;
  /** Latency of the engine's publishes and reads, when the engine is outside this process. */
  private readonly engineTimings: EngineTimings | null;
  private metricsRegistry: Promise<{ contentType: string; metrics(): Promise<string> }> | undefined;
  private metricsPort: MetricsPort | null = null;
  /** True from `close()` on: `/ready` answers 503 and nothing new is accepted. */
  private closing = false;
  private connectHook: ConnectHook | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private started = false;
  /** Set by `close()`: the WebSocket server is closed for good, so the instance cannot serve again. */
  private closed = false;
  private readonly bornAt = performance.now();
  private lastHistorySweep = Date.now();

  constructor(options: ServerOptions = {}) {
    this.options = resolveOptions(options);
    this.writes = new WriteScheduler(this.options.writeDelayMs);
    this.verifier = this.options.auth ? new TokenVerifier(this.options.auth) : null;
    this.log = options.logger === false ? silentLogger : options.logger ?? consoleLogger;
    this.engine = (options.engine ?? memoryEngine())({ node: this.options.nodeId, limits: this.options, log: this.log });
    this.pubsub = new PubSub(this.engine.pubsub, (err, topic) => this.reportError(err, `pubsub ${topic}`));
    // Timed only when the engine is outside this process: the memory engine's publish is the fan-out benchmark's path.
    this.engineTimings = this.engine.name === 'memory' ? null : newEngineTimings();
    // Reads are kept a moment only where the store is a round trip away (engine/coalesce.ts); a kept
    // window's oldest entry may be that much past historyMaxAgeMs, so at most a hundredth of it.
    const coalesced = new CoalescedLog(this.engine.log, { cacheMs: this.engine.name === 'memory' ? 0 : Math.min(1000, Math.floor(this.options.historyMaxAgeMs / 100)) });
    this.history = this.engineTimings ? timedLog(coalesced, this.engineTimings, this.counters) : coalesced;
    this.once = new AtMostOnce(this.engine.dedupe, { onError: (err) => this.reportError(err, 'dedupe store') });
    this.mesh = this.options.mesh ? new MeshRegistry(this.options.mesh, this.log) : null;
    this.fanout = new Fanout(this.pubsub, this.history, this.mesh, this.writes, (err, context) => this.reportError(err, context));
    this.presence = new PresenceTracker(this.pubsub, {
      graceMs: this.options.presenceGraceMs, coalesceMs: this.options.presenceCoalesceMs, nodes: this.engine.nodes, limits: this.options.presenceLimits,
      onError: (err) => this.engine.health().ready && this.reportError(err, 'presence node registry'),
    });
    this.api = new HttpApi({
      nodeId: this.options.nodeId, maxPayloadBytes: this.options.maxPayloadBytes, historyPageSize: this.options.historyPageSize, history: this.history,
      broadcast: (topic, event, payload, options) => this.broadcast(topic, event, payload, options),
      topics: () => this.fanout.topicSizes(),
      presence: (topic) => this.presence.list(topic),
      disconnectUser: (user, reason) => this.disconnect((s) => s.assigns.userId === user, CLOSE.normal, reason),
    }, this.options.ops, this.log, () => this.renderMetrics());
    this.transport = new Transport(this.options, this.log, {
      accept: (ws, request, params) => this.socketRegistry.accept(ws, request, params),
      acceptYjs: (ws, request, topic, params) => this.socketRegistry.acceptYjs(ws, request, topic, params),
      openSession: (request, params, create) => this.socketRegistry.openSession(request, params, create),
      health: () => ({ status: 'ok', node: this.pubsub.nodeName, uptimeMs: Math.round(performance.now() - this.bornAt), ...this.stats() }),
      ready: () => (this.closing ? { ...this.engine.health(), ready: false, reason: 'shutting down' } : this.engine.health()),
      http: (req, res) => this.api.handle(req, res),
      socketCount: () => this.socketRegistry.size,
    });
    this.registerExtensions();
    this.socketRegistry = new SocketRegistry({
      options: this.options, host: this.hostForConnections(), presence: this.presence, verifier: this.verifier,
      connectHook: () => this.connectHook,
      closing: () => this.closing,
      ephemeral: (message) => this.pubsub.broadcast(message.topic, message),
      counters: this.counters, writes: this.writes, log: this.log,
      reportError: (err, context) => this.reportError(err, context),
    });
    const relay = relayChannelFor({ authenticated: this.verifier !== null, join: this.options.relayJoin });
    if (this.options.relay) this.router.add(RELAY_PATTERN, trackOnJoin(relay, this.presence), true);
  }

  /**
   * Sets the connect hook: turn params and token claims into assigns, or refuse.
   * @example
   * server.onConnect(({ params, assigns }) => (params.room_key === 'secret' ? { ...assigns, vip: true } : false));
   */
  onConnect(hook: ConnectHook): this {
    this.connectHook = hook;
    return this;
  }

  /** Registers a channel handler for a topic pattern (`"room:*"` or an exact topic). */
  channel<A extends Assigns = Assigns>(pattern: string, handler: ChannelHandler<A>): this {
    this.router.add(pattern, handler as unknown as ChannelHandler);
    return this;
  }

  /**
   * Broadcasts to every member of `topic` on every node, from anywhere in server code. Resolves with
   * the position it got in the topic's order once the engine applied it; rejects with
   * `EngineUnavailable` when the engine cannot be reached (nothing was applied), or `QuotaExceeded`
   * when `options.user` holds more history than its share. Invalid arguments throw at once.
   * @example await server.broadcast('room:lobby', 'announcement', { body: 'Maintenance at 10:00' });
   */
  broadcast(topic: string, event: string, payload: Payload | Uint8Array | ArrayBuffer, options: { exclude?: string; id?: string; user?: string } = {}): Promise<Position> {
    if (isReservedEvent(event)) throw new Error(`"${event}" is a reserved event name (phx_*, presence_*, plume:*); pick another`);
    if (payload instanceof Uint8Array || payload instanceof ArrayBuffer) return this.broadcastBytes(topic, event, payload, options);
    if (!isPayload(payload)) throw new TypeError(`broadcast payload must be a plain object or bytes, got ${JSON.stringify(payload)}`);
    // Serialized before sequencing: a payload that cannot be (a BigInt, a cycle, nesting deeper than
    // the stack) must fail here, not during fan-out after it took a seq that no member will ever see.
    // What a client sent and a handler passes on as it came is not serialized again (frame-json.ts).
    const source = this.frameJson.sourceOf(payload);
    let payloadJson: string;
    try {
      payloadJson = source ? source.json : toJson(payload);
    } catch (err) {
      throw new TypeError(`broadcast payload on ${topic} cannot be serialized to JSON: ${(err as Error).message}`, { cause: err });
    }
    // Encoded once: history keeps these bytes and every frame of the broadcast is built around them.
    const payloadBytes = source ? source.bytes : textBytes(payloadJson);
    const broadcast: NewBroadcast = { event, payloadJson, payloadBytes, payload, exclude: options.exclude ?? null, user: options.user ?? '' };
    this.counters.broadcasts++;
    if (options.id !== undefined) broadcast.id = options.id;
    return this.history.publish(topic, broadcast);
  }

  /** A broadcast of bytes: a binary frame to every member (PROTOCOL.md §2), kept as bytes in history. */
  private broadcastBytes(topic: string, event: string, payload: Uint8Array | ArrayBuffer, options: { exclude?: string; id?: string; user?: string }): Promise<Position> {
    // What a client sent arrives as a view into its frame, which nobody writes again; anything else is
    // copied, so that the caller may reuse its buffer once this returns.
    const source = payload instanceof ArrayBuffer ? new Uint8Array(payload) : payload;
    const payloadBytes = this.frameJson.binarySourceOf(source) ?? Buffer.from(source);
    const broadcast: NewBroadcast = { event, payloadJson: '', payloadBytes, binary: true, exclude: options.exclude ?? null, user: options.user ?? '' };
    if (options.id !== undefined) broadcast.id = options.id;
    return this.history.publish(topic, broadcast);
  }

  /** Rotates the mesh signing key; members are sent the new key set first. */
  rotateKeys(): void {
    this.mesh?.rotate();
  }

  /**
   * Closes matching sockets (by socket id or predicate) with `code` and returns how many.
   * @example server.disconnect((s) => s.assigns.userId === 'user-42'); // log a user out everywhere on this node
   */
  disconnect(target: string | ((socket: SocketInfo) => boolean), code: number = CLOSE.normal, reason = 'disconnected by server'): number {
    return this.socketRegistry.disconnect(target, code, reason);
  }

  /** Sockets connected to this node. */
  sockets(): SocketInfo[] {
    return this.socketRegistry.sockets();
  }

  /**
   * Counts for `/health` and monitoring. `history` is what the memory engine's history holds (null
   * with another engine); `engine` says which engine serves and whether it can be reached.
   */
  stats(): { sockets: number; channels: number; topics: number; framesSent: number; bytesSent: number; mesh: { rooms: number; signatures: number; reports: number } | null; history: HistoryMemory | null; engine: EngineHealth } {
    const channels = this.socketRegistry.channelCount();
    const mesh = this.mesh && { rooms: this.mesh.roomCount, signatures: this.mesh.signer.signatures, reports: this.mesh.reports };
    const history = this.engine instanceof MemoryEngine ? this.engine.history.memory() : null;
    return { sockets: this.socketRegistry.size, channels, topics: this.fanout.topicCount, framesSent: this.counters.frames, bytesSent: this.counters.bytes, mesh, history, engine: this.engine.health() };
  }

  /** Starts an HTTP server and listens (and on `metricsPort`, when set). Port 0 picks a free port. */
  async listen(port = 4000, host = '127.0.0.1'): Promise<Address> {
    if (!this.verifier) this.checkDevMode(host);
    await this.start();
    const address = await this.transport.listen(port, host);
    const metrics = this.options.ops.metrics;
    if (metrics.where === 'port') {
      this.metricsPort = await listenMetrics(metrics.port, metrics.host ?? host, (req, res) => this.api.handleMetricsOnly(req, res));
      this.metricsUrl = this.metricsPort.url;
    }
    return address;
  }

  /**
   * Answers a request that is Plume's (the HTTP API `/api/*`, `GET /metrics`, `/health`, `/ready`,
   * long-poll at `${path}/longpoll`); false when it is none of them. For a server that `attach()`ed to
   * your HTTP server, whose requests are yours: call it from your handler.
   * @example http.createServer((req, res) => { if (!server.handleHttp(req, res)) app(req, res); });
   */
  handleHttp(req: IncomingMessage, res: ServerResponse): boolean {
    return this.transport.handle(req, res);
  }

  /** Serves sockets on an existing HTTP server (for example your Express app's). */
  async attach(httpServer: HttpServer): Promise<void> {
    if (!this.verifier) {
      const address = httpServer.address();
      // A pipe (a string) is local; an unbound server could still listen anywhere.
      this.checkDevMode(typeof address === 'string' ? 'localhost' : address?.address);
    }
    await this.start();
    this.transport.attach(httpServer);
  }

  /**
   * Graceful shutdown: stops accepting (new connections and upgrades are refused, `/ready` answers 503),
   * closes every socket with 1001 and waits up to `drainMs` for their close handshakes, then closes the
   * HTTP server and the engine.
   */
  async close(drainMs = 3000): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    this.transport.stopAccepting();
    this.disconnect(() => true, CLOSE.goingAway, 'server shutting down');
    this.presence.close();
    await this.socketRegistry.drained(drainMs);
    this.fanout.close();
    await this.transport.close();
    await this.metricsPort?.close();
    await this.pubsub.close();
    await this.engine.close();
    this.closed = true;
  }

  /** Registers the `plume:*` events of recovery, presence, ephemeral events, the mesh and token refresh. */
  private registerExtensions(): void {
    const reportError = (err: unknown, context: string) => this.reportError(err, context);
    const mesh = this.mesh;
    this.extensions
      .register(historyExtension({
        history: this.history, pageSize: this.options.historyPageSize, reportError,
        repairing: mesh ? (topic, socketId, epoch, from, to) => mesh.repairing(topic, socketId, epoch, from, to) : undefined,
      }))
      .register(presenceExtension(this.presence))
      .register(ephemeralExtension(this.pubsub))
      .register(tokenExtension(this.verifier, reportError));
    for (const extension of meshExtensions(mesh)) this.extensions.register(extension);
    const documents = this.options.documents;
    if (documents) {
      this.extensions.register(docExtension({
        documents: new Documents(this.engine.documents, documents, reportError), options: documents, reportError,
        // A document's update is a broadcast of the topic under Plume's own event (never an app's), kept
        // in history folded: the document holds its content (PROTOCOL.md §7, §11).
        publish: (topic, payload, user) => this.history.publish(topic, { event: EXTENSION_EVENTS.doc, payloadJson: '', payloadBytes: Buffer.from(payload), binary: true, folded: true, exclude: null, user }),
      }));
    }
  }

  /** What each connection gets of this server: narrow parts, not the server (`socket/connection.ts`); the registry adds `removed`. */
  private hostForConnections(): Omit<ConnectionHost, 'removed'> {
    return {
      limits: this.options,
      channels: {
        route: (topic) => this.router.match(topic),
        subscribe: (instance) => this.fanout.add(instance),
        unsubscribe: (instance) => this.unsubscribe(instance),
        replay: (instance, epoch, entries) => this.fanout.replay(instance, epoch, entries),
        release: (instance, epoch, seq) => this.release(instance, epoch, seq),
        broadcast: (topic, event, payload, options) => this.broadcast(topic, event, payload, options),
      },
      history: this.history,
      once: this.once,
      extensions: this.extensions,
      meshKeys: () => this.mesh?.keys() ?? null,
      frameJson: this.frameJson,
      counters: this.counters,
      reportError: (err, context) => this.reportError(err, context),
    };
  }

  /** A joined channel goes live: what was held for it, then presence and (if it asked) the mesh. */
  private release(instance: ChannelInstance, epoch: string | null, seq: number): void {
    this.fanout.release(instance, epoch, seq);
    // After the join reply: presence_state and mesh plans are frames of a joined channel.
    this.presence.joined(instance);
    // Only members that asked to mesh have a place in it; the others get every broadcast directly.
    if (instance.meshCapable) this.mesh?.join(instance.topic, instance);
  }

  private unsubscribe(instance: ChannelInstance): void {
    this.fanout.remove(instance);
    if (instance.meshCapable) this.mesh?.leave(instance.topic, instance.socketId);
    this.presence.ended(instance, instance.endReason);
  }

  reportError(error: unknown, context: string): void {
    this.log.error(`error in ${context}:`, error);
  }

  /** `/metrics`: the registry is built on the first scrape (prom-client loads then). */
  private async renderMetrics(): Promise<{ contentType: string; text: string }> {
    this.metricsRegistry ??= import('./metrics/registry').then(({ createRegistry }) => createRegistry(metricsSource({
      counters: this.counters, engine: this.engine, engineTimings: this.engineTimings, fanout: this.fanout, presence: this.presence, mesh: this.mesh, api: this.api,
      sockets: () => {
        const { sockets, channels } = this.stats();
        return { sockets, channels };
      },
    })));
    const registry = await this.metricsRegistry;
    return { contentType: registry.contentType, text: await registry.metrics() };
  }

  /** Dev mode serves on loopback only, unless `dev: true` (PROTOCOL.md §8, dev mode). */
  private checkDevMode(host: string | undefined): void {
    checkDevMode(host, this.options.dev);
    if (host === undefined || !isLoopbackHost(host)) this.log.warn(`DEV MODE on ${host || 'every address'} (dev: true): anyone who reaches this server may connect under any name`);
  }

  private async start(): Promise<void> {
    // Listening again after close() used to succeed and then answer every upgrade with HTTP 503.
    if (this.closed) throw new Error('this PlumeServer was closed and cannot serve again: create a new PlumeServer');
    if (this.started) return;
    this.started = true;
    await this.engine.start();
    await this.pubsub.start();
    this.presence.start();
    this.warnAboutAuth();
    if (!this.verifier) this.log.warn('DEV MODE: no secret, publicKey or jwksUrl configured, so there are no tokens and the "name" connect param is the identity. Configure authentication before exposing this server (SECURITY.md).');
    const every = Math.max(50, Math.min(1000, this.options.heartbeatTimeoutMs / 4));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  /** Says what a configuration with authentication leaves open or shut (SECURITY.md, running in production). */
  private warnAboutAuth(): void {
    const { secret, auth, allowedOrigins } = this.options;
    if (secret && Buffer.byteLength(secret) < 32) this.log.warn('the token secret is shorter than 32 bytes: anyone who guesses it can mint tokens; use a long random one');
    if (auth && allowedOrigins.length === 0) this.log.warn('no allowedOrigins: browser pages cannot open sockets (only clients without an Origin can); set allowedOrigins / --origin to your app\'s origins');
  }

  private budgetEvictionsSeen = 0;

  /** Says, once a minute at most, that the memory history dropped broadcasts early to stay within a byte budget. */
  private warnBudgetEvictions(): void {
    if (!(this.engine instanceof MemoryEngine)) return;
    const evicted = this.engine.history.memory().evictedForBudget;
    if (evicted <= this.budgetEvictionsSeen) return;
    const mib = (bytes: number) => (bytes >= 2 ** 20 ? `${Math.round(bytes / 2 ** 20)} MiB` : `${bytes} bytes`);
    const dropped = evicted - this.budgetEvictionsSeen;
    this.log.warn(`history: dropped ${dropped} broadcast${dropped === 1 ? '' : 's'} in the last minute, before their count or age limit, to keep within historyMaxBytes (${mib(this.options.historyMaxBytes)}) or historyMaxBytesPerTopic (${mib(this.options.historyMaxBytesPerTopic)}): clients recover less far back; raise the budget or lower the count limit`);
    this.budgetEvictionsSeen = evicted;
  }

  /** Trims history now and then; closes sockets that went silent or whose token expired (`socket/registry.ts`). */
  private sweep(): void {
    const now = Date.now();
    if (now - this.lastHistorySweep > 60_000) {
      this.lastHistorySweep = now;
      this.history.sweep?.();
      this.warnBudgetEvictions();
    }
    this.socketRegistry.sweep(now);
  }
}
