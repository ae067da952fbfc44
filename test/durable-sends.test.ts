/**
 * Durable sends against a real server (PROTOCOL.md §7, "Exactly-once
 * sends"): what is queued survives a reload and is applied once, in order;
 * a refusal is surfaced, a transient error retried after a backoff.
 *
 * A "reload" stops a Socket and builds a new one over the same IndexedDB
 * (a fake IDBFactory per test) and storage name, as a new page load would.
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { error, ok } from '../server/channels/channel';
import { goOffline, record, take, useDurableClients } from './durable-clients';
import { useServers, windowOf } from './helpers';
import { frameOf, tapped } from './tap';
import { Recorder } from './waiting';

const start = useServers();
const { client, storage, unload } = useDurableClients();

describe('durable sends across a reload', () => {
  it('sends the messages queued before a reload once the channel joins, in order, exactly once', async () => {
    const { url, server } = await start();
    const bob = record(client(url, 'bob'), 'room:reload');
    await bob.room.join();
    const idb = new IDBFactory();
    const before = client(url, 'ada', { durable: storage(idb, 'ada') });
    const room = before.channel('room:reload');
    await room.join();
    await before.outbox!.settled((await room.send('msg', { body: 'online 1' })).id);
    await goOffline(before, server, 'ada');
    for (let i = 1; i <= 12; i++) await room.send('msg', { body: `queued ${i}` });
    expect(before.outbox!.pending().map((e) => e.status)).toEqual(Array(12).fill('queued'));

    // The reload: this page's socket and storage are gone; a new page opens the same IndexedDB.
    unload(before);
    const after = client(url, 'ada', { durable: storage(idb, 'ada') });
    await after.outbox!.ready;
    expect(after.outbox!.pending().map((e) => e.payload.body)).toEqual(Array.from({ length: 12 }, (_, i) => `queued ${i + 1}`));
    const settled = after.outbox!.pending().map((e) => after.outbox!.settled(e.id));
    await after.channel('room:reload').join();
    expect((await Promise.all(settled)).map((e) => e.status)).toEqual(Array(12).fill('acked'));
    const expected = ['online 1', ...Array.from({ length: 12 }, (_, i) => `queued ${i + 1}`)];
    expect(await take(bob.bodies, 13)).toEqual(expected);
    expect(after.outbox!.pending()).toEqual([]);
    expect(windowOf(server, 'room:reload').head).toBe(13);
  });

  it('does not apply again a message whose ack was lost before a reload', async () => {
    const { url, server } = await start();
    const bob = record(client(url, 'bob'), 'room:lostack');
    await bob.room.join();
    const idb = new IDBFactory();
    // Every reply to a push with an id is lost on the way back.
    const idRefs = new Set<string>();
    const before = client(url, 'ada', {
      durable: storage(idb, 'ada'),
      transport: tapped({
        outgoing(text) {
          const [, ref, , , , meta] = frameOf(text);
          if (meta?.id !== undefined && ref !== null) idRefs.add(ref);
        },
        incoming: (text) => !idRefs.has(String(frameOf(text)[1])),
      }),
    });
    const room = before.channel('room:lostack');
    await room.join();
    for (let i = 1; i <= 3; i++) await room.send('msg', { body: `m${i}` });
    expect(await take(bob.bodies, 3)).toEqual(['m1', 'm2', 'm3']);
    expect(before.outbox!.pending().map((e) => e.status)).toEqual(['sent', 'sent', 'sent']);
    unload(before);

    const after = client(url, 'ada', { durable: storage(idb, 'ada') });
    await after.outbox!.ready;
    const pending = after.outbox!.pending();
    expect(pending).toHaveLength(3);
    await after.channel('room:lostack').join();
    const settled = await Promise.all(pending.map((e) => after.outbox!.settled(e.id)));
    expect(settled.map((e) => [e.status, e.seq])).toEqual([['acked', 1], ['acked', 2], ['acked', 3]]);
    expect(windowOf(server, 'room:lostack').head).toBe(3);
    expect(bob.seen.map((m) => m.body)).toEqual(['m1', 'm2', 'm3']);
  });
});

describe('outcomes of durable sends', () => {
  it('moves a message the server refuses for good to rejected, with the reason, and goes on with the next', async () => {
    let refusals = 0;
    const { url } = await start({}, (s) => s.channel('strict:*', {
      handleIn(event, payload, socket) {
        if (String(payload.body).includes('bad')) {
          refusals++;
          return error({ reason: 'forbidden words' });
        }
        socket.broadcast(event, payload);
        return ok();
      },
    }));
    const ada = client(url, 'ada', { durable: storage(new IDBFactory(), 'ada') });
    const room = ada.channel('strict:1');
    await room.join();
    const bad = await room.send('msg', { body: 'bad words' });
    const good = await room.send('msg', { body: 'kind words' });
    const refused = await ada.outbox!.settled(bad.id);
    expect(refused).toMatchObject({ id: bad.id, status: 'rejected', reason: 'forbidden words', response: { reason: 'forbidden words' } });
    expect((await ada.outbox!.settled(good.id)).status).toBe('acked');
    expect(ada.outbox!.rejected().map((e) => e.id)).toEqual([bad.id]);
    expect(ada.outbox!.pending()).toEqual([]);
    // Still rejected (not re-sent) after a reconnect.
    const rejoined = new Recorder<string>();
    room.onStateChange(({ to }) => rejoined.push(to));
    ada.disconnect();
    ada.connect();
    while ((await rejoined.next()) !== 'joined');
    expect(ada.outbox!.rejected().map((e) => e.status)).toEqual(['rejected']);
    expect((await room.push('msg', { body: 'after the reconnect' })).status).toBe('ok'); // handled after any re-send would be
    expect(refusals).toBe(1);
  });

  it('retries a message answered with the transient `unmatched topic`, after a backoff, and applies it once', async () => {
    const { url, server } = await start();
    const attempts: number[] = [];
    let tamperedRef: string | null = null;
    let joinRef: string | null = null;
    const ada = client(url, 'ada', {
      timeoutMs: 2000,
      durable: storage(new IDBFactory(), 'ada'),
      transport: tapped({
        outgoing(text) {
          const frame = frameOf(text);
          if (frame[5]?.id === undefined) return;
          attempts.push(Date.now());
          if (attempts.length > 1) return;
          // The first attempt reaches a server that has no such channel (as if it lost it): it answers
          // `unmatched topic`, and the answer is handed back under the client's join_ref.
          [joinRef, tamperedRef] = [frame[0], frame[1]];
          frame[0] = 'lost';
          return JSON.stringify(frame);
        },
        incoming(text) {
          const frame = frameOf(text);
          if (tamperedRef === null || frame[1] !== tamperedRef || frame[3] !== 'phx_reply') return true;
          expect(frame[4]).toEqual({ status: 'error', response: { reason: 'unmatched topic' } });
          frame[0] = joinRef;
          tamperedRef = null;
          return JSON.stringify(frame);
        },
      }),
    });
    const room = ada.channel('room:transient');
    await room.join();
    const entry = await room.send('msg', { body: 'eventually' });
    const settled = await ada.outbox!.settled(entry.id);
    expect(settled.status).toBe('acked');
    expect(attempts).toHaveLength(2);
    // Backoff for the first retry is 250..500 ms (baseMs 500): not an immediate re-send.
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(200);
    expect(windowOf(server, 'room:transient').head).toBe(1);
    expect(ada.outbox!.rejected()).toEqual([]);
  });
});

