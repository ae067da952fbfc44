import { describe, expect, it } from 'vitest';
import { checkDevMode, DevModeError, isLoopbackHost } from './dev-mode';

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.5.6.7', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'localhost.'])('takes %s as loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(['0.0.0.0', '::', '', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'example.com', 'localhost.example.com', '127.0.0.1.nip.io'])('does not take %s as loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('checkDevMode', () => {
  it('lets dev mode serve on loopback, or anywhere when explicit', () => {
    expect(() => checkDevMode('127.0.0.1', false)).not.toThrow();
    expect(() => checkDevMode('0.0.0.0', true)).not.toThrow();
    expect(() => checkDevMode(undefined, true)).not.toThrow();
  });

  it('refuses any other address with the fix in the message', () => {
    for (const host of ['0.0.0.0', '', undefined]) {
      expect(() => checkDevMode(host, false)).toThrow(DevModeError);
    }
    expect(() => checkDevMode('0.0.0.0', false)).toThrow(/PLUME_SECRET.*127\.0\.0\.1.*--dev/);
  });
});
