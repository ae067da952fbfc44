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
