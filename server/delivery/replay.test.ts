/**
 * Recovery decisions (PROTOCOL.md §7, "Joining with recovery" and "Filling
 * gaps"): what a join replays and whether it says `recovered`, and what a
 * `plume:history` page holds.
 */
import { describe, expect, it } from 'vitest';
import type { StoredBroadcast } from '../engine/engine';
import { MemoryHistory } from '../engine/memory/history';
import { MemoryLog } from '../engine/memory/log';
import { historyPage, parseHistoryRequest, planJoin } from './replay';

/** The engine's log over a memory history, with topic `t`'s epoch at hand. */
class TestLog extends MemoryLog {
  constructor(private readonly store: MemoryHistory) {
    super(store, (error) => {
      throw error;
    });
  }

  get epoch(): string {
    return this.store.window('t').epoch;
  }
}

/** A history of `count` broadcasts on topic `t`, keeping at most `limit`. */
function historyOf(count: number, limit = 1000, ids = false): TestLog {
  const history = new MemoryHistory({ limit });
  for (let n = 1; n <= count; n++) {
    const payloadJson = JSON.stringify({ n });
    history.append('t', { event: n % 2 ? 'odd' : 'even', payloadJson, payloadBytes: Buffer.from(payloadJson), exclude: null, user: '', ...(ids ? { id: `m${n}` } : {}) });
  }
  return new TestLog(history);
}

const seqs = (entries: readonly { seq: number }[]) => entries.map((e) => e.seq);

describe('planJoin', () => {
  it('replays everything after `since` of the same epoch, recovered', async () => {
    const history = historyOf(10);
    const plan = await planJoin(history, 't', { since: { epoch: history.epoch, seq: 6 } }, 1000);
    expect(plan.meta).toEqual({ epoch: history.epoch, seq: 10, from: 7, recovered: true });
    expect(seqs(plan.entries)).toEqual([7, 8, 9, 10]);
  });

  it('replays nothing for a client that is up to date, recovered', async () => {
    const history = historyOf(10);
    const plan = await planJoin(history, 't', { since: { epoch: history.epoch, seq: 10 } }, 1000);
    expect(plan.meta).toEqual({ epoch: history.epoch, seq: 10, from: 11, recovered: true });
    expect(plan.entries).toEqual([]);
  });

  it('recovers a client whose next seq is exactly the oldest held', async () => {
    const history = historyOf(10, 4); // holds 7..10
    const plan = await planJoin(history, 't', { since: { epoch: history.epoch, seq: 6 } }, 1000);
    expect(plan.meta).toMatchObject({ from: 7, recovered: true });
    expect(seqs(plan.entries)).toEqual([7, 8, 9, 10]);
  });

  it('says recovered: false when `since` is older than the oldest held, replaying from the oldest', async () => {
    const history = historyOf(10, 4); // holds 7..10; 6 is gone
    const plan = await planJoin(history, 't', { since: { epoch: history.epoch, seq: 5 } }, 1000);
    expect(plan.meta).toEqual({ epoch: history.epoch, seq: 10, from: 7, recovered: false });
    expect(seqs(plan.entries)).toEqual([7, 8, 9, 10]);
  });

  it('says recovered: false for a `since` of another epoch, replaying what is held', async () => {
    const history = historyOf(3);
    const plan = await planJoin(history, 't', { since: { epoch: 'before-restart', seq: 2 } }, 1000);
    expect(plan.meta).toEqual({ epoch: history.epoch, seq: 3, from: 1, recovered: false });
    expect(seqs(plan.entries)).toEqual([1, 2, 3]);
  });

  it('says recovered: false for a `since` ahead of the head', async () => {
    const history = historyOf(3);
    const plan = await planJoin(history, 't', { since: { epoch: history.epoch, seq: 9 } }, 1000);
    expect(plan.meta).toMatchObject({ seq: 3, from: 1, recovered: false });
  });

  it('says recovered: false for a `since` of another epoch on a topic with no history', async () => {
    const history = new TestLog(new MemoryHistory());
    const plan = await planJoin(history, 't', { since: { epoch: 'old', seq: 4 } }, 1000);
    expect(plan.meta).toEqual({ epoch: history.epoch, seq: 0, from: 1, recovered: false });
    expect(plan.entries).toEqual([]);
  });

  it('replays nothing on a first join without `history`, recovered', async () => {
    const history = historyOf(5);
    for (const meta of [undefined, {}, { history: 0 }]) {
      const plan = await planJoin(history, 't', meta, 1000);
      expect(plan.meta).toEqual({ epoch: history.epoch, seq: 5, from: 6, recovered: true });
      expect(plan.entries).toEqual([]);
    }
  });

  it('replays the latest N on a first join with `history: N`', async () => {
    const history = historyOf(10);
    const plan = await planJoin(history, 't', { history: 3 }, 1000);
    expect(plan.meta).toEqual({ epoch: history.epoch, seq: 10, from: 8, recovered: true });
    expect(seqs(plan.entries)).toEqual([8, 9, 10]);
    expect(plan.entries.map((e) => JSON.parse(e.payloadJson))).toEqual([{ n: 8 }, { n: 9 }, { n: 10 }]);
  });

  it('replays only what is held when `history` asks for more', async () => {
    const history = historyOf(10, 4);
    const plan = await planJoin(history, 't', { history: 50 }, 1000);
    expect(plan.meta.from).toBe(7);
    expect(seqs(plan.entries)).toEqual([7, 8, 9, 10]);
  });

  it('caps `history` at the server\'s maximum replay', async () => {
    const history = historyOf(10);
    const plan = await planJoin(history, 't', { history: 1_000_000 }, 4);
    expect(plan.meta.from).toBe(7);
    expect(seqs(plan.entries)).toEqual([7, 8, 9, 10]);
  });

  it('ignores a malformed `history` or `since`', async () => {
    const history = historyOf(5);
    for (const meta of [{ history: -3 }, { history: 2.5 }, { history: '3' }, { since: 'x' }, { since: { epoch: 1, seq: 2 } }, { since: { epoch: history.epoch, seq: -1 } }]) {
      const plan = await planJoin(history, 't', meta, 1000);
      expect(plan.meta).toEqual({ epoch: history.epoch, seq: 5, from: 6, recovered: true });
    }
  });

  it('gives `since` precedence over `history`', async () => {
    const history = historyOf(10);
    const plan = await planJoin(history, 't', { since: { epoch: history.epoch, seq: 9 }, history: 5 }, 1000);
    expect(seqs(plan.entries)).toEqual([10]);
  });
});

describe('parseHistoryRequest', () => {
  it('accepts {epoch, from, to} with 1 <= from <= to', async () => {
    expect(parseHistoryRequest({ epoch: 'e', from: 1, to: 1 })).toEqual({ epoch: 'e', from: 1, to: 1 });
    expect(parseHistoryRequest({ epoch: 'e', from: 4, to: 9, extra: true })).toEqual({ epoch: 'e', from: 4, to: 9 });
  });

  it.each([
    ['a missing epoch', { from: 1, to: 2 }],
    ['a numeric epoch', { epoch: 5, from: 1, to: 2 }],
    ['from 0', { epoch: 'e', from: 0, to: 2 }],
    ['to before from', { epoch: 'e', from: 3, to: 2 }],
    ['a fractional from', { epoch: 'e', from: 1.5, to: 2 }],
    ['a string to', { epoch: 'e', from: 1, to: '2' }],
    ['an unsafe integer', { epoch: 'e', from: 1, to: 2 ** 60 }],
  ])('refuses %s', (_what, payload) => {
    expect(parseHistoryRequest(payload)).toBeNull();
  });
});

describe('historyPage', () => {
  const everything = (entry: StoredBroadcast) => JSON.parse(entry.payloadJson) as Record<string, unknown>;

  it('lists the held range in order, with event, payload and id', async () => {
    const history = historyOf(5, 1000, true);
    const page = await historyPage(history, 't', { epoch: history.epoch, from: 2, to: 3 }, 500, everything);
    expect(page).toEqual({
      epoch: history.epoch,
      complete: true,
      entries: [
        { seq: 2, event: 'even', payload: { n: 2 }, id: 'm2' },
        { seq: 3, event: 'odd', payload: { n: 3 }, id: 'm3' },
      ],
    });
  });

  it('leaves `id` out for broadcasts made without one', async () => {
    const history = historyOf(1);
    const page = await historyPage(history, 't', { epoch: history.epoch, from: 1, to: 1 }, 500, everything);
    expect(page.entries).toEqual([{ seq: 1, event: 'odd', payload: { n: 1 } }]);
  });

  it('turns entries the view drops into skips and shows the view\'s payload for the rest', async () => {
    const history = historyOf(4);
    const view = (entry: StoredBroadcast) => (entry.event === 'odd' ? null : { n: JSON.parse(entry.payloadJson).n, seen: true });
    const page = await historyPage(history, 't', { epoch: history.epoch, from: 1, to: 4 }, 500, view);
    expect(page.entries).toEqual([
      { seq: 1, skip: true },
      { seq: 2, event: 'even', payload: { n: 2, seen: true } },
      { seq: 3, skip: true },
      { seq: 4, event: 'even', payload: { n: 4, seen: true } },
    ]);
  });

  it('cuts a long range at the page size, still complete', async () => {
    const history = historyOf(20);
    const page = await historyPage(history, 't', { epoch: history.epoch, from: 1, to: 20 }, 5, everything);
    expect(seqs(page.entries)).toEqual([1, 2, 3, 4, 5]);
    expect(page.complete).toBe(true);
  });

  it('says complete: false for a range history no longer holds', async () => {
    const history = historyOf(10, 3); // holds 8..10
    const page = await historyPage(history, 't', { epoch: history.epoch, from: 6, to: 9 }, 500, everything);
    expect(page.complete).toBe(false);
    expect(seqs(page.entries)).toEqual([8, 9]);
  });

  it('answers a request for another epoch with the current epoch, incomplete and empty', async () => {
    const history = historyOf(3);
    const page = await historyPage(history, 't', { epoch: 'old', from: 1, to: 3 }, 500, everything);
    expect(page).toEqual({ epoch: history.epoch, complete: false, entries: [] });
  });
});

describe('byte limits on replays and pages', () => {
  it('stops a join replay at maxBytes of payload but still reports the head and a recovery', async () => {
    const history = historyOf(10); // each payload is '{"n":N}', 7-8 bytes
    const plan = await planJoin(history, 't', { since: { epoch: history.epoch, seq: 0 } }, 1000, 20);
    expect(seqs(plan.entries)).toEqual([1, 2]);
    expect(plan.meta).toMatchObject({ seq: 10, from: 1, recovered: true });
  });

  it('always carries at least one entry, however large', async () => {
    const history = historyOf(3);
    expect(seqs((await planJoin(history, 't', { since: { epoch: history.epoch, seq: 0 } }, 1000, 1)).entries)).toEqual([1]);
    const page = await historyPage(history, 't', { epoch: history.epoch, from: 1, to: 3 }, 500, (e) => JSON.parse(e.payloadJson), 1);
    expect(page.entries.map((e) => e.seq)).toEqual([1]);
    expect(page.complete).toBe(true);
  });
});
