import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { durable } from '../src/durable';
import type { OutboxEntry } from '../src/index';
import { nextState, usePlumeClients } from './clients';
import { useServers } from './helpers';
import { Recorder } from './waiting';

const start = useServers();
const connect = usePlumeClients();
const fast = { reconnect: { baseMs: 50, maxMs: 200 }, rejoin: { baseMs: 50, maxMs: 200 }, gapWaitMs: 50 };

describe('durable sends against a real server', () => {
  it('stores a message sent while disconnected and delivers it once after reconnecting', async () => {
    const { url, server } = await start();
    const idb = new IDBFactory();
    const ada = connect(url, { params: { name: 'ada' }, ...fast, reconnect: { baseMs: 400, maxMs: 400 }, durable: durable({ name: 't1', indexedDB: idb }) });
    const bob = connect(url, { params: { name: 'bob' }, ...fast });
    ada.connect();
    bob.connect();
    const adaRoom = ada.channel('room:d1');
    const bobRoom = bob.channel('room:d1');
    const seen = new Recorder<string>();
    bobRoom.on('msg', (p) => seen.push(String(p.body)));
    await adaRoom.join();
    await bobRoom.join();
    const down = nextState(ada, (c) => c.to === 'reconnecting');
    server.disconnect((s) => s.assigns.name === 'ada');
    await down;
    const statuses: string[] = [];
    ada.outbox!.onChange((e) => statuses.push(`${e.event}:${e.status}`));
    const entries: OutboxEntry[] = [];
    for (let i = 1; i <= 3; i++) entries.push(await adaRoom.send('msg', { body: `offline ${i}` }));
    expect(entries.map((e) => e.status)).toEqual(['queued', 'queued', 'queued']);
    const settled = await Promise.all(entries.map((e) => ada.outbox!.settled(e.id)));
    expect(settled.map((e) => e.status)).toEqual(['acked', 'acked', 'acked']);
    expect(settled.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect([await seen.next(), await seen.next(), await seen.next()]).toEqual(['offline 1', 'offline 2', 'offline 3']);
    expect(ada.outbox!.pending()).toEqual([]);
    expect(statuses).toContain('msg:sent');
  });
});
