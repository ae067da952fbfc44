/**
 * The upgrade's Origin check: same origin by default, plus an allowlist.
 * Browsers always send Origin on WebSocket upgrades, so a request without
 * one comes from a non-browser client and is allowed, as in Phoenix.
 */
import type { IncomingMessage } from 'node:http';

/** True when the request's Origin may open a socket. */
export function originAllowed(request: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    // An unparseable Origin is refused, not guessed at.
    return false;
  }
  // Same origin: the Origin's host:port is the Host the request was sent to. The scheme is not
  // compared: behind a TLS-terminating proxy the server sees http while the page is https.
  const host = request.headers.host;
  if (!host) return false;
  try {
    // Parsing the Host under the Origin's scheme lowercases it and drops a default port, as URL did for the Origin.
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    // A Host header that is not a host is refused.
    return false;
  }
}
