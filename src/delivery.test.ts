import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../test/fakes';
import { Delivery, type DeliveryState, type HistoryPage, type Recovery } from './delivery';
import type { Message } from './protocol';

let clock: FakeClock;
let delivered: string[];
let reports: Recovery[];
let saved: DeliveryState[];
let folded: string[];
let fetches: Array<{ epoch: string; from: number; to: number; answer: (page: HistoryPage | null) => void }>;

function frame(seq: number, body = `m${seq}`, epoch = 'e1', id?: string): Message {
  return { joinRef: null, ref: null, topic: 'room:a', event: 'msg', payload: { body }, meta: id === undefined ? { epoch, seq } : { epoch, seq, id } };
}

function makeDelivery(): Delivery {
  return new Delivery({
    clock,
    gapWaitMs: 100,
    deliver: (m) => delivered.push(String(m.payload.body)),
    fetch: (epoch, from, to) => new Promise((answer) => fetches.push({ epoch, from, to, answer })),
    recovered: (r) => reports.push(r),
    folded: (event, { epoch, seq }) => folded.push(`${event}@${epoch}:${seq}`),
    save: (s) => saved.push(s),
  });
}

const settle = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  clock = new FakeClock();
  delivered = [];
  reports = [];
  saved = [];
  fetches = [];
  folded = [];
});

describe('Delivery', () => {
  it('delivers in seq order, holding frames that arrive early', () => {
    const d = makeDelivery();
    d.joined({ epoch: 'e1', seq: 0, from: 1, recovered: true }, false);
    d.receive(frame(2));
    d.receive(frame(3));
    expect(delivered).toEqual([]);
    d.receive(frame(1));
    expect(delivered).toEqual(['m1', 'm2', 'm3']);
    expect(saved.at(-1)).toMatchObject({ epoch: 'e1', seq: 3 });
  });

  it('drops duplicates by seq and frames of another epoch', () => {
    const d = makeDelivery();
    d.joined({ epoch: 'e1', seq: 0, from: 1, recovered: true }, false);
    d.receive(frame(1));
    d.receive(frame(1));
    d.receive(frame(2, 'stale', 'e0'));
    d.receive(frame(2));
    expect(delivered).toEqual(['m1', 'm2']);
  });

  it('skips advance the position without reaching the app', () => {
    const d = makeDelivery();
    d.joined({ epoch: 'e1', seq: 0, from: 1, recovered: true }, false);
    d.receive({ ...frame(1), event: 'plume:skip', payload: {} });
    d.receive(frame(2));
    expect(delivered).toEqual(['m2']);
  });

  it('reports a folded skip by its event and position, live or from a history page, and delivers neither', async () => {
    const d = makeDelivery();
    d.joined({ epoch: 'e1', seq: 0, from: 1, recovered: true }, false);
    d.receive({ ...frame(1), event: 'plume:skip', payload: { folded: 'plume:doc' } });
    d.receive({ ...frame(2), event: 'plume:skip', payload: {} });
    d.receive(frame(5));
    clock.advance(100);
    fetches[0]!.answer({ epoch: 'e1', complete: true, entries: [{ seq: 3, skip: true, folded: 'plume:doc' }, { seq: 4, event: 'msg', payload: { body: 'm4' } }] });
    await settle();
    expect(folded).toEqual(['plume:doc@e1:1', 'plume:doc@e1:3']);
    expect(delivered).toEqual(['m4', 'm5']);
    expect(reports).toEqual([]);
  });

  it('drops a message re-sequenced under a new epoch by its id', () => {
    const d = makeDelivery();
    d.joined({ epoch: 'e1', seq: 0, from: 1, recovered: true }, false);
    d.receive(frame(1, 'hello', 'e1', 'id-1'));
    d.joined({ epoch: 'e2', seq: 1, from: 1, recovered: false }, true);
    d.receive(frame(1, 'hello again', 'e2', 'id-1'));
    d.receive(frame(2, 'new', 'e2', 'id-2'));
    expect(delivered).toEqual(['hello', 'new']);
  });

  it('asks the server for a gap after gapWaitMs and delivers what it returns in order', async () => {
    const d = makeDelivery();
    d.joined({ epoch: 'e1', seq: 0, from: 1, recovered: true }, false);
    d.receive(frame(1));
    d.receive(frame(4));
    clock.advance(99);
    expect(fetches).toHaveLength(0);
    clock.advance(1);
    expect(fetches).toEqual([expect.objectContaining({ epoch: 'e1', from: 2, to: 3 })]);
    fetches[0]!.answer({ epoch: 'e1', complete: true, entries: [{ seq: 2, event: 'msg', payload: { body: 'm2' } }, { seq: 3, skip: true }] });
    await settle();
    expect(delivered).toEqual(['m1', 'm2', 'm4']);
    expect(reports).toEqual([]);
  });

  it('does not fetch when the missing frame arrives within the wait', () => {
    const d = makeDelivery();
    d.joined({ epoch: 'e1', seq: 0, from: 1, recovered: true }, false);
    d.receive(frame(2));
    d.receive(frame(1));
    clock.advance(1_000);
    expect(fetches).toHaveLength(0);
    expect(delivered).toEqual(['m1', 'm2']);
  });

  it('reports recovered: false when history cannot fill a gap, then moves past it', async () => {
    const d = makeDelivery();
    d.joined({ epoch: 'e1', seq: 0, from: 1, recovered: true }, false);
    d.receive(frame(5));
    clock.advance(100);
    fetches[0]!.answer({ epoch: 'e1', complete: false, entries: [] });
    await settle();
    expect(reports).toEqual([{ recovered: false, epoch: 'e1', missed: { from: 1, to: 4 }, reason: 'gap' }]);
    expect(delivered).toEqual(['m5']);
  });

  it('retries a failed fetch (refused "rate limited", say) after a wait that doubles with each failure in a row', async () => {
    const d = makeDelivery();
    d.joined({ epoch: 'e1', seq: 0, from: 1, recovered: true }, false);
    d.receive(frame(2));
    clock.advance(100);
    fetches[0]!.answer(null);
    await settle();
    clock.advance(199);
    expect(fetches).toHaveLength(1);
    clock.advance(1);
    expect(fetches).toHaveLength(2);
    fetches[1]!.answer(null);
    await settle();
    clock.advance(399);
    expect(fetches).toHaveLength(2);
    clock.advance(1);
    expect(fetches).toHaveLength(3);
    fetches[2]!.answer({ epoch: 'e1', complete: true, entries: [{ seq: 1, event: 'msg', payload: { body: 'm1' } }] });
    await settle();
    expect(delivered).toEqual(['m1', 'm2']);
    // A success resets the wait: the next gap is fetched after gapWaitMs again.
    d.receive(frame(4));
    clock.advance(100);
    expect(fetches).toHaveLength(4);
  });

  it('fetches up to a head announcement even with nothing held', async () => {
    const d = makeDelivery();
    d.joined({ epoch: 'e1', seq: 0, from: 1, recovered: true }, false);
    d.ahead('e1', 2);
    clock.advance(100);
    expect(fetches[0]).toMatchObject({ from: 1, to: 2 });
  });

  it('resumes from a restored position and reports the rejoin as recovered', () => {
    const d = makeDelivery();
    d.restore({ epoch: 'e1', seq: 7, ids: [] });
    expect(d.since()).toEqual({ epoch: 'e1', seq: 7 });
    d.joined({ epoch: 'e1', seq: 9, from: 8, recovered: true }, true);
    d.receive(frame(8));
    d.receive(frame(9));
    expect(delivered).toEqual(['m8', 'm9']);
    expect(reports).toEqual([{ recovered: true, epoch: 'e1', reason: 'rejoin' }]);
  });

  it('reports the missed range when the server could not recover the same epoch', () => {
    const d = makeDelivery();
    d.restore({ epoch: 'e1', seq: 3, ids: [] });
    d.joined({ epoch: 'e1', seq: 20, from: 11, recovered: false }, true);
    expect(reports).toEqual([{ recovered: false, epoch: 'e1', missed: { from: 4, to: 10 }, reason: 'rejoin' }]);
    d.receive(frame(11));
    expect(delivered).toEqual(['m11']);
  });

  it('reports an epoch change as not recovered', () => {
    const d = makeDelivery();
    d.restore({ epoch: 'e1', seq: 3, ids: [] });
    d.joined({ epoch: 'e2', seq: 2, from: 1, recovered: false }, true);
    expect(reports).toEqual([{ recovered: false, epoch: 'e2', reason: 'rejoin' }]);
  });

  it('delivers frames without order metadata as they come', () => {
    const d = makeDelivery();
    d.receive({ joinRef: '1', ref: null, topic: 'room:a', event: 'msg', payload: { body: 'direct' } });
    expect(delivered).toEqual(['direct']);
  });
});
