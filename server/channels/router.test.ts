import { describe, expect, it } from 'vitest';
import { Router } from './router';

describe('Router', () => {
  it('matches a prefix pattern against every topic with that prefix', () => {
    const router = new Router<string>();
    router.add('room:*', 'rooms');
    expect(router.match('room:lobby')).toBe('rooms');
    expect(router.match('room:')).toBe('rooms');
    expect(router.match('rooms:lobby')).toBeUndefined();
    expect(router.match('xroom:lobby')).toBeUndefined();
  });

  it('matches an exact pattern only exactly', () => {
    const router = new Router<string>();
    router.add('lobby', 'lobby');
    expect(router.match('lobby')).toBe('lobby');
    expect(router.match('lobby:2')).toBeUndefined();
    expect(router.match('lobb')).toBeUndefined();
  });

  it('lets "*" match every topic', () => {
    const router = new Router<string>();
    router.add('*', 'all');
    expect(router.match('anything')).toBe('all');
  });

  it('prefers the earliest registration', () => {
    const router = new Router<string>();
    router.add('room:vip', 'vip');
    router.add('room:*', 'rooms');
    router.add('room:vip', 'later');
    expect(router.match('room:vip')).toBe('vip');
    expect(router.match('room:a')).toBe('rooms');
  });

  it('consults fallbacks only when no application route matches', () => {
    const router = new Router<string>();
    router.add('room:*', 'relay', true);
    expect(router.match('room:a')).toBe('relay');
    router.add('room:*', 'app');
    expect(router.match('room:a')).toBe('app');
  });

  it.each(['', 'room:*:x', '*room', 'a*b'])('refuses the invalid pattern %j with a message saying the fix', (pattern) => {
    expect(() => new Router<string>().add(pattern, 'x')).toThrow(/ending in "\*"/);
  });

  it('returns undefined when nothing is registered', () => {
    expect(new Router<string>().match('room:a')).toBeUndefined();
  });
});
