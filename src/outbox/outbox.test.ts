import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../test/fakes';
import type { Meta, Payload } from '../protocol';
import type { PushResult } from '../push';
import { Flusher } from './flusher';
import { Outbox, type OutboxEntry } from './outbox';

function outbox(idb = new IDBFactory(), name = 'test'): Outbox {
  return new Outbox({ name, indexedDB: idb });
}

type Sent = { event: string; payload: Payload; id: string; answer: (result: PushResult & { meta?: Meta }) => void };

function target(topic = 'room:a') {
  const sent: Sent[] = [];
  return {
    sent,
    topic,
    sendDurable: (event: string, payload: Payload, id: string) => new Promise<PushResult & { meta?: Meta }>((answer) => sent.push({ event, payload, id, answer })),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));
const ok = (seq: number): PushResult & { meta?: Meta } => ({ status: 'ok', response: {}, meta: { epoch: 'e', seq } });

describe('Outbox', () => {
  it('keeps entries in creation order per topic and survives a reload', async () => {
    const idb = new IDBFactory();
    const first = outbox(idb);
    await first.add('room:a', 'msg', { n: 1 });
    await first.add('room:b', 'msg', { n: 2 });
    await first.add('room:a', 'msg', { n: 3 });
    first.close();
    const second = outbox(idb);
    await second.ready;
    expect(second.pending('room:a').map((e) => e.payload.n)).toEqual([1, 3]);
    expect(second.pending().map((e) => e.payload.n)).toEqual([1, 2, 3]);
    second.close();
  });

  it('forgets acknowledged entries on disk too', async () => {
    const idb = new IDBFactory();
    const box = outbox(idb);
    const entry = await box.add('room:a', 'msg', {});
    const done = box.settled(entry.id);
    box.acknowledge(entry.id, { ok: 1 }, 'e', 4);
    expect(await done).toMatchObject({ status: 'acked', seq: 4, epoch: 'e' });
    await settle();
    box.close();
    const again = outbox(idb);
    await again.ready;
    expect(again.pending()).toEqual([]);
    again.close();
  });

  it('keeps a rejected entry with its reason; a retry is a new message, a discard removes it', async () => {
    const idb = new IDBFactory();
    const box = outbox(idb);
    const entry = await box.add('room:a', 'msg', { n: 1 });
    const done = box.settled(entry.id);
    box.reject(entry.id, { reason: 'forbidden' });
    expect(await done).toMatchObject({ status: 'rejected', reason: 'forbidden' });
    expect(box.rejected('room:a')).toHaveLength(1);
    const statuses: string[] = [];
    box.onChange((e) => statuses.push(`${e.id === entry.id ? 'old' : 'new'}:${e.status}`));
    const again = await box.retry(entry.id);
    expect(again?.id).not.toBe(entry.id); // the server remembers the refused id
    expect(again?.payload).toEqual({ n: 1 });
    expect(box.pending('room:a').map((e) => e.id)).toEqual([again!.id]);
    expect(box.rejected()).toEqual([]);
    expect(statuses).toEqual(['new:queued', 'old:discarded']);
    box.reject(again!.id, { reason: 'forbidden' });
    await box.discard(again!.id);
    expect(box.rejected()).toEqual([]);
    box.close();
    const reopened = outbox(idb);
    await reopened.ready;
    expect(reopened.pending()).toEqual([]);
    expect(reopened.rejected()).toEqual([]);
    reopened.close();
  });

  it('reports every change to every listener in the order it happened, even when a listener changes entries', async () => {
    const box = outbox();
    const seen: string[] = [];
    box.onChange((e) => {
      if (e.status === 'queued') box.mark(e.id, 'sent'); // as the flusher does
    });
    box.onChange((e) => seen.push(e.status));
    await box.add('room:a', 'msg', {});
    expect(seen).toEqual(['queued', 'sent']);
    box.close();
  });

  it('shares changes with another outbox of the same name (another tab)', async () => {
    const idb = new IDBFactory();
    const tab1 = outbox(idb, 'shared');
    const tab2 = outbox(idb, 'shared');
    await Promise.all([tab1.ready, tab2.ready]);
    const seen: string[] = [];
    tab2.onChange((e) => seen.push(e.status));
    const entry = await tab1.add('room:a', 'msg', {});
    // The other tab hears of it through a BroadcastChannel: soon, not within a fixed number of ticks.
    await vi.waitFor(() => expect(tab2.pending('room:a').map((e) => e.id)).toEqual([entry.id]));
    tab1.acknowledge(entry.id, {});
    await vi.waitFor(() => expect(tab2.pending()).toEqual([]));
    expect(seen).toEqual(['queued', 'acked']);
    tab1.close();
    tab2.close();
  });

  it('reports a storage failure to the caller and to onError', async () => {
    const box = new Outbox({ name: 'broken', indexedDB: { open: () => { throw Object.assign(new Error('quota'), { name: 'QuotaExceededError' }); } } });
    const errors: string[] = [];
    box.onError((e) => errors.push(e.code));
    await expect(box.add('room:a', 'msg', {})).rejects.toMatchObject({ code: 'storage', message: expect.stringContaining('quota is full') });
    expect(errors).toContain('storage');
    box.close();
  });
});

describe('Flusher', () => {
  const options = { clock: new FakeClock(), window: 2, backoff: { baseMs: 100, maxMs: 100 }, random: () => 1 };

  async function setup(count: number) {
    const box = outbox();
    const entries: OutboxEntry[] = [];
    for (let i = 0; i < count; i++) entries.push(await box.add('room:a', 'msg', { n: i }));
    const t = target();
    const clock = new FakeClock();
    const flusher = new Flusher(t, box, null, { ...options, clock });
    return { box, entries, t, flusher, clock };
  }

  it('sends nothing until joined, then in order with a bounded window', async () => {
    const { box, t, flusher } = await setup(3);
    await settle();
    expect(t.sent).toHaveLength(0);
    flusher.joined();
    expect(t.sent.map((s) => s.payload.n)).toEqual([0, 1]);
    t.sent[0]!.answer(ok(1));
    await settle();
    expect(t.sent.map((s) => s.payload.n)).toEqual([0, 1, 2]);
    expect(box.pending().map((e) => e.status)).toEqual(['sent', 'sent']);
    flusher.dispose();
    box.close();
  });

  it('re-queues what was in flight when the channel stops being joined, and ignores late answers', async () => {
    const { box, t, flusher } = await setup(2);
    flusher.joined();
    const [a, b] = t.sent;
    flusher.left();
    expect(box.pending().map((e) => e.status)).toEqual(['queued', 'queued']);
    a!.answer(ok(1));
    await settle();
    expect(box.pending()).toHaveLength(2);
    flusher.joined();
    expect(t.sent.slice(2).map((s) => s.id)).toEqual([a!.id, b!.id]);
    flusher.dispose();
    box.close();
  });

  it('rejects on a permanent error and retries a transient one after backoff', async () => {
    const { box, t, flusher, clock } = await setup(2);
    flusher.joined();
    t.sent[0]!.answer({ status: 'error', response: { reason: 'forbidden' } });
    t.sent[1]!.answer({ status: 'error', response: { reason: 'unmatched topic' } });
    await settle();
    expect(box.rejected().map((e) => e.reason)).toEqual(['forbidden']);
    expect(box.pending().map((e) => e.status)).toEqual(['queued']);
    expect(t.sent).toHaveLength(2);
    clock.advance(100);
    expect(t.sent).toHaveLength(3);
    flusher.dispose();
    box.close();
  });

  it('re-sends after a timeout, in order, once the backoff passes', async () => {
    const { box, t, flusher, clock } = await setup(2);
    flusher.joined();
    t.sent[0]!.answer({ status: 'timeout', response: undefined });
    t.sent[1]!.answer(ok(2));
    await settle();
    expect(box.pending().map((e) => e.payload.n)).toEqual([0]);
    clock.advance(100);
    expect(t.sent.at(-1)?.payload.n).toBe(0);
    flusher.dispose();
    box.close();
  });

  it('flushes entries another tab adds while joined', async () => {
    const { box, t, flusher } = await setup(0);
    flusher.joined();
    await box.add('room:a', 'msg', { n: 'late' });
    expect(t.sent.map((s) => s.payload.n)).toEqual(['late']);
    await box.add('room:b', 'msg', { n: 'other topic' });
    expect(t.sent).toHaveLength(1);
    flusher.dispose();
    box.close();
  });
});
