/**
 * Dedupe (PROTOCOL.md §7, "Message ids and deduplication"): a message id is
 * applied at most once within the window; retries get the original outcome.
 */
import { describe, expect, it, vi } from 'vitest';
import { Dedupe, type Outcome } from './dedupe';

const position = { epoch: 'e1', seq: 7 };
const okOutcome: Outcome = { kind: 'reply', reply: { status: 'ok', response: { n: 1 } }, position };

/** Records every answer as `[outcome, duplicate]`. */
function answers(): { answer: (outcome: Outcome, duplicate: boolean) => void; all: Array<[Outcome, boolean]> } {
  const all: Array<[Outcome, boolean]> = [];
  return { answer: (outcome, duplicate) => all.push([outcome, duplicate]), all };
}

/** Runs `key` to completion with `outcome`; returns whether the handler ran. */
function runDone(dedupe: Dedupe, key: string, outcome: Outcome = okOutcome, answer = answers().answer): boolean {
  let ran = false;
  dedupe.run(key, (finish) => {
    ran = true;
    finish(outcome);
  }, answer);
  return ran;
}

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

describe('Dedupe', () => {
  it('runs a new id and answers with its outcome, not as a duplicate', () => {
    const dedupe = new Dedupe();
    const { answer, all } = answers();
    expect(runDone(dedupe, 'k', okOutcome, answer)).toBe(true);
    expect(all).toEqual([[okOutcome, false]]);
    expect(dedupe.size).toBe(1);
  });

  it('answers a handled id with the recorded outcome as a duplicate, without running the handler', () => {
    const dedupe = new Dedupe();
    runDone(dedupe, 'k');
    const { answer, all } = answers();
    const handler = vi.fn();
    dedupe.run('k', handler, answer);
    expect(handler).not.toHaveBeenCalled();
    expect(all).toEqual([[okOutcome, true]]);
  });

  it('records a handler that chose not to reply, and answers retries with that', () => {
    const dedupe = new Dedupe();
    const none: Outcome = { kind: 'reply', reply: null, position: null };
    runDone(dedupe, 'k', none);
    const { answer, all } = answers();
    expect(runDone(dedupe, 'k', okOutcome, answer)).toBe(false);
    expect(all).toEqual([[none, true]]);
  });

  it('answers a retry that raced the original when the original finishes', () => {
    const dedupe = new Dedupe();
    const first = answers();
    const second = answers();
    let finish!: (outcome: Outcome) => void;
    dedupe.run('k', (f) => (finish = f), first.answer);
    const handler = vi.fn();
    dedupe.run('k', handler, second.answer);
    expect(handler).not.toHaveBeenCalled();
    expect(first.all).toEqual([]);
    expect(second.all).toEqual([]);
    finish(okOutcome);
    expect(first.all).toEqual([[okOutcome, false]]);
    expect(second.all).toEqual([[okOutcome, true]]);
  });

  it('ignores a second finish of the same run', () => {
    const dedupe = new Dedupe();
    const { answer, all } = answers();
    let finish!: (outcome: Outcome) => void;
    dedupe.run('k', (f) => (finish = f), answer);
    finish(okOutcome);
    finish({ kind: 'crashed' });
    expect(all).toEqual([[okOutcome, false]]);
    const retry = answers();
    dedupe.run('k', vi.fn(), retry.answer);
    expect(retry.all).toEqual([[okOutcome, true]]);
  });

  it('forgets an aborted id, so that a retry runs the handler again', () => {
    const dedupe = new Dedupe();
    const first = answers();
    const raced = answers();
    let finish!: (outcome: Outcome) => void;
    dedupe.run('k', (f) => (finish = f), first.answer);
    dedupe.run('k', vi.fn(), raced.answer);
    finish({ kind: 'aborted' });
    expect(first.all).toEqual([[{ kind: 'aborted' }, false]]);
    expect(raced.all).toEqual([[{ kind: 'aborted' }, true]]);
    expect(dedupe.size).toBe(0);
    expect(runDone(dedupe, 'k')).toBe(true);
  });

  it('records a crash, so that a retry is answered crashed instead of running again', () => {
    const dedupe = new Dedupe();
    runDone(dedupe, 'k', { kind: 'crashed' });
    const { answer, all } = answers();
    expect(runDone(dedupe, 'k', okOutcome, answer)).toBe(false);
    expect(all).toEqual([[{ kind: 'crashed' }, true]]);
  });

  it('keeps keys apart', () => {
    const dedupe = new Dedupe();
    runDone(dedupe, 'ada\u0000room:a\u0000id1');
    expect(runDone(dedupe, 'bob\u0000room:a\u0000id1')).toBe(true);
    expect(runDone(dedupe, 'ada\u0000room:b\u0000id1')).toBe(true);
    expect(runDone(dedupe, 'ada\u0000room:a\u0000id1')).toBe(false);
  });

  describe('window', () => {
    it('still dedupes an id exactly windowMs old, and runs it again 1 ms later', () => {
      const time = clock();
      const dedupe = new Dedupe({ windowMs: 1000, now: time.now });
      runDone(dedupe, 'k');
      time.advance(1000);
      expect(runDone(dedupe, 'k')).toBe(false);
      time.advance(1);
      expect(runDone(dedupe, 'k')).toBe(true);
    });

    it('forgets expired ids oldest first, keeping younger ones', () => {
      const time = clock();
      const dedupe = new Dedupe({ windowMs: 1000, now: time.now });
      runDone(dedupe, 'old');
      time.advance(600);
      runDone(dedupe, 'young');
      time.advance(401); // old is 1001 ms old, young 401 ms
      expect(runDone(dedupe, 'young')).toBe(false);
      expect(runDone(dedupe, 'old')).toBe(true);
    });

    it('never forgets an id whose handler is still running, even past the window', () => {
      const time = clock();
      const dedupe = new Dedupe({ windowMs: 1000, now: time.now });
      const first = answers();
      let finish!: (outcome: Outcome) => void;
      dedupe.run('slow', (f) => (finish = f), first.answer);
      time.advance(5000);
      const retry = answers();
      const handler = vi.fn();
      dedupe.run('slow', handler, retry.answer);
      expect(handler).not.toHaveBeenCalled();
      finish(okOutcome);
      expect(retry.all).toEqual([[okOutcome, true]]);
    });
    it('forgets expired ids behind one whose handler is still running', () => {
      const time = clock();
      const dedupe = new Dedupe({ windowMs: 1000, now: time.now });
      dedupe.run('stuck', () => {}, answers().answer); // never finishes
      runDone(dedupe, 'done');
      time.advance(1001);
      runDone(dedupe, 'other'); // any call evicts what is due
      expect(dedupe.size).toBe(2); // 'stuck' and 'other': 'done' is gone
      expect(runDone(dedupe, 'done')).toBe(true);
    });
  });

  describe('entry cap', () => {
    it('evicts the oldest handled id when full, reporting its age as an early eviction', () => {
      const time = clock();
      const early = vi.fn();
      const dedupe = new Dedupe({ maxEntries: 3, windowMs: 10_000, now: time.now, onEarlyEviction: early });
      for (const key of ['a', 'b', 'c']) {
        runDone(dedupe, key);
        time.advance(100);
      }
      runDone(dedupe, 'd'); // full: a (300 ms old) goes
      expect(dedupe.size).toBe(3);
      expect(early).toHaveBeenCalledTimes(1);
      expect(early).toHaveBeenCalledWith(300);
      runDone(dedupe, 'e'); // b goes
      expect(early).toHaveBeenLastCalledWith(200);
      expect(runDone(dedupe, 'b')).toBe(true); // forgotten: runs again (and evicts c)
      expect(early).toHaveBeenCalledTimes(3);
      expect(runDone(dedupe, 'c')).toBe(true);
    });

    it('answers a retry of the oldest remembered id as a duplicate when full: a lookup evicts nothing', () => {
      const early = vi.fn();
      const dedupe = new Dedupe({ maxEntries: 3, onEarlyEviction: early });
      for (const key of ['a', 'b', 'c']) runDone(dedupe, key);
      expect(runDone(dedupe, 'a')).toBe(false);
      expect(runDone(dedupe, 'b')).toBe(false);
      expect(runDone(dedupe, 'c')).toBe(false);
      expect(dedupe.size).toBe(3);
      expect(early).not.toHaveBeenCalled();
    });

    it('does not report evicting an id that was past the window anyway', () => {
      const time = clock();
      const early = vi.fn();
      const dedupe = new Dedupe({ maxEntries: 2, windowMs: 100, now: time.now, onEarlyEviction: early });
      runDone(dedupe, 'a');
      runDone(dedupe, 'b');
      time.advance(101);
      runDone(dedupe, 'c');
      expect(early).not.toHaveBeenCalled();
      expect(dedupe.size).toBe(1);
    });

    it('skips ids still being handled and evicts the next handled one', () => {
      const time = clock();
      const dedupe = new Dedupe({ maxEntries: 2, now: time.now, onEarlyEviction: () => {} });
      let finish!: (outcome: Outcome) => void;
      dedupe.run('pending', (f) => (finish = f), answers().answer);
      time.advance(10);
      runDone(dedupe, 'done');
      time.advance(10);
      runDone(dedupe, 'new'); // full: 'pending' is kept, 'done' goes
      expect(runDone(dedupe, 'done')).toBe(true);
      const retry = answers();
      dedupe.run('pending', vi.fn(), retry.answer);
      finish(okOutcome);
      expect(retry.all).toEqual([[okOutcome, true]]);
    });
  });
});
