/**
 * The upgrade's Origin check (PROTOCOL.md §1): an Origin must be one of the
 * configured origins, scheme included. The request's own Host header is
 * never trusted on its own: a page whose name an attacker re-points at the
 * server (DNS rebinding) sends a Host that matches its Origin. In dev mode
 * only, a page on the same *loopback* origin is allowed too, which a
 * rebinding page cannot claim (its Origin names the attacker's host).
 *
 * Browsers always send Origin on WebSocket upgrades, so a request without
 * one comes from a non-browser client and is allowed, as in Phoenix.
 */
import { isLoopbackHost } from './dev-mode';

/** `scheme://host[:port]`, lowercased, default port dropped; undefined when `text` is not an origin. */
function canonical(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not a URL, so not an origin: the caller refuses or reports it.
    return undefined;
  }
  if (!url.host || url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) return undefined;
  return `${url.protocol}//${url.host}`;
}

/**
 * Validates and normalizes `allowedOrigins`; throws at once with the fix.
 * @example normalizeOrigins(['https://App.Example:443/']) // ['https://app.example']
 */
export function normalizeOrigins(origins: readonly string[]): string[] {
  return origins.map((entry) => {
    if (entry === '*') return entry;
    const origin = canonical(entry);
    if (!origin) throw new Error(`allowedOrigins: "${entry}" is not an origin; write the scheme and host, like "https://app.example" (or "http://localhost:5173")`);
    return origin;
  });
}

/** What the check allows: the configured origins, and in dev mode the same loopback origin. */
export interface OriginPolicy {
  /** Normalized origins (`normalizeOrigins`), or `"*"`. */
  allowed: readonly string[];
  /** Allow an Origin equal to the request's Host when both name a loopback host (dev mode only). */
  loopbackSameOrigin: boolean;
}

/**
 * True when a request with these headers may open a socket.
 * @example originAllowed('https://app.example', 'api.example', { allowed: ['https://app.example'], loopbackSameOrigin: false }) // true
 */
export function originAllowed(origin: string | undefined, host: string | undefined, policy: OriginPolicy): boolean {
  if (origin === undefined) return true;
  if (policy.allowed.includes('*')) return true;
  const given = canonical(origin);
  // An opaque ("null") or unparseable Origin is refused, not guessed at.
  if (!given) return false;
  if (policy.allowed.includes(given)) return true;
  if (!policy.loopbackSameOrigin || !host) return false;
  const url = new URL(given);
  if (!isLoopbackHost(url.hostname)) return false;
  try {
    // Parsed under the Origin's scheme, the Host is lowercased and loses a default port, as the Origin did.
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    // A Host header that is not a host is refused.
    return false;
  }
}
