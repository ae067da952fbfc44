import { describe, expect, it } from 'vitest';
import { DEMOTE_MS, REPORT_WINDOW_MS, STRIKE_JUDGE_MS, STRIKE_SPAN_MS, STRIKE_WINDOW_MS, Trust } from './trust';

const here = () => true;

/** A trust where `p` relays to children c1..c3 from position 1 of epoch e. */
function relaying(): Trust {
  const trust = new Trust();
  trust.replanned(new Map([['c1', 'p'], ['c2', 'p'], ['c3', 'p']]));
  for (let seq = 1; seq <= 10; seq++) trust.announced('e', seq, true);
  return trust;
}

describe('Trust: strikes', () => {
  it('demotes a relay struck three times by members of two users, once judged', () => {
    const trust = relaying();
    expect(trust.repaired('c1', 'u1', 'e', 3, 4, 0)).toBe(true);
    expect(trust.repaired('c2', 'u2', 'e', 3, 4, 0)).toBe(true);
    expect(trust.judge(STRIKE_JUDGE_MS - 1, here)).toEqual([]); // not due yet
    expect(trust.judge(STRIKE_JUDGE_MS, here)).toEqual([]); // two strikes
    trust.repaired('c3', 'u3', 'e', 5, 5, 2000);
    expect(trust.judge(2000 + STRIKE_JUDGE_MS, here)).toEqual(['p']);
    expect(trust.demoted('p', 2000 + STRIKE_JUDGE_MS + DEMOTE_MS - 1)).toBe(true);
    expect(trust.demoted('p', 2000 + STRIKE_JUDGE_MS + DEMOTE_MS)).toBe(false);
  });

  it('does not demote a relay that was slow once: its strikes must span STRIKE_SPAN_MS', () => {
    const trust = relaying();
    for (const [child, user] of [['c1', 'u1'], ['c2', 'u2'], ['c3', 'u3']]) trust.repaired(child!, user!, 'e', 2, 2, 0);
    expect(trust.judge(STRIKE_JUDGE_MS, here)).toEqual([]);
    trust.repaired('c1', 'u1', 'e', 3, 3, STRIKE_SPAN_MS);
    expect(trust.judge(STRIKE_SPAN_MS + STRIKE_JUDGE_MS, here)).toEqual(['p']);
  });

  it('never takes one user\'s word, however many of its sockets or requests', () => {
    const trust = relaying();
    for (let t = 0; t < 10_000; t += 1000) {
      trust.repaired('c1', 'u1', 'e', 2, 2, t);
      trust.repaired('c2', 'u1', 'e', 2, 2, t);
      expect(trust.judge(t + STRIKE_JUDGE_MS, here)).toEqual([]);
    }
  });

  it('counts one strike per relay and member per judgement, and forgets strikes after the window', () => {
    const trust = relaying();
    for (let i = 0; i < 100; i++) trust.repaired('c1', 'u1', 'e', 2, 2, 0);
    trust.repaired('c2', 'u2', 'e', 2, 2, 0);
    expect(trust.judge(STRIKE_JUDGE_MS, here)).toEqual([]); // two strikes, not 101
    trust.repaired('c3', 'u3', 'e', 2, 2, STRIKE_WINDOW_MS + 1);
    expect(trust.judge(STRIKE_WINDOW_MS + 1 + STRIKE_JUDGE_MS, here)).toEqual([]); // the first two have aged out
  });

  it('strikes only for positions the relay carried: after the plan, before it changed, in its epoch, small enough', () => {
    const trust = new Trust();
    trust.announced('e', 1, true);
    trust.replanned(new Map([['c1', 'p'], ['c2', 'p']]));
    expect(trust.repaired('c1', 'u1', 'e', 1, 1, 0)).toBe(false); // sent before the plan
    trust.announced('e', 2, true);
    trust.announced('e', 3, false); // too large for peers
    expect(trust.repaired('c1', 'u1', 'e', 3, 3, 0)).toBe(false);
    expect(trust.repaired('c1', 'u1', 'f', 2, 2, 0)).toBe(false); // another epoch
    trust.linkDown('p', 'c2');
    trust.announced('e', 4, true);
    expect(trust.repaired('c2', 'u2', 'e', 4, 4, 0)).toBe(false); // after their link went down
    expect(trust.repaired('c2', 'u2', 'e', 2, 4, 0)).toBe(true); // 2 was still p's to carry
  });

  it('spares a relay that only passed on a gap from a relay demoted in the same judgement', () => {
    const trust = new Trust();
    // g relays to p and q; p relays to x and y.
    trust.replanned(new Map([['p', 'g'], ['q', 'g'], ['x', 'p'], ['y', 'p']]));
    trust.announced('e', 1, true);
    for (const [child, user] of [['p', 'up'], ['q', 'uq'], ['x', 'ux'], ['y', 'uy']] as const) trust.repaired(child, user, 'e', 1, 1, 0);
    expect(trust.judge(STRIKE_JUDGE_MS, here)).toEqual([]);
    trust.repaired('q', 'uq', 'e', 1, 1, 1000);
    trust.repaired('y', 'uy', 'e', 1, 1, 1000);
    expect(trust.judge(2 * STRIKE_JUDGE_MS, here)).toEqual(['g']);
  });

  it('spares a relay that only passed on a gap from a relay that left', () => {
    const trust = new Trust();
    trust.replanned(new Map([['p', 'g'], ['x', 'p'], ['y', 'p']]));
    trust.announced('e', 1, true);
    trust.repaired('p', 'up', 'e', 1, 1, 0);
    trust.left('g');
    for (const t of [0, 1000]) {
      trust.repaired('x', 'ux', 'e', 1, 1, t);
      trust.repaired('y', 'uy', 'e', 1, 1, t);
      expect(trust.judge(t + STRIKE_JUDGE_MS, (id) => id !== 'g')).toEqual([]);
    }
  });

  it('forgets a relay that left', () => {
    const trust = relaying();
    trust.repaired('c1', 'u1', 'e', 2, 2, 0);
    trust.repaired('c2', 'u2', 'e', 2, 2, 0);
    trust.repaired('c3', 'u3', 'e', 2, 2, 0);
    expect(trust.judge(STRIKE_JUDGE_MS, (id) => id !== 'p')).toEqual([]);
  });
});

describe('Trust: reports', () => {
  it('cuts a peer out only on the reports of two users within the window', () => {
    const trust = new Trust();
    expect(trust.reported('p', 'u1', 0)).toBe(false);
    expect(trust.reported('p', 'u1', 10)).toBe(false); // the same user again
    expect(trust.reported('p', 'u2', REPORT_WINDOW_MS + 11)).toBe(false); // the first one expired
    expect(trust.reported('p', 'u3', REPORT_WINDOW_MS + 12)).toBe(true);
  });

  it('keeps a reporter and the peer it reported apart for the window, both ways', () => {
    const trust = new Trust();
    trust.keepApart('a', 'b', 0);
    expect([trust.apart('a', 'b', 1), trust.apart('b', 'a', 1), trust.apart('a', 'c', 1)]).toEqual([true, true, false]);
    expect(trust.apart('a', 'b', REPORT_WINDOW_MS)).toBe(false);
  });
});
