import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../test/fakes';
import type { PlumeError } from './errors';
import type { Message } from './protocol';
import { refreshDelay, tokenTimes, TokenRefresher } from './token-refresh';

/** An unsigned JWT-shaped token with these claims (the client never verifies). */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256' })}.${part(claims)}.c2ln`;
}

describe('tokenTimes', () => {
  it('reads exp and iat from the payload, unicode claims included', () => {
    expect(tokenTimes(jwt({ sub: 'u', name: 'Zoë 🦊', exp: 200, iat: 100 }))).toEqual({ exp: 200, iat: 100 });
    expect(tokenTimes(jwt({ exp: 200 }))).toEqual({ exp: 200, iat: undefined });
  });

  it('gives null for an opaque token or one without exp', () => {
    expect(tokenTimes('opaque-session-id')).toBeNull();
    expect(tokenTimes('a.%%%.c')).toBeNull();
    expect(tokenTimes(jwt({ sub: 'u' }))).toBeNull();
  });
});

describe('refreshDelay', () => {
  it('refreshes 10% of the lifetime before the end, at least 5 s and at most 60 s before, halfway for a short token', () => {
    expect(refreshDelay({ exp: 3600, iat: 0 }, 0, 0)).toBe(3_540_000);
    expect(refreshDelay({ exp: 300, iat: 0 }, 0, 0)).toBe(270_000);
    expect(refreshDelay({ exp: 30, iat: 0 }, 0, 0)).toBe(25_000);
    expect(refreshDelay({ exp: 4, iat: 0 }, 0, 0)).toBe(2_000);
  });

  it('counts from when the token was obtained, so a client clock that is behind does not matter', () => {
    // The client's clock is 400 s behind the issuer's; the token lives an hour from when it arrived.
    const obtainedAt = 1_000_000;
    expect(refreshDelay({ exp: 5_000, iat: 1_400 }, obtainedAt, obtainedAt)).toBe(3_540_000);
  });

  it('trusts the clock when it says less is left: a token an auth library kept a while', () => {
    const now = 3_000_000; // 50 minutes into a one-hour token
    expect(refreshDelay({ exp: 3_600, iat: 0 }, now, now)).toBe(540_000);
  });

  it('is 0 for a token already due', () => {
    expect(refreshDelay({ exp: 10, iat: 0 }, 20_000, 20_000)).toBe(0);
  });
});

function setup(tokens: Array<string | Error>) {
  const clock = new FakeClock();
  const sent: Message[] = [];
  const errors: PlumeError[] = [];
  let ref = 0;
  let calls = 0;
  const refresher = new TokenRefresher({
    clock,
    token: () => {
      const next = tokens[Math.min(calls++, tokens.length - 1)] as string | Error;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    makeRef: () => String(++ref),
    send: (m) => sent.push(m) > 0,
    report: (e) => errors.push(e),
  });
  const reply = (status: 'ok' | 'error', response: Record<string, unknown> = {}) => {
    const last = sent.at(-1) as Message;
    return refresher.answer({ joinRef: null, ref: last.ref, topic: 'phoenix', event: 'phx_reply', payload: { status, response } });
  };
  return { clock, sent, errors, refresher, reply, calls: () => calls };
}

describe('TokenRefresher', () => {
  const nowSec = 1_000; // FakeClock starts at 1,000,000 ms

  it('sends plume:token on phoenix before the token expires, then times the next from the new token', async () => {
    const first = jwt({ sub: 'u', iat: nowSec, exp: nowSec + 100 });
    const second = jwt({ sub: 'u', iat: nowSec + 90, exp: nowSec + 190 });
    const { clock, sent, refresher, reply } = setup([second]);
    refresher.use(first);
    refresher.start();
    expect(clock.nextDelay()).toBe(90_000);
    clock.advance(90_000);
    await flushMicrotasks();
    expect(sent).toEqual([{ joinRef: null, ref: '1', topic: 'phoenix', event: 'plume:token', payload: { token: second } }]);
    expect(reply('ok', { exp: nowSec + 190 })).toBe(true);
    expect(clock.nextDelay()).toBe(90_000);
  });

  it('reports a refused refresh as unauthorized and does not retry', async () => {
    const { clock, errors, refresher, reply } = setup([jwt({ sub: 'v', exp: nowSec + 200 })]);
    refresher.use(jwt({ sub: 'u', iat: nowSec, exp: nowSec + 10 }));
    refresher.start();
    clock.advance(9_000);
    await flushMicrotasks();
    reply('error', { reason: 'token is for another user' });
    expect(errors.map((e) => [e.code, e.message])).toEqual([['unauthorized', 'token refresh refused: token is for another user']]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('asks again a second later when the server answers "rate limited", reporting nothing', async () => {
    const renewed = jwt({ sub: 'u', exp: nowSec + 200 });
    const { clock, errors, sent, refresher, reply } = setup([jwt({ sub: 'u', exp: nowSec + 100 }), renewed]);
    refresher.use(jwt({ sub: 'u', iat: nowSec, exp: nowSec + 10 }));
    refresher.start();
    clock.advance(9_000);
    await flushMicrotasks();
    reply('error', { reason: 'rate limited' });
    expect(errors).toEqual([]);
    expect(clock.nextDelay()).toBe(1_000);
    clock.advance(1_000);
    await flushMicrotasks();
    expect(sent).toHaveLength(2);
    expect(sent[1]?.payload).toEqual({ token: renewed });
  });

  it('stops quietly against a server that does not know plume:token', async () => {
    const { clock, errors, refresher, reply } = setup([jwt({ sub: 'u', exp: nowSec + 200 })]);
    refresher.use(jwt({ sub: 'u', exp: nowSec + 10 }));
    refresher.start();
    clock.advance(9_000);
    await flushMicrotasks();
    reply('error', { reason: 'unmatched topic' });
    expect(errors).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('reports a failing token function, and asks again no faster than once a second for the same token', async () => {
    const token = jwt({ sub: 'u', exp: nowSec + 10 });
    const same = setup([token]);
    same.refresher.use(token);
    same.refresher.start();
    same.clock.advance(9_000);
    await flushMicrotasks();
    expect(same.sent).toEqual([]);
    expect(same.clock.nextDelay()).toBe(1_000);

    const failing = setup([new Error('login expired')]);
    failing.refresher.use(token);
    failing.refresher.start();
    failing.clock.advance(9_000);
    await flushMicrotasks();
    expect(failing.errors.map((e) => e.message)).toEqual(['the token function failed']);
  });

  it('ignores replies that are not its own, and a token function that answers after stop()', async () => {
    const { clock, sent, refresher } = setup([jwt({ sub: 'u', exp: nowSec + 200 })]);
    refresher.use(jwt({ sub: 'u', exp: nowSec + 10 }));
    expect(refresher.answer({ joinRef: null, ref: '7', topic: 'phoenix', event: 'phx_reply', payload: { status: 'ok', response: {} } })).toBe(false);
    refresher.start();
    clock.advance(9_000);
    refresher.stop();
    await flushMicrotasks();
    expect(sent).toEqual([]);
  });

  it('does nothing for a token it cannot read', () => {
    const { clock, refresher } = setup(['x']);
    refresher.use('opaque');
    refresher.start();
    expect(clock.pendingTimers).toBe(0);
  });
});
