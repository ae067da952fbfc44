/**
 * The HTTP API's and `/metrics`' settings, resolved from `ServerOptions`
 * (defaults in one place, like `options.ts`).
 */
import type { RateLimit } from './rate-limit';

/** Options of the HTTP API and metrics, part of `ServerOptions`. */
export interface OpsOptions {
  /**
   * Turns the HTTP API on (`/api/*`): requests must carry `Authorization: Bearer <apiKey>`.
   * Separate from user tokens; give it only to your backends. Default: unset (no API).
   */
  apiKey?: string;
  /** Largest request body the API reads, in bytes; larger ones get 413. Default 1048576 (1 MiB). */
  apiMaxBodyBytes?: number;
  /** Requests per second per client address, with a burst; `false` turns the limit off. Default `{ perSecond: 200, burst: 400 }`. */
  apiRateLimit?: RateLimit | false;
  /**
   * `GET /metrics` (Prometheus text) on the server's port: `true` (default) serves it there, behind
   * the API key when one is set; `false` serves it nowhere (unless `metricsPort`).
   */
  metrics?: boolean;
  /**
   * Serve `/metrics` on this port instead (with no key: bind it to a private address with
   * `metricsHost`), and not on the server's port. Default: unset.
   */
  metricsPort?: number;
  /** Address the metrics port binds. Default: the address the server listens on. */
  metricsHost?: string;
}

/** The settings with defaults applied. */
export interface OpsSettings {
  apiKey: string | null;
  apiMaxBodyBytes: number;
  apiRateLimit: RateLimit | null;
  /** Where `/metrics` is served: on the main port, on its own port, or not at all. */
  metrics: { where: 'main' } | { where: 'port'; port: number; host: string | undefined } | { where: 'off' };
}

/** Applies defaults and rejects nonsense with the fix. */
export function resolveOps(options: OpsOptions): OpsSettings {
  const { apiKey, metricsPort } = options;
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey.length < 16)) throw new Error('apiKey must be a string of at least 16 characters (use a long random one: openssl rand -hex 32)');
  const apiMaxBodyBytes = options.apiMaxBodyBytes ?? 1024 * 1024;
  if (!(apiMaxBodyBytes > 0)) throw new Error(`apiMaxBodyBytes must be a positive number, got ${String(options.apiMaxBodyBytes)}`);
  const limit = options.apiRateLimit === undefined ? { perSecond: 200, burst: 400 } : options.apiRateLimit || null;
  if (limit && !(limit.perSecond > 0 && limit.burst >= 1)) throw new Error('apiRateLimit must be { perSecond > 0, burst >= 1 }, or false');
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) throw new Error(`metricsPort must be a port number, got ${String(metricsPort)}`);
  const metrics: OpsSettings['metrics'] = metricsPort !== undefined ? { where: 'port', port: metricsPort, host: options.metricsHost } : options.metrics === false ? { where: 'off' } : { where: 'main' };
  return { apiKey: apiKey ?? null, apiMaxBodyBytes, apiRateLimit: limit, metrics };
}
