/**
 * The Plume client against a server's limits (PROTOCOL.md §5, §6): a
 * durable sender past the frame rate is held back, every message
 * acknowledged once and in order; a client closed for flooding (4420) says
 * so and comes back after a longer backoff, its channel joined again.
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { PlumeError } from '../src/errors';
import { nextState, usePlumeClients } from './clients';
import { record, take, useDurableClients } from './durable-clients';
import { useServers, windowOf } from './helpers';
import { tapped } from './tap';

const start = useServers();
const { client, storage } = useDurableClients();
const plumeClient = usePlumeClients();

describe('the client at the server\'s rate limits', () => {
  it('has a durable burst past the frame rate held back, not refused: all acknowledged once, in order', async () => {
    const { url, server } = await start({ rateLimit: { framesPerSecond: 200, frameBurst: 50 } });
    const bob = record(client(url, 'bob'), 'room:busy');
    await bob.room.join();
    // 120 messages wait in the outbox: joining flushes a window of 64 at once, past the burst of 50.
    const store = storage(new IDBFactory(), 'ada');
    for (let i = 1; i <= 120; i++) await store.outbox.add('room:busy', 'msg', { body: `m${i}` });
    let refused = 0;
    const ada = client(url, 'ada', {
      durable: store,
      transport: tapped({ incoming: (text) => ((refused += text.includes('"rate limited"') ? 1 : 0), true) }),
    });
    const settled = Promise.all(store.outbox.pending().map((e) => store.outbox.settled(e.id)));
    await ada.channel('room:busy').join();
    expect((await settled).map((e) => e.status)).toEqual(Array(120).fill('acked'));
    expect(refused).toBe(0);
    expect(await take(bob.bodies, 120, 10_000)).toEqual(Array.from({ length: 120 }, (_, i) => `m${i + 1}`));
    expect(windowOf(server, 'room:busy').head).toBe(120);
    expect(store.outbox.rejected()).toEqual([]);
  }, 30_000);

  it('reports a close for flooding (4420) as rate_limited, reconnects after 2 s or more, and joins its channel again', async () => {
    const { url } = await start({ rateLimit: { framesPerSecond: 20, frameBurst: 20, maxThrottleMs: 300 } });
    const socket = plumeClient(url, { params: { name: 'eager' }, timeoutMs: 1000 });
    const errors: PlumeError[] = [];
    socket.onError((e) => errors.push(e));
    socket.connect();
    const room = socket.channel('room:eager');
    await room.join();
    const cut = nextState(socket, (c) => c.to === 'reconnecting', 5000);
    const results = Array.from({ length: 100 }, (_, i) => room.push('msg', { n: i }));
    const lost = await cut;
    const cutAt = performance.now();
    expect(lost.reason).toMatch(/^closed 4420/);
    expect(errors.map((e) => [e.code, e.closeCode])).toEqual([['rate_limited', 4420]]);
    // Pushes handled before the cut are answered; the rest time out (a plain push is not retried).
    expect((await Promise.all(results)).map((r) => r.status)).toContain('timeout');
    await nextState(socket, (c) => c.to === 'open', 8000);
    expect(performance.now() - cutAt).toBeGreaterThanOrEqual(1900); // backoff(5) with the defaults: 2-4 s
    await expect.poll(() => room.state, { timeout: 5000 }).toBe('joined');
    expect((await room.push('msg', { n: 'after' })).status).toBe('ok');
  }, 30_000);
});
