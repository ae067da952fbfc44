import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signToken, TokenError, verifyToken } from './token';
import { tokenFromProtocols } from './connect';

const SECRET = 'test-secret';
const NOW = 1_700_000_000_000;

/** The HS256 signature of a hand-built token body. */
function hmacOf(body: string): string {
  return createHmac('sha256', SECRET).update(body).digest('base64url');
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function refusal(fn: () => unknown): TokenError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TokenError) return err;
    throw err;
  }
  throw new Error('expected a TokenError');
}

describe('signToken / verifyToken', () => {
  it('round-trips claims, adding iat and a one-hour exp', () => {
    const token = signToken({ sub: 'u1', name: 'Ada', role: 'admin' }, SECRET, { now: NOW });
    const claims = verifyToken(token, SECRET, NOW);
    expect(claims).toEqual({ sub: 'u1', name: 'Ada', role: 'admin', iat: NOW / 1000, exp: NOW / 1000 + 3600 });
  });

  it('writes an HS256 JWT header', () => {
    const [header] = signToken({ sub: 'u1' }, SECRET).split('.');
    expect(JSON.parse(Buffer.from(header as string, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('honours expiresInSeconds and an explicit exp', () => {
    expect(verifyToken(signToken({ sub: 'u' }, SECRET, { now: NOW, expiresInSeconds: 10 }), SECRET, NOW).exp).toBe(NOW / 1000 + 10);
    expect(verifyToken(signToken({ sub: 'u', exp: NOW / 1000 + 5 }, SECRET), SECRET, NOW).exp).toBe(NOW / 1000 + 5);
  });

  it('refuses misuse at once', () => {
    expect(() => signToken({ sub: 'u' }, '')).toThrow(/secret/);
    expect(() => signToken({ sub: '' }, SECRET)).toThrow(/sub/);
  });

  it('refuses an expired token, including at exactly exp', () => {
    const token = signToken({ sub: 'u' }, SECRET, { now: NOW, expiresInSeconds: 60 });
    expect(refusal(() => verifyToken(token, SECRET, NOW + 60_000)).code).toBe('expired');
    expect(refusal(() => verifyToken(token, SECRET, NOW + 120_000)).code).toBe('expired');
    expect(verifyToken(token, SECRET, NOW + 59_999).sub).toBe('u');
  });

  it('refuses a token not valid yet', () => {
    const token = signToken({ sub: 'u', nbf: NOW / 1000 + 30 }, SECRET, { now: NOW });
    expect(refusal(() => verifyToken(token, SECRET, NOW)).code).toBe('not_yet_valid');
    expect(verifyToken(token, SECRET, NOW + 30_000).sub).toBe('u');
  });

  it('refuses a token signed with another secret', () => {
    const token = signToken({ sub: 'u' }, 'other-secret', { now: NOW });
    expect(refusal(() => verifyToken(token, SECRET, NOW)).code).toBe('bad_signature');
  });

  it('refuses a token whose claims were altered', () => {
    const [header, , signature] = signToken({ sub: 'u' }, SECRET, { now: NOW }).split('.');
    const forged = `${header}.${b64({ sub: 'admin', exp: NOW / 1000 + 3600 })}.${signature}`;
    expect(refusal(() => verifyToken(forged, SECRET, NOW)).code).toBe('bad_signature');
  });

  it('refuses alg "none" and any algorithm but HS256', () => {
    const claims = b64({ sub: 'u', exp: NOW / 1000 + 3600 });
    expect(refusal(() => verifyToken(`${b64({ alg: 'none', typ: 'JWT' })}.${claims}.`, SECRET, NOW)).code).toBe('bad_algorithm');
    const [, , signature] = signToken({ sub: 'u' }, SECRET, { now: NOW }).split('.');
    expect(refusal(() => verifyToken(`${b64({ alg: 'HS512' })}.${claims}.${signature}`, SECRET, NOW)).code).toBe('bad_algorithm');
  });

  it.each([
    ['two parts', 'a.b'],
    ['four parts', 'a.b.c.d'],
    ['a header that is not JSON', `${Buffer.from('nope').toString('base64url')}.e30.sig`],
    ['a header that is a JSON array', `${b64([1])}.e30.sig`],
    ['an empty string', ''],
  ])('refuses a malformed token: %s', (_name, token) => {
    expect(refusal(() => verifyToken(token, SECRET, NOW)).code).toBe('malformed');
  });

  it('refuses a signed token without sub or exp', () => {
    const sign = (claims: unknown): string => {
      const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
      return `${body}.${hmacOf(body)}`;
    };
    expect(refusal(() => verifyToken(sign({ exp: NOW / 1000 + 60 }), SECRET, NOW)).code).toBe('missing_claim');
    expect(refusal(() => verifyToken(sign({ sub: 'u' }), SECRET, NOW)).code).toBe('missing_claim');
  });
});

describe('tokenFromProtocols', () => {
  const token = signToken({ sub: 'u' }, SECRET, { now: NOW });

  it('reads the token from the Phoenix authToken subprotocol', () => {
    const header = `phoenix, base64url.bearer.phx.${Buffer.from(token).toString('base64url')}`;
    expect(tokenFromProtocols(header)).toBe(token);
  });

  it('reads the standard-base64 form the phoenix client sends (btoa without padding)', () => {
    const text = 'user?>>~token';
    const encoded = Buffer.from(text).toString('base64').replace(/=/g, '');
    expect(encoded).toMatch(/[+/]/);
    expect(tokenFromProtocols(`phoenix, base64url.bearer.phx.${encoded}`)).toBe(text);
  });

  it('returns undefined without a token subprotocol', () => {
    expect(tokenFromProtocols(undefined)).toBeUndefined();
    expect(tokenFromProtocols('phoenix')).toBeUndefined();
  });
});
