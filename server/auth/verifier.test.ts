import { SignJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { keyPair, signWith, useJwksServers, type Pair } from '../../test/jwks';
import { signToken, TokenError } from './token';
import { TokenVerifier, verifyToken } from './verifier';

const NOW = 1_700_000_000_000;
const NOW_SEC = NOW / 1000;

const KEYS = { RS256: keyPair('RS256'), ES256: keyPair('ES256'), EdDSA: keyPair('EdDSA') };

/** Signs `claims` at NOW (iat, and a one-hour exp unless given). */
function sign(key: Pair, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return signWith(key, claims, header, NOW_SEC);
}

async function refusal(promise: Promise<unknown>): Promise<TokenError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TokenError) return err;
    throw err;
  }
  throw new Error('expected a TokenError');
}

describe('TokenVerifier with an HS256 secret', () => {
  const verifier = new TokenVerifier({ secret: 'test-secret', clockToleranceSec: 0 });

  it('returns the claims of a token signed with the secret', async () => {
    const token = signToken({ sub: 'u1', name: 'Ada', role: 'admin' }, 'test-secret', { now: NOW });
    expect(await verifier.verify(token, NOW)).toEqual({ sub: 'u1', name: 'Ada', role: 'admin', iat: NOW_SEC, exp: NOW_SEC + 3600 });
  });

  it('refuses a token signed with another secret, and one whose claims were altered', async () => {
    expect((await refusal(verifier.verify(signToken({ sub: 'u' }, 'other', { now: NOW }), NOW))).code).toBe('bad_signature');
    const [header, , signature] = signToken({ sub: 'u' }, 'test-secret', { now: NOW }).split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ sub: 'admin', exp: NOW_SEC + 3600 })).toString('base64url')}.${signature}`;
    expect(await refusal(verifier.verify(forged, NOW))).toMatchObject({ code: 'bad_signature', message: 'token signature does not verify' });
  });

  it('refuses alg "none" and any other algorithm', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const claims = b64({ sub: 'u', exp: NOW_SEC + 3600 });
    expect((await refusal(verifier.verify(`${b64({ alg: 'none' })}.${claims}.`, NOW))).code).toBe('bad_algorithm');
    expect((await refusal(verifier.verify(`${b64({ alg: 'HS512' })}.${claims}.c2ln`, NOW))).code).toBe('bad_algorithm');
    expect((await refusal(verifier.verify(await sign(KEYS.EdDSA, { sub: 'u' }), NOW))).message).toBe('token algorithm EdDSA is not accepted');
  });

  it.each([
    ['two parts', 'a.b'],
    ['garbage', 'garbage'],
    ['a header that is not JSON', `${Buffer.from('nope').toString('base64url')}.e30.sig`],
    ['an empty string', ''],
  ])('refuses a malformed token: %s', async (_name, token) => {
    expect(await refusal(verifier.verify(token, NOW))).toMatchObject({ code: 'malformed', message: 'token is not a JWT' });
  });

  it('refuses a token without sub or exp', async () => {
    const secret = new TextEncoder().encode('test-secret');
    const withOnly = (claims: JWTPayload) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    expect(await refusal(verifier.verify(await withOnly({ exp: NOW_SEC + 60 }), NOW))).toMatchObject({ code: 'missing_claim', message: 'token has no sub claim' });
    expect(await refusal(verifier.verify(await withOnly({ sub: 'u' }), NOW))).toMatchObject({ code: 'missing_claim', message: 'token has no exp claim' });
    expect((await refusal(verifier.verify(await withOnly({ sub: '', exp: NOW_SEC + 60 }), NOW))).code).toBe('missing_claim');
  });
});

describe('TokenVerifier with public keys', () => {
  it.each(['RS256', 'ES256', 'EdDSA'] as const)('verifies %s tokens with a PEM public key', async (alg) => {
    const verifier = new TokenVerifier({ publicKey: KEYS[alg].publicPem });
    expect((await verifier.verify(await sign(KEYS[alg], { sub: `u-${alg}` }), NOW)).sub).toBe(`u-${alg}`);
  });

  it('verifies with a JWK, and picks the key of a list by kid', async () => {
    const verifier = new TokenVerifier({ publicKey: [{ ...KEYS.ES256.publicJwk, kid: 'old' }, { ...KEYS.EdDSA.publicJwk, kid: 'new' }] });
    expect((await verifier.verify(await sign(KEYS.EdDSA, { sub: 'u' }, { kid: 'new' }), NOW)).sub).toBe('u');
    expect((await verifier.verify(await sign(KEYS.ES256, { sub: 'v' }, { kid: 'old' }), NOW)).sub).toBe('v');
    expect((await refusal(verifier.verify(await sign(KEYS.EdDSA, { sub: 'u' }, { kid: 'old' }), NOW))).code).toBe('unknown_key');
    expect((await refusal(verifier.verify(await sign(KEYS.RS256, { sub: 'u' }), NOW))).code).toBe('bad_algorithm');
  });

  it('verifies with any key of a list (rotation without kid)', async () => {
    const verifier = new TokenVerifier({ publicKey: [KEYS.RS256.publicPem, keyPair('RS256').publicPem] });
    expect((await verifier.verify(await sign(KEYS.RS256, { sub: 'u' }), NOW)).sub).toBe('u');
    const stranger = keyPair('RS256');
    expect((await refusal(verifier.verify(await sign(stranger, { sub: 'u' }), NOW))).code).toBe('bad_signature');
  });

  it('never takes a public key as an HS256 secret (algorithm confusion)', async () => {
    const verifier = new TokenVerifier({ publicKey: KEYS.RS256.publicPem });
    const token = signToken({ sub: 'admin' }, KEYS.RS256.publicPem, { now: NOW });
    expect((await refusal(verifier.verify(token, NOW))).code).toBe('bad_algorithm');
  });

  it('refuses a key it cannot read, at once, with the fix', () => {
    expect(() => new TokenVerifier({ publicKey: 'not a key' })).toThrow(/PEM public key/);
    expect(() => new TokenVerifier({})).toThrow(/secret, a publicKey or a jwksUrl/);
  });
});

describe('claims checks', () => {
  const key = KEYS.ES256;

  it('checks iss and aud when configured', async () => {
    const verifier = new TokenVerifier({ publicKey: key.publicPem, issuer: 'https://login.example/', audience: ['chat', 'docs'] });
    const good = await sign(key, { sub: 'u', iss: 'https://login.example/', aud: 'chat' });
    expect((await verifier.verify(good, NOW)).sub).toBe('u');
    const otherIssuer = await sign(key, { sub: 'u', iss: 'https://evil.example/', aud: 'chat' });
    expect(await refusal(verifier.verify(otherIssuer, NOW))).toMatchObject({ code: 'bad_claim', message: 'token issuer is not accepted' });
    const otherAudience = await sign(key, { sub: 'u', iss: 'https://login.example/', aud: 'billing' });
    expect(await refusal(verifier.verify(otherAudience, NOW))).toMatchObject({ code: 'bad_claim', message: 'token audience is not accepted' });
    const noIssuer = await sign(key, { sub: 'u', aud: 'chat' });
    expect((await refusal(verifier.verify(noIssuer, NOW))).code).toBe('missing_claim');
  });

  it('accepts exp and nbf within the clock tolerance, and refuses them beyond it', async () => {
    const verifier = new TokenVerifier({ publicKey: key.publicPem, clockToleranceSec: 30 });
    const expired = await sign(key, { sub: 'u', exp: NOW_SEC - 20 });
    expect((await verifier.verify(expired, NOW)).sub).toBe('u');
    expect(await refusal(verifier.verify(expired, NOW + 11_000))).toMatchObject({ code: 'expired', message: 'token expired' });
    const early = await sign(key, { sub: 'u', nbf: NOW_SEC + 20 });
    expect((await verifier.verify(early, NOW)).sub).toBe('u');
    expect(await refusal(verifier.verify(early, NOW - 11_000))).toMatchObject({ code: 'not_yet_valid', message: 'token not valid yet' });
    expect(verifier.toleranceMs).toBe(30_000);
  });

  it('has a default tolerance of 5 s, and none when told: expired at exactly exp', async () => {
    const token = signToken({ sub: 'u' }, 's', { now: NOW, expiresInSeconds: 60 });
    expect((await verifyToken(token, 's', NOW + 64_000)).sub).toBe('u');
    expect((await refusal(verifyToken(token, 's', NOW + 66_000))).code).toBe('expired');
    const strict = { secret: 's', clockToleranceSec: 0 };
    expect((await verifyToken(token, strict, NOW + 59_999)).sub).toBe('u');
    expect((await refusal(verifyToken(token, strict, NOW + 60_000))).code).toBe('expired');
  });
});

describe('TokenVerifier with a JWK Set URL', () => {
  const jwksServer = useJwksServers();

  it('verifies with the set, fetched once and cached', async () => {
    const jwks = await jwksServer();
    jwks.serve([{ ...KEYS.RS256.publicJwk, kid: 'a', alg: 'RS256' }, { ...KEYS.EdDSA.publicJwk, kid: 'b' }]);
    const verifier = new TokenVerifier({ jwksUrl: jwks.url });
    expect((await verifier.verify(await sign(KEYS.RS256, { sub: 'u1' }, { kid: 'a' }), NOW)).sub).toBe('u1');
    expect((await verifier.verify(await sign(KEYS.EdDSA, { sub: 'u2' }, { kid: 'b' }), NOW)).sub).toBe('u2');
    expect(jwks.fetches()).toBe(1);
  });

  it('picks up a rotated key: an unknown kid fetches the set again, and a removed key stops verifying', async () => {
    const jwks = await jwksServer();
    jwks.serve([{ ...KEYS.ES256.publicJwk, kid: 'k1' }]);
    const verifier = new TokenVerifier({ jwksUrl: jwks.url, jwksCooldownMs: 0 });
    expect((await verifier.verify(await sign(KEYS.ES256, { sub: 'u' }, { kid: 'k1' }), NOW)).sub).toBe('u');
    jwks.serve([{ ...KEYS.EdDSA.publicJwk, kid: 'k2' }]);
    expect((await verifier.verify(await sign(KEYS.EdDSA, { sub: 'v' }, { kid: 'k2' }), NOW)).sub).toBe('v');
    expect(jwks.fetches()).toBe(2);
    expect(await refusal(verifier.verify(await sign(KEYS.ES256, { sub: 'u' }, { kid: 'k1' }), NOW))).toMatchObject({ code: 'unknown_key', message: 'no key matches the token' });
  });

  it('fetches again for an unknown kid at most once per cooldown', async () => {
    const jwks = await jwksServer();
    jwks.serve([{ ...KEYS.ES256.publicJwk, kid: 'k1' }]);
    const verifier = new TokenVerifier({ jwksUrl: jwks.url, jwksCooldownMs: 60_000 });
    await verifier.verify(await sign(KEYS.ES256, { sub: 'u' }, { kid: 'k1' }), NOW);
    for (let i = 0; i < 3; i++) expect((await refusal(verifier.verify(await sign(KEYS.ES256, { sub: 'u' }, { kid: `x${i}` }), NOW))).code).toBe('unknown_key');
    expect(jwks.fetches()).toBe(1);
  });

  it('says keys_unavailable when the set cannot be fetched, and refuses an HS256 token', async () => {
    const jwks = await jwksServer();
    jwks.down();
    const verifier = new TokenVerifier({ jwksUrl: jwks.url });
    expect(await refusal(verifier.verify(await sign(KEYS.EdDSA, { sub: 'u' }, { kid: 'k' }), NOW))).toMatchObject({ code: 'keys_unavailable', message: 'token keys unavailable' });
    expect((await refusal(verifier.verify(signToken({ sub: 'u' }, 'guess'), NOW))).code).toBe('bad_algorithm');
  });

  it('refuses a jwksUrl that is not an http(s) URL, at once', () => {
    expect(() => new TokenVerifier({ jwksUrl: 'login.example/jwks' })).toThrow(/absolute http\(s\) URL/);
    expect(() => new TokenVerifier({ jwksUrl: 'file:///etc/jwks.json' })).toThrow(/http\(s\) URL/);
  });
});
