/**
 * HTTP and the WebSocket upgrade: `GET /health` and `/ready`, the long-poll
 * endpoint `${path}/longpoll` (`longpoll-endpoint.ts`), optional static files,
 * and the upgrades on `${path}/websocket` and on the y-websocket endpoint
 * `/yjs/<room>` (`docs/y-websocket.ts`), with their path and Origin checks.
 *
 * Responsible for routing requests, refusing upgrades before a socket exists
 * (404, 403, and 503/429 past the connection limits of
 * `limits/connections.ts`) and handing accepted sockets to the server. Not
 * responsible for anything said over a socket.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type Sirv from 'sirv';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log';
import type { ResolvedOptions } from '../options';
import { originAllowed } from '../auth/origin';
import { LongPollEndpoint, type LongPollHost } from './longpoll-endpoint';
import { ConnectionGate } from '../limits/connections';
import { YJS_PATH, roomTopic } from '../docs/y-websocket';

/** Where a listening server can be reached. */
export interface Address {
  host: string;
  port: number;
  /** `http://host:port`, the base for pages and `/health`. */
  url: string;
  /** `ws://host:port${path}/websocket`, the socket endpoint. */
  socketUrl: string;
}

interface TransportHost extends LongPollHost {
  accept(ws: WebSocket, request: IncomingMessage, params: Record<string, string>): void;
  /** A y-websocket client of the document of `topic` (`/yjs/<room>`, `docs/y-websocket.ts`). */
  acceptYjs(ws: WebSocket, request: IncomingMessage, topic: string, params: Record<string, string>): void;
  /** `GET /health`: the process is alive (always 200), with its counters. */
  health(): Record<string, unknown>;
  /** `GET /ready`: 200 when the server can serve (its engine is reachable), else 503. */
  ready(): { ready: boolean };
  /** Answers requests of its own first (the HTTP API, `/metrics`); false passes them on. */
  http?(req: IncomingMessage, res: ServerResponse): boolean;
  /** Sockets the server holds now (counted against `maxConnections`). */
  socketCount(): number;
}

export class Transport {
  private readonly options: ResolvedOptions;
  private readonly log: Logger;
  private readonly host: TransportHost;
  private readonly wss: WebSocketServer;
  /** Counts sockets against `maxConnections` and `maxConnectionsPerIp`. */
  private readonly gate: ConnectionGate;
  /** The static file handler, loaded only when a directory is configured (loading sirv took 15–20 ms of every start). */
  private readonly statics: Promise<ReturnType<typeof Sirv>> | undefined;
  private httpServer: HttpServer | undefined;
  private ownsHttp = false;
  /** Phoenix's long-poll transport, unless turned off (`longPoll: false`). */
  readonly longPoll: LongPollEndpoint | null;
  /** Set by `stopAccepting()`: upgrades (and new long-poll sessions) are refused (503) while the server drains. */
  private accepting = true;

  constructor(options: ResolvedOptions, log: Logger, host: TransportHost) {
    this.options = options;
    this.log = log;
    this.host = host;
    this.gate = new ConnectionGate(options, () => host.socketCount());
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // Phoenix's authToken offers ["phoenix", "base64url.bearer.phx.<token>"]; we answer "phoenix".
      handleProtocols: (protocols) => (protocols.has('phoenix') ? 'phoenix' : false),
    });
    this.longPoll = options.longPoll ? new LongPollEndpoint(options, log, host, this.gate) : null;
    const dir = options.staticDir;
    this.statics = dir ? import('sirv').then(({ default: sirv }) => sirv(dir, { single: true, dev: false, etag: true })) : undefined;
    // A failure shows on the first request (a 500 and an error logged); this only keeps it from going unhandled.
    this.statics?.catch(() => {});
  }

  /** Creates an HTTP server and listens on it. */
  listen(port: number, host: string): Promise<Address> {
    if (this.httpServer) return Promise.reject(new Error('this PlumeServer is already serving: call close() first, or create another PlumeServer'));
    const server = createServer((req, res) => {
      if (!this.handle(req, res)) this.serveStatic(req, res);
    });
    this.ownsHttp = true;
    this.attach(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        const actual = typeof address === 'object' && address ? address.port : port;
        const shown = host.includes(':') ? `[${host}]` : host;
        resolve({ host, port: actual, url: `http://${shown}:${actual}`, socketUrl: `ws://${shown}:${actual}${this.options.path}/websocket` });
      });
    });
  }

  /** Handles upgrades on an existing HTTP server. */
  attach(server: HttpServer): void {
    if (this.httpServer && this.httpServer !== server) throw new Error('this PlumeServer is already attached to an HTTP server');
    this.httpServer = server;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  /**
   * The first step of a graceful shutdown: no new connections (our HTTP server stops listening; the
   * open ones stay until `close()`), and upgrades on any connection are refused with 503.
   */
  stopAccepting(): void {
    this.accepting = false;
    this.longPoll?.stopAccepting();
    if (this.ownsHttp) this.httpServer?.close();
  }

  /** Stops accepting and closes the HTTP server if it is ours. */
  close(): Promise<void> {
    this.wss.close();
    this.longPoll?.close();
    const server = this.httpServer;
    if (!server || !this.ownsHttp) return Promise.resolve();
    return new Promise((resolve) => {
      if (server.listening) server.close(() => resolve());
      else resolve();
      server.closeAllConnections();
    });
  }

  /**
   * Answers the requests that are Plume's (the HTTP API and `/metrics`,
   * `/health`, `/ready`, long-poll) and returns true; returns false for any
   * other, which the caller answers.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.host.http?.(req, res)) return true;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // Not ours to judge: the caller answers a request line it cannot parse.
      return false;
    }
    const path = url.pathname;
    if ((path === '/health' || path === '/ready') && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = path === '/health' ? this.host.health() : this.host.ready();
      res.writeHead(path === '/ready' && !body.ready ? 503 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
      return true;
    }
    if (this.longPoll && path === `${this.options.path}/longpoll`) {
      this.longPoll.handle(req, res, url);
      return true;
    }
    return false;
  }

  private serveStatic(req: IncomingMessage, res: ServerResponse): void {
    if (this.statics) {
      this.statics.then(
        (serve) => serve(req, res, () => notFound(res)),
        (error: unknown) => {
          this.log.error(`static files from ${this.options.staticDir} cannot be served: ${(error as Error).message}`);
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('Internal Server Error');
        },
      );
      return;
    }
    notFound(res);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // A request line we cannot parse is refused like any unknown path.
      return refuse(socket, 400, 'Bad Request');
    }
    if (!this.accepting) return refuse(socket, 503, 'Service Unavailable');
    // The y-websocket endpoint exists while documents are on (with the same upgrade rules as sockets).
    const yjs = this.options.documents !== null && url.pathname.startsWith(`${YJS_PATH}/`);
    if (!yjs && url.pathname !== `${this.options.path}/websocket`) {
      // Another upgrade handler on a shared HTTP server may own this path.
      if (this.ownsHttp) refuse(socket, 404, 'Not Found');
      return;
    }
    const topic = yjs ? roomTopic(url.pathname.slice(YJS_PATH.length + 1)) : null;
    if (yjs && topic === null) return refuse(socket, 400, 'Bad Request', 'Bad Request: the room name is empty, badly escaped, or longer than 255 characters');
    const policy = { allowed: this.options.allowedOrigins, loopbackSameOrigin: this.options.auth === null };
    if (!originAllowed(req.headers.origin, req.headers.host, policy)) {
      this.log.warn(`refused upgrade from origin ${req.headers.origin}; allow it with allowedOrigins / --origin (scheme included, like https://app.example)`);
      return refuse(socket, 403, 'Forbidden');
    }
    const refusal = this.gate.admit(socket, req.socket.remoteAddress);
    if (refusal) return refuse(socket, refusal.status, refusal.statusText, refusal.body, 'Retry-After: 5\r\n');
    const params = Object.fromEntries(url.searchParams);
    if (topic !== null) return this.wss.handleUpgrade(req, socket, head, (ws) => this.host.acceptYjs(ws, req, topic, params));
    this.wss.handleUpgrade(req, socket, head, (ws) => this.host.accept(ws, req, params));
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('Not Found');
}

function refuse(socket: Duplex, status: number, text: string, body = text, headers = ''): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${headers}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
