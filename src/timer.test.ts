import { describe, expect, it } from 'vitest';
import { FakeClock } from '../test/fakes';
import { RetryTimer, backoff } from './timer';

describe('backoff', () => {
  const options = { baseMs: 100, maxMs: 1_000 };

  it('stays in the upper half of an exponentially growing cap', () => {
    for (let tries = 1; tries <= 8; tries++) {
      const cap = Math.min(1_000, 100 * 2 ** (tries - 1));
      expect(backoff(tries, options, () => 0)).toBe(cap / 2);
      expect(backoff(tries, options, () => 1)).toBe(cap);
    }
  });

  it('never exceeds maxMs, even after very many tries', () => {
    expect(backoff(10_000, options, () => 1)).toBe(1_000);
  });
});

describe('RetryTimer', () => {
  it('counts tries, fires once per schedule, and forgets tries on reset', () => {
    const clock = new FakeClock();
    let fired = 0;
    const timer = new RetryTimer(clock, () => fired++, (tries) => tries * 10);
    expect(timer.schedule()).toBe(10);
    expect(timer.schedule()).toBe(20); // replaces the first
    clock.advance(20);
    expect(fired).toBe(1);
    expect(timer.tries).toBe(2);
    timer.reset();
    expect(timer.schedule()).toBe(10);
    timer.cancel();
    clock.advance(100);
    expect(fired).toBe(1);
  });
});
