import { describe, expect, it } from 'vitest';
import { signToken } from './token';
import { tokenFromProtocols } from './connect';
import { verifyToken } from './verifier';

const SECRET = 'test-secret';
const NOW = 1_700_000_000_000;

describe('signToken', () => {
  it('round-trips claims through verification, adding iat and a one-hour exp', async () => {
    const token = signToken({ sub: 'u1', name: 'Ada', role: 'admin' }, SECRET, { now: NOW });
    expect(await verifyToken(token, SECRET, NOW)).toEqual({ sub: 'u1', name: 'Ada', role: 'admin', iat: NOW / 1000, exp: NOW / 1000 + 3600 });
  });

  it('writes an HS256 JWT header', () => {
    const [header] = signToken({ sub: 'u1' }, SECRET).split('.');
    expect(JSON.parse(Buffer.from(header as string, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('honours expiresInSeconds and an explicit exp', async () => {
    expect((await verifyToken(signToken({ sub: 'u' }, SECRET, { now: NOW, expiresInSeconds: 10 }), SECRET, NOW)).exp).toBe(NOW / 1000 + 10);
    expect((await verifyToken(signToken({ sub: 'u', exp: NOW / 1000 + 5 }, SECRET), SECRET, NOW)).exp).toBe(NOW / 1000 + 5);
  });

  it('refuses misuse at once', () => {
    expect(() => signToken({ sub: 'u' }, '')).toThrow(/secret/);
    expect(() => signToken({ sub: '' }, SECRET)).toThrow(/sub/);
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
