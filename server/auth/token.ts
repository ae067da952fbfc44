/**
 * Tokens: the claims Plume reads, why a token is refused (`TokenError`), and
 * `signToken`, a small synchronous HS256 signer for tests, development and
 * backends that have no JWT library.
 *
 * Responsible for the token's shape. Not responsible for verifying one
 * (`verifier.ts`, with `jose`), where a token travels (`connect.ts`) or what
 * the claims authorize (the connect hook's and the channels' business).
 */
import { createHmac } from 'node:crypto';

/** Claims Plume understands; any other claim is passed through to the connect hook. */
export interface TokenClaims {
  /** The user's identity. */
  sub: string;
  /** Expiry, in seconds since the Unix epoch. */
  exp: number;
  /** A display name. */
  name?: string;
  /** Topics the default relay channel lets this user join when the server has no join hook (PROTOCOL.md §8). */
  rooms?: string[];
  iss?: string;
  aud?: string | string[];
  iat?: number;
  nbf?: number;
  [claim: string]: unknown;
}

/** Options for {@link signToken}. */
export interface SignOptions {
  /** Lifetime in seconds; default 3600. Ignored when `claims.exp` is set. */
  expiresInSeconds?: number;
  /** Current time in ms (for tests); default `Date.now()`. */
  now?: number;
}

/** Stable reasons for refusing a token; `keys_unavailable` is the server's trouble (the JWK Set could not be fetched), the others the token's. */
export type TokenErrorCode =
  | 'malformed' | 'bad_signature' | 'bad_algorithm' | 'unknown_key' | 'expired' | 'not_yet_valid' | 'missing_claim' | 'bad_claim' | 'keys_unavailable';

/** Why a token was refused. `code` is stable; `message` (the close reason, PROTOCOL.md §8) is for people. */
export class TokenError extends Error {
  readonly code: TokenErrorCode;
  constructor(code: TokenErrorCode, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'TokenError';
    this.code = code;
  }
}

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

function hmac(data: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

/**
 * Signs claims into a token. `sub` is required; `exp` defaults to one hour.
 *
 * @example
 * const token = signToken({ sub: 'user-42', name: 'Ada' }, process.env.PLUME_SECRET!, { expiresInSeconds: 600 });
 * // hand it to the browser; the client passes it as `new Socket(url, { token })`
 */
export function signToken(
  claims: Omit<TokenClaims, 'exp'> & { exp?: number },
  secret: string,
  options: SignOptions = {},
): string {
  if (!secret) throw new Error('signToken: a non-empty secret is required');
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new Error('signToken: claims.sub must be a non-empty string');
  const nowSec = Math.floor((options.now ?? Date.now()) / 1000);
  const full = { iat: nowSec, ...claims, exp: claims.exp ?? nowSec + (options.expiresInSeconds ?? 3600) };
  const body = `${HEADER}.${base64url(JSON.stringify(full))}`;
  return `${body}.${hmac(body, secret).toString('base64url')}`;
}
