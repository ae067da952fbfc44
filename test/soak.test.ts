/**
 * Soak: the delivery invariants of DESIGN.md under sustained abuse, against
 * a real server through the default relay channel.
 *
 * 10 Plume clients with durable storage (each its own fake IndexedDB) each
 * send 500 messages with `channel.send()` to one room while the server drops
 * every client at least 8 times at random points of its run, and 10% of the
 * acknowledgements of durable pushes are lost on the way back. Then, for
 * every client as a receiver: nothing lost, nothing duplicated, seq order
 * without gaps, each sender's messages in its send order; and every outbox
 * is empty. Randomness comes from seeded PRNGs, so a failure can be re-run.
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { Durable } from '../src/durable';
import type { Recovery } from '../src/delivery';
import type { Channel, Socket } from '../src/index';
import { usePlumeClients } from './clients';
import { useDurableClients } from './durable-clients';
import { useServers, windowOf } from './helpers';
import { frameOf, seeded, tapped } from './tap';
import { deadline } from './waiting';

const CLIENTS = 10;
const PER_CLIENT = 500;
const DISCONNECTS_PER_CLIENT = 9; // one in each tenth of a client's run but the last
const ACK_LOSS = 0.1;
const SEED = 20_261_127;
const TOPIC = 'room:soak';
const BUDGET_MS = 45_000;

const start = useServers();
const connect = usePlumeClients();
const { storage: openStorage } = useDurableClients();

interface Delivered {
  seq: number;
  id: string;
  from: string;
  n: number;
}

interface SoakClient {
  name: string;
  socket: Socket;
  room: Channel;
  storage: Durable;
  delivered: Delivered[];
  sentIds: string[];
  recoveries: Recovery[];
  acked: number;
  disconnects: number;
  droppedAcks: number;
  /** Ack counts at which the server drops this client. */
  cuts: number[];
}

describe('soak', () => {
  it('delivers 5,000 durable messages from 10 flaky clients to every client exactly once, in order', async () => {
    const { url, server } = await start({ historyLimit: 20_000 });
    const random = seeded(SEED);
    const total = CLIENTS * PER_CLIENT;
    let settle!: () => void;
    const finished = new Promise<void>((resolve) => (settle = resolve));
    const clients: SoakClient[] = [];
    const done = () => clients.every((c) => c.delivered.length >= total && c.storage.outbox.pending().length === 0 && c.sentIds.length === PER_CLIENT);
    const check = () => done() && settle();

    for (let i = 0; i < CLIENTS; i++) {
      const name = `c${i}`;
      const storage = openStorage(new IDBFactory(), `soak-${i}`);
      const lossy = seeded(SEED + 1 + i);
      const idRefs = new Set<string>();
      const tenth = PER_CLIENT / (DISCONNECTS_PER_CLIENT + 1);
      const cuts = Array.from({ length: DISCONNECTS_PER_CLIENT }, (_, k) => Math.floor(tenth * (k + random())) + 1);
      const soak: SoakClient = { name, socket: undefined as unknown as Socket, room: undefined as unknown as Channel, storage, delivered: [], sentIds: [], recoveries: [], acked: 0, disconnects: 0, droppedAcks: 0, cuts };
      soak.socket = connect(url, {
        params: { name },
        durable: storage,
        timeoutMs: 1000,
        reconnect: { baseMs: 20, maxMs: 100 },
        rejoin: { baseMs: 20, maxMs: 100 },
        gapWaitMs: 50,
        random: seeded(SEED + 100 + i),
        transport: tapped({
          outgoing(text) {
            const [, ref, , , , meta] = frameOf(text);
            if (ref !== null && meta?.id !== undefined) idRefs.add(ref);
          },
          incoming(text) {
            const [, ref, , event] = frameOf(text);
            if (event !== 'phx_reply' || ref === null || !idRefs.delete(ref)) return true;
            if (lossy() >= ACK_LOSS) return true;
            soak.droppedAcks++;
            return false;
          },
        }),
      });
      storage.outbox.onChange((entry) => {
        if (entry.status !== 'acked') return check();
        soak.acked++;
        // The server drops this client at its next cut point (once it is connected to be dropped).
        if (soak.cuts.length > 0 && soak.acked >= soak.cuts[0]! && server.disconnect((s) => s.assigns.name === name) > 0) {
          soak.cuts.shift();
          soak.disconnects++;
        }
        check();
      });
      const room = (soak.room = soak.socket.channel(TOPIC));
      room.on('msg', (payload, { meta }) => {
        soak.delivered.push({ seq: meta?.seq as number, id: meta?.id as string, from: String(payload.from), n: payload.n as number });
        check();
      });
      room.onRecover((report) => soak.recoveries.push(report));
      soak.socket.connect();
      clients.push(soak);
    }

    const began = performance.now();
    const cpuBefore = process.cpuUsage();
    // Everyone is a member before anyone sends: a first join replays nothing from before it.
    expect((await Promise.all(clients.map((c) => c.room.join()))).map((r) => r.status)).toEqual(Array(CLIENTS).fill('ok'));
    await Promise.all(clients.map(async (c) => {
      for (let n = 0; n < PER_CLIENT; n++) c.sentIds.push((await c.room.send('msg', { from: c.name, n })).id);
      check();
    }));
    await deadline(BUDGET_MS, 'every message to reach every client and every outbox to empty', finished).catch((error: unknown) => {
      // Say where each client is stuck.
      for (const c of clients) {
        const pending = c.storage.outbox.pending();
        const got = new Set(c.delivered.map((d) => d.seq));
        const missing = Array.from({ length: total }, (_, i) => i + 1).filter((seq) => !got.has(seq));
        console.log(`${c.name} missing ${missing.slice(0, 20).join(',')} recoveries ${JSON.stringify(c.recoveries.slice(0, 5))}`);
        console.log(`${c.name}: socket ${c.socket.state}, channel ${c.room.state}, sent ${c.sentIds.length}, acked ${c.acked}, pending ${pending.length} (${pending.slice(0, 3).map((e) => `${String(e.payload.n)}:${e.status}`).join(' ')}), delivered ${c.delivered.length}, last seq ${c.delivered.at(-1)?.seq}, disconnects ${c.disconnects}`);
      }
      throw error;
    });
    const durationMs = Math.round(performance.now() - began);
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);

    const disconnects = clients.reduce((sum, c) => sum + c.disconnects, 0);
    const droppedAcks = clients.reduce((sum, c) => sum + c.droppedAcks, 0);
    const deliveries = clients.reduce((sum, c) => sum + c.delivered.length, 0);
    console.log(`soak: ${total} messages sent, ${deliveries} deliveries, ${disconnects} forced disconnects, ${droppedAcks} dropped acks, ${durationMs} ms (${cpuMs} ms of CPU in this process, server included)`);

    // Applied exactly once each: one broadcast per message.
    expect(windowOf(server, TOPIC).head).toBe(total);
    const allIds = new Set(clients.flatMap((c) => c.sentIds));
    expect(allIds.size).toBe(total);
    const expectedSeqs = Array.from({ length: total }, (_, i) => i + 1);
    for (const c of clients) {
      expect(c.disconnects, `${c.name} disconnects`).toBeGreaterThanOrEqual(8);
      // By seq: every position once, in order, no gaps.
      expect(c.delivered.map((d) => d.seq)).toEqual(expectedSeqs);
      // By message id: every message sent by anyone, once.
      const ids = c.delivered.map((d) => d.id);
      expect(new Set(ids).size, `${c.name} distinct ids`).toBe(total);
      expect(ids.every((id) => allIds.has(id))).toBe(true);
      // Each sender's messages in its send order.
      for (const sender of clients) {
        const ns = c.delivered.filter((d) => d.from === sender.name).map((d) => d.n);
        expect(ns, `${sender.name}'s messages at ${c.name}`).toEqual(Array.from({ length: PER_CLIENT }, (_, n) => n));
      }
      expect(c.recoveries.filter((r) => !r.recovered)).toEqual([]);
      expect(c.storage.outbox.pending()).toEqual([]);
      expect(c.storage.outbox.rejected()).toEqual([]);
    }
    expect(droppedAcks).toBeGreaterThan(0);
  }, 60_000);
});
