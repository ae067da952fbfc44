import { describe, expect, it } from 'vitest';
import { normalizeOrigins, originAllowed, type OriginPolicy } from './origin';

const configured = (allowed: string[]): OriginPolicy => ({ allowed: normalizeOrigins(allowed), loopbackSameOrigin: false });
const dev = (allowed: string[] = []): OriginPolicy => ({ allowed: normalizeOrigins(allowed), loopbackSameOrigin: true });

describe('originAllowed', () => {
  it('allows requests without an Origin header (non-browser clients)', () => {
    expect(originAllowed(undefined, 'chat.example:4000', configured([]))).toBe(true);
  });

  it('allows a configured origin, compared with its scheme', () => {
    const policy = configured(['https://app.example']);
    expect(originAllowed('https://app.example', 'api.example', policy)).toBe(true);
    expect(originAllowed('http://app.example', 'api.example', policy)).toBe(false);
    expect(originAllowed('https://app.example:8443', 'api.example', policy)).toBe(false);
    expect(originAllowed('https://app.example.evil', 'api.example', policy)).toBe(false);
  });

  it('treats letter case and a default port as the same origin', () => {
    expect(originAllowed('https://APP.example:443', 'api.example', configured(['https://app.example']))).toBe(true);
    expect(originAllowed('https://app.example', 'api.example', configured(['HTTPS://App.Example:443/']))).toBe(true);
  });

  it('never takes the request\'s own Host as proof (DNS rebinding), not even a loopback one, once authentication is on', () => {
    expect(originAllowed('http://evil.example:4000', 'evil.example:4000', configured([]))).toBe(false);
    expect(originAllowed('http://127.0.0.1:4000', '127.0.0.1:4000', configured([]))).toBe(false);
  });

  it('in dev mode, allows the same origin only when it is a loopback one', () => {
    expect(originAllowed('http://127.0.0.1:5173', '127.0.0.1:5173', dev())).toBe(true);
    expect(originAllowed('http://localhost:4000', 'localhost:4000', dev())).toBe(true);
    expect(originAllowed('http://[::1]:4000', '[::1]:4000', dev())).toBe(true);
    expect(originAllowed('http://evil.example:4000', 'evil.example:4000', dev())).toBe(false);
    expect(originAllowed('http://127.0.0.1:4001', '127.0.0.1:4000', dev())).toBe(false);
    expect(originAllowed('http://127.0.0.1:4000', undefined, dev())).toBe(false);
  });

  it('allows any origin with "*"', () => {
    expect(originAllowed('https://anything.example', 'api.example', configured(['*']))).toBe(true);
  });

  it('refuses an unparseable or opaque Origin', () => {
    expect(originAllowed('null', 'api.example', dev())).toBe(false);
    expect(originAllowed('::nonsense', 'api.example', dev())).toBe(false);
  });

  it('refuses a Host header that is not a host', () => {
    expect(originAllowed('http://127.0.0.1:4000', 'a b', dev())).toBe(false);
  });
});

describe('normalizeOrigins', () => {
  it('keeps scheme, host and port, and "*"', () => {
    expect(normalizeOrigins(['https://App.Example:443/', 'http://localhost:5173', 'capacitor://localhost', '*'])).toEqual(['https://app.example', 'http://localhost:5173', 'capacitor://localhost', '*']);
  });

  it.each(['app.example', 'localhost:5173', 'https://app.example/path', 'https://user@app.example', ''])('refuses "%s" at once, with the fix', (entry) => {
    expect(() => normalizeOrigins([entry])).toThrow(/write the scheme and host, like "https:\/\/app.example"/);
  });
});
