import { describe, expect, it } from 'vitest';
import { continuesRun, GROUP_PAUSE_MS } from './grouping';

const at = (name: string, sentAt: number, mine = false) => ({ name, mine, sentAt });

describe('continuesRun', () => {
  it('groups one person\'s messages sent close together', () => {
    expect(continuesRun(at('Ada', 0), at('Ada', 30_000))).toBe(true);
  });

  it('starts a new run for the first message, another person, or after a pause', () => {
    expect(continuesRun(null, at('Ada', 0))).toBe(false);
    expect(continuesRun(at('Ada', 0), at('Bruno', 1_000))).toBe(false);
    expect(continuesRun(at('Ada', 0), at('Ada', GROUP_PAUSE_MS))).toBe(false);
  });

  it('does not group our message with someone else\'s of the same name', () => {
    expect(continuesRun(at('Ada', 0, true), at('Ada', 1_000, false))).toBe(false);
  });

  it('groups a message the server put just before a slightly earlier one (clocks differ)', () => {
    expect(continuesRun(at('Ada', 10_000), at('Ada', 9_000))).toBe(true);
  });
});
