import { describe, expect, it } from 'vitest';
import { TokenBucket } from './bucket';

describe('TokenBucket', () => {
  it('spends a burst at once, then only what the rate refills, and never more than its capacity', () => {
    const bucket = new TokenBucket(3, 2, 0);
    expect([bucket.take(1, 0), bucket.take(1, 0), bucket.take(1, 0), bucket.take(1, 0)]).toEqual([true, true, true, false]);
    expect(bucket.take(1, 499)).toBe(false);
    expect(bucket.take(1, 500)).toBe(true);
    expect(bucket.take(2, 10_000)).toBe(true); // a long pause refills to the capacity, not beyond
    expect(bucket.take(2, 10_000)).toBe(false);
  });

  it('takes nothing when it refuses, and refills nothing when the clock steps back', () => {
    const bucket = new TokenBucket(2, 1, 1000);
    expect(bucket.take(3, 1000)).toBe(false);
    expect(bucket.take(2, 1000)).toBe(true);
    expect(bucket.take(1, 0)).toBe(false);
    expect(bucket.take(1, 2000)).toBe(true);
  });
});

describe('TokenBucket.spend', () => {
  it('goes into debt and pays it back at its rate before it holds anything again', () => {
    const bucket = new TokenBucket(10, 10, 0);
    bucket.spend(25, 0);
    expect(bucket.level(0)).toBe(-15);
    expect(bucket.has(1, 1000)).toBe(false); // -5 after a second
    expect(bucket.level(2000)).toBe(5);
    expect(bucket.level(60_000)).toBe(10);
  });
});
