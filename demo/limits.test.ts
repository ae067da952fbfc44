import { describe, expect, it } from 'vitest';
import { charCount, checkLimit, counterText } from './limits';

describe('charCount', () => {
  it('counts code points: an emoji or a CJK character is one', () => {
    expect(charCount('日本☕')).toBe(3);
    expect(charCount('a😀b')).toBe(3);
  });
});

describe('checkLimit', () => {
  it('is ok well within the limit, near from 80% of it, over past it', () => {
    expect(checkLimit('x'.repeat(1_599), 2_000).state).toBe('ok');
    expect(checkLimit('x'.repeat(1_600), 2_000).state).toBe('near');
    expect(checkLimit('x'.repeat(2_000), 2_000)).toEqual({ count: 2_000, limit: 2_000, state: 'near', over: 0 });
    expect(checkLimit('x'.repeat(2_001), 2_000)).toEqual({ count: 2_001, limit: 2_000, state: 'over', over: 1 });
  });

  it('counts an emoji once', () => {
    expect(checkLimit('😀'.repeat(32), 32).state).toBe('near');
  });
});

describe('counterText', () => {
  const tooMany = (n: string) => `${n} too many to send.`;

  it('shows the count against the limit, with separators', () => {
    expect(counterText(checkLimit('x'.repeat(1_980), 2_000), tooMany)).toBe('1,980 / 2,000');
  });

  it('over the limit, says by how much', () => {
    expect(counterText(checkLimit('x'.repeat(102_000), 2_000), tooMany)).toBe('102,000 / 2,000: 100,000 too many to send.');
  });
});
