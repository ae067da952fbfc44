/**
 * Folded entries in MemoryHistory (PROTOCOL.md §7): kept by position and
 * event only, in runs that share one record, counted small, expiring on
 * time, and never confused with the payload entries around them.
 */
import { describe, expect, it } from 'vitest';
import { FOLDED_OVERHEAD, QuotaExceeded, type NewBroadcast } from '../engine';
import { MemoryHistory } from './history';

const doc = (user = 'ada', event = 'plume:doc'): NewBroadcast => ({ event, payloadJson: '', payloadBytes: Buffer.from([2, 1, 2, 3, 4, 5]), binary: true, folded: true, exclude: null, user });
const msg = (n: number): NewBroadcast => {
  const payloadJson = JSON.stringify({ n });
  return { event: 'm', payloadJson, payloadBytes: Buffer.from(payloadJson), exclude: null, user: '' };
};
const DOC_COST = 'plume:doc'.length + FOLDED_OVERHEAD;

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

describe('folded entries', () => {
  it('read back as their position and event, without a payload, between whole entries', () => {
    const history = new MemoryHistory();
    history.append('room:a', doc());
    history.append('room:a', msg(2));
    history.append('room:a', doc());
    history.append('room:a', doc('bob'));
    const { entries } = history.read('room:a', 1, 4, 10);
    expect(entries.map(({ seq, event, payloadJson, binary, folded }) => ({ seq, event, payloadJson, binary, folded }))).toEqual([
      { seq: 1, event: 'plume:doc', payloadJson: '', binary: undefined, folded: true },
      { seq: 2, event: 'm', payloadJson: '{"n":2}', binary: undefined, folded: undefined },
      { seq: 3, event: 'plume:doc', payloadJson: '', binary: undefined, folded: true },
      { seq: 4, event: 'plume:doc', payloadJson: '', binary: undefined, folded: true },
    ]);
  });

  it('count their event and a small overhead, not their payload, for the topic, the sender and in all; and go with the ring', () => {
    const history = new MemoryHistory({ limit: 3, maxBytesPerUser: 5 * DOC_COST });
    for (let i = 0; i < 5; i++) history.append('room:a', doc());
    expect(history.memory().heldBytes).toBe(3 * DOC_COST);
    expect(history.userBytes('ada')).toBe(3 * DOC_COST);
    expect(history.read('room:a', 1, 5, 10)).toMatchObject({ oldest: 3, complete: false, entries: [{ seq: 3 }, { seq: 4 }, { seq: 5 }] });
    // Nothing of theirs sits in the payload chunks.
    expect(history.memory().allocatedBytes).toBe(0);
  });

  it('refuse a sender over its share like any entry', () => {
    const history = new MemoryHistory({ maxBytesPerUser: 2 * DOC_COST });
    history.append('room:a', doc());
    history.append('room:a', doc());
    expect(() => history.append('room:a', doc())).toThrow(QuotaExceeded);
    expect(history.append('room:a', doc('bob')).seq).toBe(3);
  });

  it('expire by their own time: a run shared by entries appended within a second, later ones start another', () => {
    const time = clock();
    const history = new MemoryHistory({ maxAgeMs: 10_000, now: time.now });
    for (let i = 0; i < 3; i++) history.append('room:a', doc());
    time.advance(1500);
    history.append('room:a', doc());
    history.append('room:a', doc());
    time.advance(10_000 - 1500 + 1);
    expect(history.window('room:a')).toMatchObject({ head: 5, oldest: 4 });
    expect(history.memory().heldBytes).toBe(2 * DOC_COST);
    time.advance(1500);
    expect(history.window('room:a')).toMatchObject({ head: 5, oldest: 6 });
    expect(history.memory().heldBytes).toBe(0);
  });

  it('a run is split by an entry of another kind, another event or a message id, and each part reads back as it was', () => {
    const history = new MemoryHistory();
    history.append('room:a', doc());
    history.append('room:a', doc('ada', 'plume:other'));
    history.append('room:a', { ...doc(), id: 'x-1' });
    history.append('room:a', doc());
    history.append('room:a', msg(5));
    history.append('room:a', doc());
    const { entries } = history.read('room:a', 1, 6, 10);
    expect(entries.map((e) => [e.seq, e.event, e.folded ?? false, e.id])).toEqual([
      [1, 'plume:doc', true, undefined], [2, 'plume:other', true, undefined], [3, 'plume:doc', true, 'x-1'],
      [4, 'plume:doc', true, undefined], [5, 'm', false, undefined], [6, 'plume:doc', true, undefined],
    ]);
  });
});
