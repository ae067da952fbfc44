/**
 * Signed tokens: HMAC-SHA256 JWTs (HS256) that an application mints in its
 * own login and the server verifies at connect.
 *
 * Responsible for signing, verifying and expiry. Not responsible for where a
 * token travels (see `transport.ts`) or what the claims authorize (that is the
 * connect hook's and the channels' business).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Claims Plume understands; any other claim is passed through to the connect hook. */
export interface TokenClaims {
  /** The user's identity. */
  sub: string;
  /** Expiry, in seconds since the Unix epoch. */
  exp: number;
  /** A display name. */
  name?: string;
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

/** Why a token was refused. `code` is stable; `message` is for people. */
export class TokenError extends Error {
  readonly code: 'malformed' | 'bad_signature' | 'bad_algorithm' | 'expired' | 'not_yet_valid' | 'missing_claim';
  constructor(code: TokenError['code'], message: string) {
    super(message);
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

function parseJson(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Falls through to the TokenError below: the caller learns why.
  }
  throw new TokenError('malformed', 'token is not a JWT');
}

/**
 * Verifies a token's signature, algorithm and validity window; returns its claims.
 * Throws {@link TokenError} with a stable `code` when the token is refused.
 *
 * @example
 * try { const { sub } = verifyToken(token, secret); } catch (e) { if (e instanceof TokenError) console.log(e.code); }
 */
export function verifyToken(token: string, secret: string, now: number = Date.now()): TokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('malformed', 'token is not a JWT');
  const [header, payload, signature] = parts as [string, string, string];
  if (parseJson(header).alg !== 'HS256') throw new TokenError('bad_algorithm', 'token algorithm must be HS256');
  const expected = hmac(`${header}.${payload}`, secret);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new TokenError('bad_signature', 'token signature does not verify');
  }
  const claims = parseJson(payload);
  const nowSec = now / 1000;
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new TokenError('missing_claim', 'token has no sub claim');
  if (typeof claims.exp !== 'number') throw new TokenError('missing_claim', 'token has no exp claim');
  if (claims.exp <= nowSec) throw new TokenError('expired', 'token expired');
  if (typeof claims.nbf === 'number' && claims.nbf > nowSec) throw new TokenError('not_yet_valid', 'token not valid yet');
  return claims as TokenClaims;
}
