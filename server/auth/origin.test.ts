import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { originAllowed } from './origin';

function request(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

describe('originAllowed', () => {
  it('allows requests without an Origin header (non-browser clients)', () => {
    expect(originAllowed(request({ host: 'chat.example:4000' }), [])).toBe(true);
  });

  it('allows the server\'s own origin', () => {
    expect(originAllowed(request({ host: 'chat.example:4000', origin: 'http://chat.example:4000' }), [])).toBe(true);
    expect(originAllowed(request({ host: 'chat.example', origin: 'https://chat.example' }), [])).toBe(true);
  });

  it('refuses a foreign origin', () => {
    expect(originAllowed(request({ host: 'chat.example:4000', origin: 'http://evil.example:4000' }), [])).toBe(false);
  });

  it('refuses the same host on another port', () => {
    expect(originAllowed(request({ host: 'chat.example:4000', origin: 'http://chat.example:4001' }), [])).toBe(false);
  });

  it('allows an allowlisted origin and only that one', () => {
    const allowed = ['https://app.example'];
    expect(originAllowed(request({ host: 'api.example', origin: 'https://app.example' }), allowed)).toBe(true);
    expect(originAllowed(request({ host: 'api.example', origin: 'https://app.example.evil' }), allowed)).toBe(false);
  });

  it('allows any origin with "*"', () => {
    expect(originAllowed(request({ host: 'api.example', origin: 'https://anything.example' }), ['*'])).toBe(true);
  });

  it('refuses an unparseable or opaque Origin', () => {
    expect(originAllowed(request({ host: 'api.example', origin: 'null' }), [])).toBe(false);
    expect(originAllowed(request({ host: 'api.example', origin: '::nonsense' }), [])).toBe(false);
  });

  it('refuses an Origin when the request has no Host', () => {
    expect(originAllowed(request({ origin: 'http://chat.example' }), [])).toBe(false);
  });

  it('treats a Host with the default port or other letter case as the same origin', () => {
    expect(originAllowed(request({ host: 'Chat.Example:80', origin: 'http://chat.example' }), [])).toBe(true);
    expect(originAllowed(request({ host: 'chat.example:443', origin: 'https://chat.example' }), [])).toBe(true);
  });

  it('does not compare the scheme, so a TLS-terminating proxy in front works', () => {
    expect(originAllowed(request({ host: 'chat.example:8443', origin: 'https://chat.example:8443' }), [])).toBe(true);
  });
});
