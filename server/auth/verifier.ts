/**
 * Token verification with `jose`: an HS256 secret, RS256/ES256/EdDSA public
 * keys (PEM or JWK), and a remote JWK Set (cached, fetched again for an
 * unknown `kid`, so rotated keys are picked up), with `iss`/`aud`/`exp`/`nbf`
 * checks under a clock tolerance (PROTOCOL.md §8).
 *
 * Responsible for turning a token into verified claims, or a `TokenError`
 * with a stable code. Not responsible for where the token travelled
 * (`connect.ts`) or what its claims allow (the connect hook, the channels).
 */
import { createPublicKey, KeyObject, type JsonWebKey } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey, type JWK } from 'jose';
import { TokenError, type TokenClaims } from './token';

/** A public key as PEM text (SPKI, or a certificate's key), a JWK, or a Node `KeyObject`. */
export type PublicKeyInput = string | JWK | KeyObject;

/** What a {@link TokenVerifier} checks tokens against. At least one of `secret`, `publicKey`, `jwksUrl`. */
export interface VerifierOptions {
  /** HMAC secret for HS256 tokens. */
  secret?: string;
  /** Public key(s) for RS256, ES256 and EdDSA tokens; several for rotation. */
  publicKey?: PublicKeyInput | readonly PublicKeyInput[];
  /** URL of a JWK Set for RS256, ES256 and EdDSA tokens. */
  jwksUrl?: string;
  /** Accepted `iss`: tokens must carry it (one of them). Default: not checked. */
  issuer?: string | readonly string[];
  /** Accepted `aud`: tokens must carry it (one of them). Default: not checked. */
  audience?: string | readonly string[];
  /** Leeway for `exp` and `nbf`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** Least time between two fetches of the JWK Set for a `kid` it did not have (ms). Default 30000. */
  jwksCooldownMs?: number;
  /** How long a fetched JWK Set is used before it is fetched again (ms). Default 600000. */
  jwksCacheMaxAgeMs?: number;
}

/** Algorithms a public key or the JWK Set may verify; HS256 is the secret's alone. */
const ASYMMETRIC = new Set(['RS256', 'ES256', 'EdDSA', 'Ed25519']);

interface LocalKey {
  key: KeyObject;
  kid: string | undefined;
}

function algorithmsOf(key: KeyObject): readonly string[] {
  const { asymmetricKeyType: type, asymmetricKeyDetails: details } = key;
  if (type === 'rsa') return ['RS256'];
  if (type === 'ec' && details?.namedCurve === 'prime256v1') return ['ES256'];
  if (type === 'ed25519') return ['EdDSA', 'Ed25519'];
  return [];
}

function importKey(input: PublicKeyInput, index: number): LocalKey {
  let key: KeyObject;
  try {
    if (input instanceof KeyObject) key = input.type === 'public' ? input : createPublicKey(input);
    else if (typeof input === 'string') key = createPublicKey(input);
    else key = createPublicKey({ key: input as JsonWebKey, format: 'jwk' });
  } catch (cause) {
    throw new Error(`publicKey #${index + 1} cannot be read: give a PEM public key ("-----BEGIN PUBLIC KEY-----…") or a public JWK`, { cause });
  }
  if (algorithmsOf(key).length === 0) {
    throw new Error(`publicKey #${index + 1} is a ${key.asymmetricKeyType} key: use an RSA (RS256), P-256 (ES256) or Ed25519 (EdDSA) key`);
  }
  const kid = !(input instanceof KeyObject) && typeof input === 'object' && typeof input.kid === 'string' ? input.kid : undefined;
  return { key, kid };
}

function asList<T>(value: T | readonly T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}

/** Reads what a refusal from `jose` means, as a {@link TokenError}. */
function refusal(err: unknown): TokenError {
  if (err instanceof TokenError) return err;
  if (err instanceof errors.JWTExpired) return new TokenError('expired', 'token expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return new TokenError('missing_claim', `token has no ${err.claim} claim`);
    if (err.claim === 'nbf') return new TokenError('not_yet_valid', 'token not valid yet');
    if (err.claim === 'iss') return new TokenError('bad_claim', 'token issuer is not accepted');
    if (err.claim === 'aud') return new TokenError('bad_claim', 'token audience is not accepted');
    return new TokenError('malformed', `token claim ${err.claim} is invalid`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new TokenError('bad_signature', 'token signature does not verify');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return new TokenError('unknown_key', 'no key matches the token');
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return new TokenError('bad_algorithm', 'token algorithm is not accepted');
  return new TokenError('malformed', 'token is not a JWT');
}

/**
 * Verifies tokens against the configured keys. Make one per server: it
 * holds the fetched JWK Set.
 *
 * @example
 * const verifier = new TokenVerifier({ jwksUrl: 'https://login.example/.well-known/jwks.json', issuer: 'https://login.example/', audience: 'chat' });
 * const claims = await verifier.verify(token); // or throws a TokenError
 */
export class TokenVerifier {
  private readonly secret: Uint8Array | undefined;
  private readonly keys: LocalKey[];
  private readonly jwks: JWTVerifyGetKey | undefined;
  private readonly checks: { issuer?: string[]; audience?: string[]; clockTolerance: number };

  constructor(options: VerifierOptions) {
    this.secret = options.secret ? new TextEncoder().encode(options.secret) : undefined;
    this.keys = asList(options.publicKey).map(importKey);
    this.jwks = options.jwksUrl ? remoteSet(options) : undefined;
    if (!this.secret && this.keys.length === 0 && !this.jwks) throw new Error('TokenVerifier needs a secret, a publicKey or a jwksUrl');
    const issuer = asList(options.issuer);
    const audience = asList(options.audience);
    const clockTolerance = options.clockToleranceSec ?? 5;
    if (!(clockTolerance >= 0)) throw new Error(`clockToleranceSec must be 0 or more, got ${String(options.clockToleranceSec)}`);
    this.checks = { clockTolerance, ...(issuer.length ? { issuer } : {}), ...(audience.length ? { audience } : {}) };
  }

  /** Leeway applied to `exp` and `nbf`, in ms: a connected socket is closed this long after its token's `exp`. */
  get toleranceMs(): number {
    return this.checks.clockTolerance * 1000;
  }

  /** Resolves with the token's verified claims; rejects with a {@link TokenError}. */
  async verify(token: string, now: number = Date.now()): Promise<TokenClaims> {
    try {
      const claims = await this.verifyWithKeys(token, now);
      if (typeof claims.sub !== 'string' || claims.sub === '') throw new TokenError('missing_claim', 'token has no sub claim');
      return claims;
    } catch (err) {
      throw refusal(err);
    }
  }

  private async verifyWithKeys(token: string, now: number): Promise<TokenClaims> {
    let alg: unknown;
    try {
      ({ alg } = decodeProtectedHeader(token));
    } catch {
      // decodeProtectedHeader says only that it is not a JWS: the reason a client gets is the same.
      throw new TokenError('malformed', 'token is not a JWT');
    }
    if (typeof alg !== 'string' || token.split('.').length !== 3) throw new TokenError('malformed', 'token is not a JWT');
    const options = { ...this.checks, algorithms: [alg], currentDate: new Date(now), requiredClaims: ['sub', 'exp'] };
    if (alg === 'HS256' && this.secret) return (await jwtVerify(token, this.secret, options)).payload as TokenClaims;
    if (!ASYMMETRIC.has(alg) || (this.keys.length === 0 && !this.jwks)) {
      throw new TokenError('bad_algorithm', `token algorithm ${alg.slice(0, 16)} is not accepted`);
    }
    const { kid } = decodeProtectedHeader(token);
    const forAlg = this.keys.filter((k) => algorithmsOf(k.key).includes(alg as string));
    const candidates = forAlg.filter((k) => kid === undefined || k.kid === undefined || k.kid === kid);
    let failure: unknown = forAlg.length === 0
      ? new TokenError('bad_algorithm', `token algorithm ${alg.slice(0, 16)} is not accepted`)
      : new TokenError('unknown_key', 'no key matches the token');
    for (const { key } of candidates) {
      try {
        return (await jwtVerify(token, key, options)).payload as TokenClaims;
      } catch (err) {
        // Another key may verify it (rotation); any failure after the signature is final.
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw err;
        failure = err;
      }
    }
    if (this.jwks) return (await jwtVerify(token, this.jwks, options)).payload as TokenClaims;
    throw failure;
  }
}

/** The remote JWK Set; a failure to fetch it is `keys_unavailable`, not the client's fault. */
function remoteSet(options: VerifierOptions): JWTVerifyGetKey {
  let url: URL;
  try {
    url = new URL(options.jwksUrl as string);
  } catch (cause) {
    throw new Error(`jwksUrl must be an absolute http(s) URL, got "${options.jwksUrl}"`, { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`jwksUrl must be an http(s) URL, got "${options.jwksUrl}"`);
  const set = createRemoteJWKSet(url, { cooldownDuration: options.jwksCooldownMs ?? 30_000, cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000 });
  return async (header, token) => {
    try {
      return await set(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported) throw err;
      throw new TokenError('keys_unavailable', 'token keys unavailable', err);
    }
  };
}

/**
 * Verifies one token against a secret (or the keys of `options`); returns its claims.
 * Rejects with a {@link TokenError} whose `code` is stable. For a server, or
 * with `jwksUrl`, keep one {@link TokenVerifier} instead: it caches the JWK Set.
 *
 * @example
 * try { const { sub } = await verifyToken(token, secret); } catch (e) { if (e instanceof TokenError) console.log(e.code); }
 */
export function verifyToken(token: string, keys: string | VerifierOptions, now: number = Date.now()): Promise<TokenClaims> {
  return new TokenVerifier(typeof keys === 'string' ? { secret: keys } : keys).verify(token, now);
}
