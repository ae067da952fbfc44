/**
 * HTTP requests for operators and backends on the server's port: the API
 * under `/api/` (when an API key is configured) and `GET /metrics`.
 *
 * Responsible for the gate every request passes, in this order: the rate
 * limit per client address, the API key (`Authorization: Bearer`), the
 * route and method, a bounded JSON body; then the endpoint (`handlers.ts`),
 * and one log line per request with its id (never the key or a body).
 * Not responsible for what the endpoints mean.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log';
import { readJson } from './body';
import { ApiError, sendJson } from './errors';
import * as endpoints from './handlers';
import { ApiRateLimiter } from './rate-limit';
import type { OpsSettings } from './settings';

/** Renders `/metrics` (Prometheus text format). */
export type MetricsRenderer = () => Promise<{ contentType: string; text: string }>;

/** A matched route: its template (a metric label) and what answers it. */
interface Route {
  name: 'broadcast' | 'topics' | 'presence' | 'history' | 'disconnect';
  method: 'GET' | 'POST';
  run: (req: IncomingMessage, url: URL) => Promise<{ status: number; body: unknown }> | { status: number; body: unknown };
}

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/**
 * @example
 * const api = new HttpApi(host, resolveOps({ apiKey }), log, renderMetrics);
 * http.createServer((req, res) => api.handle(req, res) || notFound(res));
 */
export class HttpApi {
  /** Requests answered, by `"<route> <status>"`. */
  readonly requests = new Map<string, number>();
  private readonly limiter: ApiRateLimiter | null;
  private readonly keyDigest: Buffer | null;
  /** Request ids: this server's random prefix and a count (random bytes per request showed in profiles). */
  private readonly idPrefix = randomBytes(4).toString('hex');
  private requestCount = 0;

  constructor(
    private readonly host: endpoints.ApiHost,
    private readonly settings: OpsSettings,
    private readonly log: Logger,
    private readonly renderMetrics: MetricsRenderer,
  ) {
    this.limiter = settings.apiRateLimit ? new ApiRateLimiter(settings.apiRateLimit) : null;
    this.keyDigest = settings.apiKey === null ? null : digest(settings.apiKey);
  }

  /** Requests refused by the rate limit since start. */
  get rateLimited(): number {
    return this.limiter?.refused ?? 0;
  }

  /** Answers the request if it is the API's or `/metrics`; false leaves it to the next handler. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/metrics' && this.settings.metrics.where === 'main') {
      void this.answer(req, res, 'metrics', () => this.metrics(req, res));
      return true;
    }
    if (this.keyDigest === null || (path !== '/api' && !path.startsWith('/api/'))) return false;
    void this.answer(req, res, 'api', (reached) => this.api(req, res, reached));
    return true;
  }

  /** Serves `/metrics` alone, with no key (its own port). */
  handleMetricsOnly(req: IncomingMessage, res: ServerResponse): void {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') return sendJson(res, 404, new ApiError('not_found', 'this port serves only GET /metrics').toJSON());
    void this.answer(req, res, 'metrics', () => this.metrics(req, res, false));
  }

  /** Runs `run`, answers its error if it throws, counts and logs the request under the route it reached. */
  private async answer(req: IncomingMessage, res: ServerResponse, kind: string, run: (reached: { route: string }) => Promise<void>): Promise<void> {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const reqId = typeof given === 'string' && REQUEST_ID.test(given) ? given : `${this.idPrefix}-${++this.requestCount}`;
    res.setHeader('x-request-id', reqId);
    const reached = { route: kind };
    try {
      await run(reached);
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError('internal', 'internal error (logged)', { cause: err });
      if (error.code === 'internal') this.log.error(`http ${req.method} ${kind}: failed`, { reqId }, error.cause ?? err);
      if (!res.headersSent) sendJson(res, error.status, error.toJSON(), error.code === 'rate_limited' ? { 'retry-after': String(this.limiter?.retryAfterSeconds() ?? 1) } : {});
      else res.destroy();
    }
    const route = reached.route;
    const key = `${route} ${res.statusCode}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const line = { reqId, method: req.method, route, status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10 };
    if (res.statusCode === 401) this.log.warn('http: refused a request without the API key', line);
    else this.log.debug?.('http request', line);
  }

  private async metrics(req: IncomingMessage, res: ServerResponse, keyed = true): Promise<void> {
    this.limit(req);
    if (keyed && this.keyDigest !== null) this.authorize(req);
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError('method_not_allowed', 'use GET /metrics');
    const { contentType, text } = await this.renderMetrics();
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  private async api(req: IncomingMessage, res: ServerResponse, reached: { route: string }): Promise<void> {
    this.limit(req);
    this.authorize(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = this.route(url.pathname);
    if (!route) throw new ApiError('not_found', `no endpoint ${url.pathname}: see docs/openapi.yaml`);
    reached.route = route.name;
    if (req.method !== route.method) {
      res.setHeader('allow', route.method);
      throw new ApiError('method_not_allowed', `use ${route.method} ${url.pathname}`);
    }
    const { status, body } = await route.run(req, url);
    sendJson(res, status, body);
  }

  private route(path: string): Route | null {
    const body = (req: IncomingMessage) => readJson(req, this.settings.apiMaxBodyBytes);
    if (path === '/api/broadcast') return { name: 'broadcast', method: 'POST', run: async (req) => endpoints.broadcast(this.host, await body(req)) };
    if (path === '/api/disconnect') return { name: 'disconnect', method: 'POST', run: async (req) => ({ status: 200, body: endpoints.disconnect(this.host, await body(req)) }) };
    if (path === '/api/topics') return { name: 'topics', method: 'GET', run: (_req, url) => ({ status: 200, body: endpoints.topics(this.host, url.searchParams) }) };
    const match = /^\/api\/topics\/([^/]+)\/(presence|history)$/.exec(path);
    if (!match) return null;
    let topic: string;
    try {
      topic = decodeURIComponent(match[1]!);
    } catch {
      throw new ApiError('invalid_request', 'the topic in the path is not valid percent-encoding');
    }
    if (match[2] === 'presence') return { name: 'presence', method: 'GET', run: () => ({ status: 200, body: endpoints.presence(this.host, topic) }) };
    return { name: 'history', method: 'GET', run: async (_req, url) => ({ status: 200, body: await endpoints.history(this.host, topic, url.searchParams) }) };
  }

  private limit(req: IncomingMessage): void {
    if (this.limiter && !this.limiter.take(req.socket.remoteAddress ?? '', Date.now())) {
      throw new ApiError('rate_limited', 'too many requests from this address: slow down, batch messages ({"messages": [...]}), or raise apiRateLimit');
    }
  }

  private authorize(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    // Compared as digests of equal length, in constant time.
    if (!match || !timingSafeEqual(digest(match[1]!), this.keyDigest!)) {
      throw new ApiError('unauthorized', 'send the API key as "Authorization: Bearer <key>" (the server\'s --api-key / PLUME_API_KEY; not a user token)');
    }
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
