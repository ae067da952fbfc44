/**
 * The flusher after a reload: what an earlier page stored is sent in
 * creation order, even when the channel joins before the outbox has
 * finished reading IndexedDB.
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes';
import type { Meta, Payload } from '../protocol';
import type { PushResult } from '../push';
import { Flusher } from './flusher';
import { Outbox } from './outbox';

describe('Flusher after a reload', () => {
  it('sends the entries a previous page stored in creation order when joined before they are loaded', async () => {
    const idb = new IDBFactory();
    const previous = new Outbox({ name: 'reload', indexedDB: idb });
    for (let n = 0; n < 20; n++) await previous.add('room:a', 'msg', { n });
    previous.close();

    const sent: number[] = [];
    const target = {
      topic: 'room:a',
      sendDurable: (_event: string, payload: Payload) => {
        sent.push(payload.n as number);
        return new Promise<PushResult & { meta?: Meta }>(() => {});
      },
    };
    const box = new Outbox({ name: 'reload', indexedDB: idb });
    const flusher = new Flusher(target, box, null, { clock: new FakeClock(), window: 64, backoff: { baseMs: 100, maxMs: 100 }, random: () => 1 });
    flusher.joined(); // the channel joined before IndexedDB answered
    await box.ready;
    expect(sent).toEqual(Array.from({ length: 20 }, (_, n) => n));
    flusher.dispose();
    box.close();
  });
});

describe('Flusher answers', () => {
  it('queues a message refused "rate limited" again and re-sends it after the backoff, never rejecting it', async () => {
    const box = new Outbox({ name: 'limited', indexedDB: new IDBFactory() });
    const entry = await box.add('room:a', 'msg', { n: 1 });
    const answers: Array<PushResult & { meta?: Meta }> = [
      { status: 'error', response: { reason: 'rate limited' } },
      { status: 'ok', response: {}, meta: { epoch: 'e', seq: 1 } },
    ];
    let sends = 0;
    const target = { topic: 'room:a', sendDurable: () => Promise.resolve(answers[sends++]!) };
    const clock = new FakeClock();
    const flusher = new Flusher(target, box, null, { clock, window: 64, backoff: { baseMs: 100, maxMs: 100 }, random: () => 1 });
    flusher.joined();
    await box.ready;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sends).toBe(1);
    expect(box.rejected()).toEqual([]);
    expect(box.pending('room:a').map((e) => e.status)).toEqual(['queued']);
    clock.advance(100);
    const settled = await box.settled(entry.id);
    expect(settled).toMatchObject({ status: 'acked' });
    expect(sends).toBe(2);
    flusher.dispose();
    box.close();
  });

  it('waits one backoff step for a whole window refused at once, not one step per refused message', async () => {
    const box = new Outbox({ name: 'window', indexedDB: new IDBFactory() });
    for (let n = 0; n < 10; n++) await box.add('room:a', 'msg', { n });
    let refuse = true;
    const sent: number[] = [];
    const target = {
      topic: 'room:a',
      sendDurable: (_event: string, payload: Payload) => {
        sent.push(payload.n as number);
        return Promise.resolve<PushResult & { meta?: Meta }>(refuse ? { status: 'error', response: { reason: 'rate limited' } } : { status: 'ok', response: {} });
      },
    };
    const clock = new FakeClock();
    const flusher = new Flusher(target, box, null, { clock, window: 64, backoff: { baseMs: 100, maxMs: 10_000 }, random: () => 1 });
    flusher.joined();
    await box.ready;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sent).toHaveLength(10);
    expect(clock.nextDelay()).toBe(100); // the first step, not the tenth
    refuse = false;
    clock.advance(100);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sent.slice(10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    flusher.dispose();
    box.close();
  });
});
