import { describe, expect, it } from 'vitest';
import { InboundRate } from './inbound';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './rates';

const limits: RateLimits = { ...DEFAULT_RATE_LIMITS, framesPerSecond: 10, frameBurst: 20, bytesPerSecond: 1000, byteBurst: 2000, maxThrottleMs: 5000 };

/**
 * A socket that always has another frame of `size` bytes ready, held back as the server says:
 * returns when each frame was handled (ms), or where it was closed.
 */
function flood(rate: InboundRate, count: number, size: number): { handledAt: number[]; closedAt: number | null } {
  const handledAt: number[] = [];
  let now = 0;
  while (handledAt.length < count) {
    const verdict = rate.admit(size, now);
    if (verdict === 'close') return { handledAt, closedAt: now };
    if (verdict === 'pass') handledAt.push(now);
    else now += rate.waitMs(size, now);
  }
  return { handledAt, closedAt: null };
}

describe('InboundRate', () => {
  it('passes a burst at once, then holds the socket back to its rate, a tenth of the burst at a time', () => {
    const { handledAt } = flood(new InboundRate(limits, 0), 30, 1);
    expect(handledAt.slice(0, 20)).toEqual(Array(20).fill(0));
    // 2 frames (a tenth of the burst) refill in 200 ms at 10 a second: they go together.
    expect(handledAt.slice(20)).toEqual([200, 200, 400, 400, 600, 600, 800, 800, 1000, 1000]);
  });

  it('counts bytes as well as frames: large frames wait before the frame budget is spent', () => {
    const rate = new InboundRate(limits, 0);
    expect([rate.admit(900, 0), rate.admit(900, 0), rate.admit(900, 0)]).toEqual(['pass', 'pass', 'wait']);
    expect(rate.waitMs(900, 0)).toBe(700); // 200 held; 900 needed, at 1,000 bytes a second
  });

  it('closes a socket that stays throttled for maxThrottleMs, having served it at its rate meanwhile', () => {
    const { handledAt, closedAt } = flood(new InboundRate(limits, 0), 1_000, 1);
    expect(closedAt).toBeGreaterThanOrEqual(5000);
    expect(closedAt).toBeLessThan(5300);
    expect(handledAt.length).toBeGreaterThanOrEqual(20 + 48); // the burst, then 10 a second
    expect(handledAt.length).toBeLessThanOrEqual(20 + 52);
  });

  it('forgets the throttling once the socket lets its buckets refill to half: a burst now and then is never closed', () => {
    const rate = new InboundRate(limits, 0);
    let closed = false;
    for (let t = 0; t < 60_000; t += 3000) {
      // 25 frames every 3 s: past the burst each time (5 wait), under the rate on average.
      let now = t;
      for (let i = 0; i < 25; i++) {
        let verdict = rate.admit(1, now);
        while (verdict === 'wait') {
          now += rate.waitMs(1, now);
          verdict = rate.admit(1, now);
        }
        if (verdict === 'close') closed = true;
      }
    }
    expect(closed).toBe(false);
  });

  it('refills nothing when the clock steps back', () => {
    const rate = new InboundRate(limits, 1000);
    for (let i = 0; i < 20; i++) rate.admit(1, 1000);
    expect(rate.admit(1, 0)).toBe('wait');
  });
});
