/**
 * The server's socket registry: admits sockets (WebSocket, y-websocket and
 * long-poll), authenticates them, holds every connection of this node by
 * socket id, and closes the ones that went silent or whose token expired.
 *
 * Responsible for admission (the `vsn` check, refusing while the server
 * shuts down, the connect hook and token verification through
 * `auth/connect.ts`), the open WebSockets a shutdown waits for, the
 * per-connection part of the periodic sweep, and `disconnect` / `sockets`.
 * Not responsible for the sweep's timer or the HTTP upgrade
 * (`transport/http.ts`), what a connection does with its frames
 * (`connection.ts`), or routing and fan-out (the host it hands each
 * connection).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { CLOSE, TAB_PARAM, VSN } from '../../src/protocol';
import { authenticate, Refusal, type ConnectHook } from '../auth/connect';
import type { TokenVerifier } from '../auth/verifier';
import type { Assigns } from '../channels/channel';
import type { EphemeralMessage } from '../delivery/fanout';
import { YWebsocketClient } from '../docs/y-websocket';
import type { Logger } from '../log';
import type { ServerCounters } from '../metrics/counters';
import type { ResolvedOptions } from '../options';
import type { PresenceTracker } from '../presence/tracker';
import type { ClientTransport } from '../transport/client';
import type { LongPollClient } from '../transport/longpoll';
import type { SessionRefusal } from '../transport/longpoll-endpoint';
import type { WriteScheduler } from '../transport/outbound';
import { WebSocketClient, closeReason } from '../transport/websocket';
import { Connection } from './connection';
import type { ConnectionHost } from './host';

/**
 * What `disconnect` and `sockets()` describe of a socket.
 * @example
 * server.sockets().filter((s: SocketInfo) => s.assigns.userId === 'user-42').map((s) => s.socketId);
 */
export interface SocketInfo {
  readonly socketId: string;
  readonly assigns: Assigns;
  readonly plume: boolean;
}

/** The settings admission and the sweep read, with their defaults in `options.ts`. */
export type SocketRegistryOptions = Pick<ResolvedOptions, 'heartbeatTimeoutMs' | 'maxBufferedBytes' | 'maxPayloadBytes' | 'allowQueryToken'>;

/** What the registry needs of its server: narrow parts, not the server. */
export interface SocketRegistryDeps {
  readonly options: SocketRegistryOptions;
  /** What each connection gets of the server (`connection.ts`); the registry adds `removed`, its own. */
  readonly host: Omit<ConnectionHost, 'removed'>;
  /** Told of each socket that opens (with its tab) and closes. */
  readonly presence: Pick<PresenceTracker, 'socketOpened' | 'socketClosed'>;
  /** What tokens are verified with, or null in dev mode. */
  readonly verifier: TokenVerifier | null;
  /** The connect hook in force (`onConnect`), read at each admission. */
  connectHook(): ConnectHook | undefined;
  /** True once the server is shutting down: nothing new is admitted. */
  closing(): boolean;
  /** Sends an ephemeral event to a topic's members (a y-websocket client's awareness goodbye). */
  ephemeral(message: EphemeralMessage): void;
  readonly counters: ServerCounters;
  /** Writes a turn's frames at its end; WebSocket clients queue on it. */
  readonly writes: WriteScheduler;
  readonly log: Logger;
  reportError(error: unknown, context: string): void;
}

/**
 * @example
 * const sockets = new SocketRegistry({ options, host, presence, verifier, connectHook: () => hook, closing: () => false, ephemeral, counters, writes, log, reportError });
 * transportHost.accept = (ws, request, params) => sockets.accept(ws, request, params);
 * sockets.disconnect((s) => s.assigns.userId === 'user-42', CLOSE.normal, 'logged out');
 */
export class SocketRegistry {
  private readonly connections = new Map<string, Connection>();
  /** Open WebSockets, until their close handshake ends: a shutdown waits for them (`drained`). */
  private readonly open = new Set<WebSocket>();
  private readonly host: ConnectionHost;

  constructor(private readonly deps: SocketRegistryDeps) {
    this.host = { ...deps.host, removed: (connection) => this.removed(connection) };
  }

  /** Sockets this node holds now, open or still authenticating (counted against `maxConnections`). */
  get size(): number {
    return this.connections.size;
  }

  /** Channels joined over every socket of this node. */
  channelCount(): number {
    let channels = 0;
    for (const c of this.connections.values()) channels += c.channelCount;
    return channels;
  }

  /** Closes matching sockets (by socket id or predicate) with `code` and returns how many. */
  disconnect(target: string | ((socket: SocketInfo) => boolean), code: number, reason: string): number {
    let count = 0;
    for (const connection of [...this.connections.values()]) {
      if (typeof target === 'string' ? connection.socketId === target : target(connection)) {
        connection.close(code, reason);
        count++;
      }
    }
    return count;
  }

  /** Sockets connected to this node. */
  sockets(): SocketInfo[] {
    return [...this.connections.values()].filter((c) => c.isOpen);
  }

  /** Closes sockets silent for longer than `heartbeatTimeoutMs`, and those whose token expired by `now`. */
  sweep(now: number): void {
    for (const connection of [...this.connections.values()]) {
      if (now - connection.lastSeen > this.deps.options.heartbeatTimeoutMs) connection.close(CLOSE.heartbeatTimeout, 'heartbeat timeout');
      else if (connection.expiresAt !== null && now >= connection.expiresAt) connection.close(CLOSE.unauthorized, 'token expired');
    }
  }

  /** Resolves once every WebSocket finished closing, or after `ms`. */
  async drained(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** A WebSocket: its connection exists at once (frames wait while it authenticates); a refusal is a close code. */
  accept(ws: WebSocket, request: IncomingMessage, params: Record<string, string>): void {
    const unsupported = unsupportedVsn(params);
    if (unsupported) return ws.close(CLOSE.badFrame, closeReason(unsupported));
    this.opened(ws, request, params, () => new WebSocketClient(ws, request.socket, this.deps.options.maxBufferedBytes, this.deps.writes));
  }

  /**
   * A y-websocket client of `topic`'s document (PROTOCOL.md §11): a Plume socket whose transport
   * speaks y-websocket's messages (`docs/y-websocket.ts`), authenticated like any other.
   */
  acceptYjs(ws: WebSocket, request: IncomingMessage, topic: string, params: Record<string, string>): void {
    const { options, counters } = this.deps;
    counters.yWebsocketConnections++;
    this.opened(ws, request, { ...params, plume: '1' }, (socketId) => new YWebsocketClient(ws, topic, socketId, {
      maxBufferedBytes: options.maxBufferedBytes,
      maxPayloadBytes: options.maxPayloadBytes,
      pingMs: Math.max(100, Math.floor(options.heartbeatTimeoutMs / 3)),
      ephemeral: (message) => {
        if (!this.deps.closing()) this.deps.ephemeral(message);
      },
    }));
  }

  /**
   * A long-poll session (PROTOCOL.md §1, Long-poll): authenticated before it
   * exists, so a refusal is the answer to its first request.
   */
  async openSession(request: IncomingMessage, params: Record<string, string>, create: (plume: boolean) => LongPollClient): Promise<SessionRefusal | null> {
    const unsupported = unsupportedVsn(params);
    if (unsupported) return { code: CLOSE.badFrame, reason: unsupported };
    const socketId = randomBytes(9).toString('base64url');
    let result: Awaited<ReturnType<typeof authenticate>>;
    try {
      result = await this.identify(request, params, socketId);
    } catch (refusal) {
      return { code: (refusal as Refusal).code, reason: (refusal as Refusal).message };
    }
    if (this.deps.closing()) return { code: CLOSE.goingAway, reason: 'server shutting down' };
    this.deps.log.debug?.('long-poll session opened', { socketId, remote: request.socket.remoteAddress, plume: params.plume === '1' });
    const connection = this.connect(create(params.plume === '1'), socketId, params);
    connection.start(result.assigns, result.expiresAt, result.claims);
    return null;
  }

  /** An upgraded socket: its connection exists at once, and is started once authenticated. */
  private opened(ws: WebSocket, request: IncomingMessage, params: Record<string, string>, transport: (socketId: string) => ClientTransport): void {
    if (this.deps.closing()) return ws.close(CLOSE.goingAway, closeReason('server shutting down'));
    const socketId = randomBytes(9).toString('base64url');
    this.open.add(ws);
    ws.once('close', () => this.open.delete(ws));
    this.deps.log.debug?.('socket opened', { socketId, remote: request.socket.remoteAddress, plume: params.plume === '1' });
    const connection = this.connect(transport(socketId), socketId, params);
    this.identify(request, params, socketId).then(
      (result) => connection.start(result.assigns, result.expiresAt, result.claims),
      (refusal: Refusal) => connection.close(refusal.code, refusal.message),
    ).catch((err: unknown) => {
      // Starting or refusing the socket failed: it alone is closed, and the failure logged.
      this.deps.reportError(err, 'accepting a socket');
      connection.close(CLOSE.internalError, 'internal error');
    });
  }

  private connect(transport: ClientTransport, socketId: string, params: Record<string, string>): Connection {
    this.deps.counters.connections++;
    const connection = new Connection(transport, this.host, socketId, params.plume === '1', Date.now());
    this.connections.set(socketId, connection);
    this.deps.presence.socketOpened(socketId, params[TAB_PARAM]);
    return connection;
  }

  /** A connection is gone: it leaves the registry, and presence starts its grace. */
  private removed(connection: Connection): void {
    this.deps.log.debug?.('socket closed', { socketId: connection.socketId });
    this.connections.delete(connection.socketId);
    this.deps.presence.socketClosed(connection.socketId);
  }

  /** The socket's assigns, or a {@link Refusal} (an unexpected failure becomes 1011, logged). */
  private identify(request: IncomingMessage, params: Record<string, string>, socketId: string): ReturnType<typeof authenticate> {
    const { verifier, options } = this.deps;
    return authenticate({ verifier, allowQueryToken: options.allowQueryToken, hook: this.deps.connectHook(), request, params, socketId }).catch((refusal: unknown) => {
      const { code, message, cause } = refusal instanceof Refusal ? refusal : new Refusal(CLOSE.internalError, 'connect failed', refusal);
      if (code === CLOSE.internalError) this.deps.reportError(cause, message === 'connect hook failed' ? 'connect hook' : `connect (${message})`);
      throw refusal instanceof Refusal ? refusal : new Refusal(code, message, cause);
    });
  }
}

/** Why a connection's `vsn` cannot be served, or null (PROTOCOL.md §1). */
function unsupportedVsn(params: Record<string, string>): string | null {
  const vsn = params.vsn ?? VSN;
  return /^2\.\d+\.\d+$/.test(vsn) ? null : `unsupported vsn ${vsn.slice(0, 20)}: use 2.0.0`;
}
