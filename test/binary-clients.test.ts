/**
 * Bytes through the Plume client (PROTOCOL.md §2): push and durable send of
 * a Uint8Array, listeners that get bytes with `info.binary`, a gap filled
 * from a binary history page, and signed relays of bytes over a WebRTC mesh
 * (a forged byte is caught, never delivered).
 */
import wrtc from '@roamhq/wrtc';
import { IDBFactory } from 'fake-indexeddb';
import SimplePeer from 'simple-peer';
import { describe, expect, it } from 'vitest';
import type { Socket } from '../src/index';
import { mesh } from '../src/mesh/index';
import { useDurableClients } from './durable-clients';
import { useServers } from './helpers';
import { tapped } from './tap';
import { deadline, Recorder } from './waiting';

const start = useServers();
const { client, storage } = useDurableClients();
const bytes = (...values: number[]) => new Uint8Array(values);

/** Polls until `ok()` holds. */
async function until(ok: () => boolean, what: string, ms = 15_000): Promise<void> {
  await deadline(ms, what, (async () => {
    while (!ok()) await new Promise((r) => setTimeout(r, 25));
  })());
}

/** Records the bytes a channel delivers for `event`, with their seq. */
function recordBytes(socket: Socket, topic: string) {
  const room = socket.channel(topic);
  const got = new Recorder<{ bytes: number[]; seq: unknown; binary: boolean }>();
  room.on<Uint8Array>('blob', (payload, info) => got.push({ bytes: [...payload], seq: info.meta?.seq, binary: info.binary }));
  return { room, got };
}

describe('bytes through the Plume client', () => {
  it('pushes and durably sends bytes; other members get them as bytes, in order, once', async () => {
    const { url } = await start();
    const ada = client(url, 'ada', { durable: storage(new IDBFactory(), 'ada') });
    const bob = client(url, 'bob');
    const mine = recordBytes(ada, 'room:b');
    const theirs = recordBytes(bob, 'room:b');
    await Promise.all([mine.room.join(), theirs.room.join()]);
    expect((await mine.room.push('blob', bytes(1, 2, 3))).status).toBe('ok');
    const entry = await mine.room.send('blob', bytes(250, 251, 252, 0));
    expect(await ada.outbox!.settled(entry.id)).toMatchObject({ status: 'acked', seq: 2 });
    expect(await theirs.got.next()).toEqual({ bytes: [1, 2, 3], seq: 1, binary: true });
    expect(await theirs.got.next()).toEqual({ bytes: [250, 251, 252, 0], seq: 2, binary: true });
    // An ArrayBuffer goes as bytes too.
    await mine.room.push('blob', bytes(7).buffer);
    expect((await theirs.got.next()).bytes).toEqual([7]);
  });

  it('fills a gap of bytes from a binary history page', async () => {
    const { url, server } = await start();
    // Bob's socket loses the binary broadcast of seq 2 on the way: the next one shows the gap.
    let dropped = false;
    const bob = client(url, 'bob', {
      transport: (u, protocols) => {
        const ws = tapped({})(u, protocols);
        const deliver = (event: { data: unknown }) => {
          const data = event.data;
          if (!dropped && typeof data !== 'string' && new Uint8Array(data as ArrayBuffer).includes(0xfe)) {
            dropped = true;
            return;
          }
          handler?.(event);
        };
        let handler: ((event: { data: unknown }) => void) | null = null;
        Object.defineProperty(ws, 'onmessage', { get: () => deliver, set: (h) => (handler = h), configurable: true });
        return ws;
      },
    });
    const theirs = recordBytes(bob, 'room:gap');
    await theirs.room.join();
    await server.broadcast('room:gap', 'blob', bytes(1));
    await server.broadcast('room:gap', 'blob', bytes(0xfe, 0xfe));
    await server.broadcast('room:gap', 'blob', bytes(3));
    expect([await theirs.got.next(), await theirs.got.next(), await theirs.got.next()].map((g) => g.bytes)).toEqual([[1], [0xfe, 0xfe], [3]]);
    expect(dropped).toBe(true);
    expect(theirs.room.stats().repairs).toBe(1);
  });
});

describe('bytes over the mesh', () => {
  it('relays signed bytes peer to peer, and a peer that alters one byte is caught', async () => {
    const { url, server } = await start({ mesh: { minRelayed: 1 } });
    const connect = (name: string, SimplePeerImpl: typeof SimplePeer = SimplePeer) => client(url, name, { mesh: mesh({ wrtc, SimplePeer: SimplePeerImpl }), gapWaitMs: 1000 });
    const sent: SimplePeer.Instance[] = [];
    class Evil extends SimplePeer {
      constructor(options?: SimplePeer.Options) {
        super(options);
        sent.push(this);
      }
    }
    const members = ['a', 'b', 'c', 'd'].map((name) => recordBytes(connect(name), 'room:mesh'));
    const evil = recordBytes(connect('evil', Evil), 'room:mesh');
    await Promise.all([...members, evil].map((m) => m.room.join()));
    const all = [...members, evil];
    await until(() => all.filter((m) => m.room.stats().mesh?.planDirect === false).length >= 2, 'some members to be reached through peers');
    for (let n = 1; n <= 10; n++) await server.broadcast('room:mesh', 'blob', bytes(n, 255 - n, 0));
    for (const m of members) {
      const got = await Promise.all(Array.from({ length: 10 }, () => m.got.next(10_000)));
      expect(got.map((g) => g.bytes)).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1, 254 - i, 0]));
    }
    const relayedBytes = members.reduce((n, m) => n + m.room.stats().mesh!.receivedRelayed, 0);
    expect(relayedBytes).toBeGreaterThan(0);
    // The evil peer sends an altered copy of a signed message of bytes to every peer it is linked to.
    const open = sent.filter((p) => (p as unknown as { connected: boolean }).connected);
    expect(open.length).toBeGreaterThan(0);
    const epoch = (await server.broadcast('room:mesh', 'blob', bytes(99))).epoch;
    const head = new TextEncoder().encode(JSON.stringify(['b', 'room:mesh', epoch, 12, 'blob', null, null, { k: server.mesh!.keys()[0]!.kid, s: 'AAAA' }]));
    const forged = new Uint8Array(4 + head.length + 1);
    new DataView(forged.buffer).setUint32(0, head.length);
    forged.set(head, 4);
    forged[forged.length - 1] = 66;
    const chunk = new Uint8Array(6 + 1 + forged.length);
    chunk.set([1, 1, 0x7a, 0, 0, 0, 1]);
    chunk.set(forged, 7);
    for (const p of open) p.send(chunk);
    await until(() => members.reduce((n, m) => n + m.room.stats().mesh!.forgeries, 0) >= 1, 'a forgery to be caught');
    await server.broadcast('room:mesh', 'blob', bytes(100));
    for (const m of members) {
      const later = [await m.got.next(10_000), await m.got.next(10_000)].map((g) => g.bytes);
      expect(later).toEqual([[99], [100]]); // seq 12 came from the server, never the forged [66]
    }
  }, 60_000);
});
