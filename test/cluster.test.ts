/**
 * Several Plume server processes on one real Redis (`npm run server --
 * --redis …`), with real clients: the official phoenix client and Plume
 * clients with durable storage (fake IndexedDB). One order per topic
 * whichever node a message lands on, the same presences everywhere, and —
 * through kills, restarts and lost acknowledgements — nothing lost,
 * nothing duplicated, order kept.
 */
import { IDBFactory } from 'fake-indexeddb';
import { Presence as PhoenixPresence, Socket as PhoenixSocket } from 'phoenix';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Durable } from '../src/durable';
import { durable } from '../src/durable';
import { Presence, Socket, type Recovery, type WebSocketLike } from '../src/index';
import { NodeProcess } from './node-process';
import { RedisServer } from './redis-server';
import { deadline } from './waiting';

const running: { nodes: NodeProcess[]; redis: RedisServer[]; sockets: Array<{ disconnect(): void }>; stores: Durable[] } = { nodes: [], redis: [], sockets: [], stores: [] };
afterEach(async () => {
  for (const socket of running.sockets.splice(0)) socket.disconnect();
  for (const store of running.stores.splice(0)) store.outbox.close();
  await Promise.all(running.nodes.splice(0).map((n) => n.kill()));
  await Promise.all(running.redis.splice(0).map((r) => r.stop()));
});

async function cluster(count: number, args: string[] = []): Promise<{ redis: RedisServer; nodes: NodeProcess[] }> {
  const redis = await RedisServer.start();
  running.redis.push(redis);
  const nodes = await Promise.all(Array.from({ length: count }, (_, i) => NodeProcess.start({ redis: redis.url, nodeId: String.fromCharCode(97 + i), args })));
  running.nodes.push(...nodes);
  return { redis, nodes };
}

/** Polls until `check` holds. */
async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  await deadline(ms, what, (async () => {
    while (!check()) await new Promise((r) => setTimeout(r, 25));
  })());
}

const wsTransport = (url: string, protocols?: string[]) => new WebSocket(url, protocols) as unknown as WebSocketLike;

describe('three server processes on one Redis', () => {
  it('let a phoenix.js client on one node and Plume clients on others chat in one gap-free order, with the same presences everywhere', async () => {
    const { nodes } = await cluster(3);
    const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];

    const phx = new PhoenixSocket(`${a.url.replace(/^http/, 'ws')}/socket`, { transport: WebSocket, params: { name: 'Phoebe' } });
    running.sockets.push(phx);
    phx.connect();
    const phxRoom = phx.channel('room:chat', {});
    const phxGot: unknown[] = [];
    phxRoom.on('new_msg', (payload: { n: number }) => {
      phxGot.push(payload.n);
    });
    const phxPresence = new PhoenixPresence(phxRoom);
    await deadline(5000, 'the phoenix join', new Promise((resolve, reject) => phxRoom.join().receive('ok', resolve).receive('error', reject)));

    const plumeOn = (node: NodeProcess, name: string) => {
      const socket = new Socket(`${node.url}/socket`, { transport: wsTransport, params: { name } });
      running.sockets.push(socket);
      socket.connect();
      const room = socket.channel('room:chat');
      const got: Array<{ n: number; seq: unknown }> = [];
      room.on('new_msg', (payload, { meta }) => got.push({ n: payload.n as number, seq: meta?.seq }));
      const presence = new Presence(room);
      return { socket, room, got, presence };
    };
    const ada = plumeOn(b, 'Ada');
    const carl = plumeOn(c, 'Carl');
    await Promise.all([ada.room.join(), carl.room.join()]);

    for (let n = 1; n <= 12; n++) {
      if (n % 2) phxRoom.push('new_msg', { n });
      else await ada.room.push('new_msg', { n });
    }
    await until('everyone to get the 12 messages', () => phxGot.length === 12 && ada.got.length === 12 && carl.got.length === 12);
    expect(ada.got.map((m) => m.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(carl.got).toEqual(ada.got);
    expect(phxGot).toEqual(ada.got.map((m) => m.n));

    const names = (list: string[]) => list.sort().join();
    await until('the same presences on every node', () =>
      names(phxPresence.list((key) => key)) === 'Ada,Carl,Phoebe' && names(ada.presence.list((key) => key)) === 'Ada,Carl,Phoebe' && names(carl.presence.list((key) => key)) === 'Ada,Carl,Phoebe');
  }, 60_000);

  it('survives a node killed mid-stream, every node restarted, and lost acknowledgements: 30 durable clients, 5,100 messages, none lost, none twice, one order', async () => {
    const CLIENTS = 30;
    const PER_CLIENT = 170;
    const TOTAL = CLIENTS * PER_CLIENT;
    const { nodes } = await cluster(3, ['--history-limit', '10000', '--no-mesh']);
    const live = () => nodes.filter((n) => n.running);
    let turn = 0;
    /** A load balancer: each connection attempt goes to the next node that is up. */
    const balanced = (dropAcks: boolean) => (url: string, protocols?: string[]) => {
      const up = live();
      const node = up[turn++ % Math.max(1, up.length)] ?? nodes[0]!;
      const ws = new WebSocket(url.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${node.port}`), protocols) as unknown as WebSocketLike;
      if (!dropAcks) return ws;
      // Every 20th acknowledgement of a durable send is lost on the way: the client must send it again.
      let seen = 0;
      const wrapped = Object.create(ws) as WebSocketLike;
      Object.defineProperty(wrapped, 'onmessage', {
        set(handler: WebSocketLike['onmessage']) {
          ws.onmessage = handler && ((event) => {
            const text = String(event.data);
            if (text.includes('"phx_reply"') && text.includes('"seq"') && !text.includes('"phx_join"') && ++seen % 20 === 0) return;
            handler(event);
          });
        },
        get() {
          return ws.onmessage;
        },
      });
      return wrapped;
    };

    const clients = Array.from({ length: CLIENTS }, (_, i) => {
      const store = durable({ name: `c${i}`, indexedDB: new IDBFactory() });
      running.stores.push(store);
      const socket = new Socket(`${nodes[0]!.url}/socket`, {
        transport: balanced(i % 3 === 0), params: { name: `client-${i}` }, durable: store, timeoutMs: 2000,
        reconnect: { baseMs: 50, maxMs: 500 }, rejoin: { baseMs: 50, maxMs: 500 }, gapWaitMs: 100,
      });
      running.sockets.push(socket);
      socket.connect();
      const room = socket.channel('room:chaos');
      const got: Array<{ from: number; k: number; seq: number; epoch: string }> = [];
      const recoveries: Recovery[] = [];
      room.on('m', (payload, { meta }) => got.push({ from: payload.from as number, k: payload.k as number, seq: meta!.seq as number, epoch: meta!.epoch as string }));
      room.onRecover((report) => recoveries.push(report));
      return { socket, room, got, recoveries, store };
    });
    await Promise.all(clients.map((c) => c.room.join()));

    // Presence-only members pinned to node c: when c is killed, everyone else must see them leave.
    const pinned = Array.from({ length: 3 }, (_, i) => {
      const socket = new PhoenixSocket(`${nodes[2]!.url.replace(/^http/, 'ws')}/socket`, { transport: WebSocket, params: { name: `pinned-${i}` }, reconnectAfterMs: () => 60_000 });
      running.sockets.push(socket);
      socket.connect();
      const room = socket.channel('room:watch', {});
      room.join();
      return socket;
    });
    const watcher = new Socket(`${nodes[0]!.url}/socket`, { transport: wsTransport, params: { name: 'watcher' } });
    running.sockets.push(watcher);
    watcher.connect();
    const watchRoom = watcher.channel('room:watch');
    const watched = new Presence(watchRoom);
    await watchRoom.join();
    const pinnedOnline = () => watched.list((key) => key).filter((k) => k.startsWith('pinned-')).length;
    await until('the pinned members to be seen', () => pinnedOnline() === pinned.length);

    // Everyone sends, in rounds, while the cluster is abused.
    let sent = 0;
    const sendRound = async (count: number) => {
      for (let r = 0; r < count && sent < PER_CLIENT; r++, sent++) {
        await Promise.all(clients.map((c, from) => c.room.send('m', { from, k: sent })));
      }
    };
    const delivered = () => Math.min(...clients.map((c) => c.got.length));
    await sendRound(40);

    // Node c is killed mid-stream: its presences must leave everywhere within the bound.
    const killedAt = Date.now();
    await nodes[2]!.kill();
    await until('the killed node\'s presences to leave', () => pinnedOnline() === 0, 20_000);
    const presenceGoneMs = Date.now() - killedAt;
    expect(presenceGoneMs).toBeLessThanOrEqual(15_000);
    await sendRound(40);
    await nodes[2]!.restart();
    await sendRound(30);

    // A rolling restart of every node.
    for (const node of nodes) {
      await node.restart();
      await sendRound(15);
    }
    await sendRound(PER_CLIENT);

    await until(`all ${TOTAL} messages everywhere (slowest client has ${delivered()})`, () => delivered() >= TOTAL, 90_000);
    await until('every outbox to empty', () => clients.every((c) => c.store.outbox.pending().length === 0), 30_000);
    const reference = clients[0]!.got.map((g) => `${g.from}:${g.k}`);
    expect(new Set(reference).size).toBe(TOTAL); // none twice
    for (const client of clients) {
      expect(client.got.length).toBe(TOTAL); // none lost, none twice
      expect(client.got.map((g) => `${g.from}:${g.k}`)).toEqual(reference); // one order for everyone
      expect(client.got.map((g) => g.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1)); // gap-free, one epoch
      expect(client.recoveries.every((r) => r.recovered)).toBe(true);
    }
    for (let from = 0; from < CLIENTS; from++) {
      const mine = reference.filter((key) => key.startsWith(`${from}:`)).map((key) => Number(key.split(':')[1]));
      expect(mine).toEqual(Array.from({ length: PER_CLIENT }, (_, k) => k)); // each sender's order kept
    }
    console.log(`[cluster chaos] ${TOTAL} messages x ${CLIENTS} receivers; killed node's presences gone after ${presenceGoneMs} ms`);
  }, 240_000);
});
