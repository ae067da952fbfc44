import { describe, expect, it } from 'vitest';
import { SocketLimits } from './socket-limits';
import { DEFAULT_RATE_LIMITS, HISTORY_REQUEST_COST } from './rates';

function clock(): { now: number; read: () => number } {
  const c = { now: 0, read: () => c.now };
  return c;
}

describe('SocketLimits', () => {
  it('allows joinBurst joins at once, then joinsPerSecond', () => {
    const c = clock();
    const limits = new SocketLimits({ ...DEFAULT_RATE_LIMITS, joinBurst: 3, joinsPerSecond: 2 }, 1000, c.read);
    expect([limits.join(), limits.join(), limits.join(), limits.join()]).toEqual([true, true, true, false]);
    c.now = 500;
    expect(limits.join()).toBe(true);
    expect(limits.join()).toBe(false);
  });

  it('serves history pages of the page cap until the budget is overdrawn, then none until it is paid back', () => {
    const c = clock();
    const limits = new SocketLimits({ ...DEFAULT_RATE_LIMITS, historyBurstBytes: 10_000, historyBytesPerSecond: 1000 }, 4096, c.read);
    expect(limits.historyBytes()).toBe(4096);
    limits.historyServed(4096, true); // 10_000 - 5_120 left
    expect(limits.historyBytes()).toBe(4096);
    limits.historyServed(4096, true); // -240: a page may overdraw the budget
    expect(limits.historyBytes()).toBe(0);
    c.now = 240; // paid back at 1,000 bytes a second: 0, still nothing to spend
    expect(limits.historyBytes()).toBe(0);
    c.now = 241;
    expect(limits.historyBytes()).toBe(4096);
    expect(HISTORY_REQUEST_COST).toBe(1024);
  });

  it('turns every budget off with null rates, but keeps the page cap', () => {
    const limits = new SocketLimits(null, 777);
    const verdicts = new Set(Array.from({ length: 100_000 }, () => limits.frame(1_000_000)));
    const joins = new Set(Array.from({ length: 10_000 }, () => limits.join()));
    expect([...verdicts, ...joins]).toEqual(['pass', true]);
    limits.historyServed(1e12, true);
    expect(limits.historyBytes()).toBe(777);
  });
});
