/**
 * Socket authentication: token verification (or dev-mode identity), then
 * the application's connect hook.
 *
 * Responsible for turning an upgrade (or a long-poll session's first)
 * request into assigns, or into a refusal carrying close code 4401/4403/1011,
 * and for where a token may travel (the subprotocol header, or long-poll's
 * `X-Phoenix-AuthToken`; the query only with `allowQueryToken`).
 * Not responsible for the Origin check (done before the upgrade) or for
 * verifying a token (`verifier.ts`).
 */
import type { IncomingMessage } from 'node:http';
import { CLOSE, TOKEN_PROTOCOL_PREFIX } from '../../src/protocol';
import { TokenError, type TokenClaims } from './token';
import type { TokenVerifier } from './verifier';
import type { Assigns } from '../channels/channel';

/** What the connect hook receives. */
export interface ConnectInfo {
  /** Connect params from the query string, without `vsn`, `token`, `plume` and `plume_tab`. */
  params: Record<string, string>;
  /** Verified token claims, or undefined in dev mode. */
  claims: TokenClaims | undefined;
  /** The assigns Plume derived (`userId`, `name`); return them extended to keep them. */
  assigns: Assigns;
  /** The upgrade request (headers, remote address). */
  request: IncomingMessage;
}

/**
 * Returns the socket's assigns (merged over the derived ones), `false` to
 * refuse with 4403, or nothing to accept as is. Throw `ConnectRefused` to
 * refuse with a reason of your own.
 */
export type ConnectHook = (info: ConnectInfo) => Partial<Assigns> | false | void | Promise<Partial<Assigns> | false | void>;

/**
 * Thrown from a connect hook to refuse a socket with a reason (close 4403).
 * @example throw new ConnectRefused('account suspended');
 */
export class ConnectRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ConnectRefused';
  }
}

/** A refusal: the close code and reason the socket is closed with. */
export class Refusal extends Error {
  readonly code: number;
  constructor(code: number, reason: string, cause?: unknown) {
    super(reason, { cause });
    this.name = 'Refusal';
    this.code = code;
  }
}

/** The close reason for a token in the URL (PROTOCOL.md §8): it says how to fix it, within 123 bytes. */
export const QUERY_TOKEN_REFUSED = 'token in URL refused: send it in Sec-WebSocket-Protocol (token/authToken option) or set allowQueryToken';

interface AuthInput {
  /** What tokens are verified with, or null in dev mode. */
  verifier: TokenVerifier | null;
  allowQueryToken: boolean;
  hook: ConnectHook | undefined;
  request: IncomingMessage;
  params: Record<string, string>;
  socketId: string;
}

/** Reads a token offered as the subprotocol `base64url.bearer.phx.<base64url(token)>`. */
export function tokenFromProtocols(header: string | string[] | undefined): string | undefined {
  const values = (Array.isArray(header) ? header.join(',') : header ?? '').split(',');
  for (const raw of values) {
    const value = raw.trim();
    if (value.startsWith(TOKEN_PROTOCOL_PREFIX)) {
      return Buffer.from(value.slice(TOKEN_PROTOCOL_PREFIX.length), 'base64url').toString('utf8');
    }
  }
  return undefined;
}

/** The refusal a token's {@link TokenError} closes the socket with: 1011 when the server could not get its keys. */
export function tokenRefusal(err: TokenError): Refusal {
  return new Refusal(err.code === 'keys_unavailable' ? CLOSE.internalError : CLOSE.unauthorized, err.message, err);
}

/** When the socket must close (ms): the token's `exp`, plus the tolerance its check allowed. */
export function expiryOf(claims: TokenClaims, verifier: TokenVerifier): number {
  return claims.exp * 1000 + verifier.toleranceMs;
}

async function identify(input: AuthInput): Promise<{ assigns: Assigns; claims: TokenClaims | undefined; expiresAt: number | null }> {
  const { params, verifier } = input;
  if (!verifier) {
    const name = (params.name ?? '').trim().slice(0, 64) || `guest-${input.socketId.slice(0, 4)}`;
    return { assigns: { userId: name, name }, claims: undefined, expiresAt: null };
  }
  // A WebSocket offers it as a subprotocol; long-poll (phoenix.js's LongPoll too) sends it in a header of its own.
  const header = input.request.headers['x-phoenix-authtoken'];
  const offered = tokenFromProtocols(input.request.headers['sec-websocket-protocol']) ?? (typeof header === 'string' && header !== '' ? header : undefined);
  if (params.token !== undefined && !input.allowQueryToken) throw new Refusal(CLOSE.unauthorized, QUERY_TOKEN_REFUSED);
  const token = offered ?? params.token;
  if (!token) throw new Refusal(CLOSE.unauthorized, 'token required');
  try {
    const claims = await verifier.verify(token);
    return { assigns: { userId: claims.sub, name: typeof claims.name === 'string' && claims.name ? claims.name : claims.sub }, claims, expiresAt: expiryOf(claims, verifier) };
  } catch (err) {
    if (err instanceof TokenError) throw tokenRefusal(err);
    throw err;
  }
}

/** Resolves to the socket's assigns and token expiry, or rejects with a {@link Refusal}. */
export async function authenticate(input: AuthInput): Promise<{ assigns: Assigns; claims: TokenClaims | undefined; expiresAt: number | null }> {
  try {
    const { assigns, claims, expiresAt } = await identify(input);
    const { vsn: _v, token: _t, plume: _p, plume_tab: _tab, ...params } = input.params;
    const result = input.hook ? await input.hook({ params, claims, assigns, request: input.request }) : undefined;
    if (result === false) throw new Refusal(CLOSE.forbidden, 'connect refused');
    return { assigns: result ? { ...assigns, ...result } : assigns, claims, expiresAt };
  } catch (err) {
    if (err instanceof Refusal) throw err;
    if (err instanceof ConnectRefused) throw new Refusal(CLOSE.forbidden, err.message);
    throw new Refusal(CLOSE.internalError, 'connect hook failed', err);
  }
}
