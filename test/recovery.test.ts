/**
 * Joining with recovery and filling gaps, over the wire (PROTOCOL.md §7):
 * the join reply's order metadata, the replay that follows it before any
 * live broadcast, `recovered: false` when history cannot cover a gap, and
 * `plume:history` pages.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ok } from '../server/channels/channel';
import { ENTRY_OVERHEAD } from '../server/engine/memory/history';
import { PlumeServer } from '../server/server';
import { RawClient, deferred, useServers, type Frame, windowOf } from './helpers';
import { PLUME, joinOkWith, joinWith, pushWith, requestWith } from './plume-frames';
import type { BroadcastLog, Engine, EngineFactory } from '../server/engine/engine';
import { memoryEngine } from '../server/engine/memory/engine';

const start = useServers();

/** Servers a test starts by hand (on a fixed port), closed after it. */
const extraServers: PlumeServer[] = [];
const extraClients: RawClient[] = [];
afterEach(async () => {
  await Promise.all(extraClients.splice(0).map((c) => c.dispose()));
  await Promise.all(extraServers.splice(0).map((s) => s.close()));
});

const isMsg = (f: Frame) => f.event === 'm';
const seqOf = (f: Frame) => f.meta?.seq;

/** Broadcasts `count` messages `{n}` on `topic` from server code, numbered from `first`. */
function broadcastMany(server: PlumeServer, topic: string, count: number, first = 1): void {
  for (let n = first; n < first + count; n++) server.broadcast(topic, 'm', { n });
}

describe('joining with recovery', () => {
  it('answers a Plume join with {epoch, seq, from, recovered} and a plain join without meta', async () => {
    const { connect, server } = await start();
    broadcastMany(server, 'room:r', 3);
    const plume = await connect({ params: PLUME });
    const { reply } = await joinOkWith(plume, 'room:r');
    expect(reply.length).toBe(6);
    expect(reply.meta).toEqual({ epoch: windowOf(server, 'room:r').epoch, seq: 3, from: 4, recovered: true });
    expect(await plume.drain(isMsg)).toEqual([]);

    const plain = await connect();
    const ref = plain.ref();
    plain.send([ref, ref, 'room:r', 'phx_join', {}]);
    const plainReply = await plain.next((f) => f.ref === ref);
    expect(plainReply.length).toBe(5);
    expect(plainReply.raw).toBe(`["${ref}","${ref}","room:r","phx_reply",{"status":"ok","response":{}}]`);
  });

  it('replays everything after `since` in order, before any live broadcast, even when broadcasts race the join', async () => {
    const gate = deferred();
    const { connect, server } = await start({}, (s) => s.channel('slow:*', {
      join: async (_topic, params) => {
        if (params.wait) await gate.promise;
      },
      handleIn(event, payload, socket) {
        socket.broadcast(event, payload);
        return ok();
      },
    }));
    const writer = await connect({ name: 'writer', params: PLUME });
    const { joinRef: w } = await joinOkWith(writer, 'slow:1');
    for (let n = 1; n <= 5; n++) await writer.request('slow:1', 'm', { n }, w);
    const epoch = windowOf(server, 'slow:1').epoch;

    const reader = await connect({ name: 'reader', params: PLUME });
    const ref = reader.ref();
    reader.send([ref, ref, 'slow:1', 'phx_join', { wait: true }, { since: { epoch, seq: 2 } }]);
    // While the join is held up, two more broadcasts are made: they belong to the replay.
    for (let n = 6; n <= 7; n++) await writer.request('slow:1', 'm', { n }, w);
    gate.resolve();
    // Right after the join completes, more broadcasts race in from another client and from server code.
    for (let n = 8; n <= 9; n++) writer.push('slow:1', 'm', { n }, w);
    setImmediate(() => server.broadcast('slow:1', 'm', { n: 10 }));

    const last = await reader.next((f) => isMsg(f) && seqOf(f) === 10);
    // Everything else is still in the inbox, in arrival order.
    const arrived = [...reader.inbox.splice(0).filter((f) => f.event === 'phx_reply' || isMsg(f)), last];
    expect(arrived[0]?.event).toBe('phx_reply');
    expect(arrived[0]?.meta).toEqual({ epoch, seq: 7, from: 3, recovered: true });
    const messages = arrived.slice(1);
    expect(messages.map(seqOf)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    // The replay (3..7) in order; the three live ones in whatever order the server took them.
    expect(messages.slice(0, 5).map((f) => f.payload.n)).toEqual([3, 4, 5, 6, 7]);
    expect(messages.slice(5).map((f) => f.payload.n as number).sort((a, b) => a - b)).toEqual([8, 9, 10]);
    expect(await reader.drain(isMsg)).toEqual([]);
  });

  it('replays broadcasts as ordinary broadcast frames, byte for byte what live members got', async () => {
    const { connect, server } = await start();
    const live = await connect({ name: 'live', params: PLUME });
    await live.joinOk('room:bytes');
    server.broadcast('room:bytes', 'm', { body: 'héllo "x"' });
    const liveFrame = await live.next(isMsg);
    const late = await connect({ name: 'late', params: PLUME });
    await joinOkWith(late, 'room:bytes', { since: { epoch: liveFrame.meta?.epoch, seq: 0 } });
    expect((await late.next(isMsg)).raw).toBe(liveFrame.raw);
  });

  it('replays the latest N broadcasts on a first join with `history: N`', async () => {
    const { connect, server } = await start();
    broadcastMany(server, 'room:h', 10);
    const client = await connect({ params: PLUME });
    const { reply } = await joinOkWith(client, 'room:h', { history: 4 });
    expect(reply.meta).toMatchObject({ seq: 10, from: 7, recovered: true });
    const frames = await client.take(4, isMsg);
    expect(frames.map((f) => f.payload.n)).toEqual([7, 8, 9, 10]);
    expect(frames.map(seqOf)).toEqual([7, 8, 9, 10]);
    expect(await client.drain(isMsg)).toEqual([]);
  });

  it('says recovered: false when the history limit trimmed the gap, and still replays what it holds', async () => {
    const { connect, server } = await start({ historyLimit: 3 });
    const reader = await connect({ name: 'reader', params: PLUME });
    await reader.joinOk('room:trim');
    broadcastMany(server, 'room:trim', 1);
    const first = await reader.next(isMsg);
    await reader.dispose();
    broadcastMany(server, 'room:trim', 5, 2); // seqs 2..6; history keeps 4..6
    const back = await connect({ name: 'reader', params: PLUME });
    const { reply } = await joinOkWith(back, 'room:trim', { since: first.meta });
    expect(reply.meta).toEqual({ epoch: first.meta?.epoch, seq: 6, from: 4, recovered: false });
    const replayed = await back.take(3, isMsg);
    expect(replayed.map(seqOf)).toEqual([4, 5, 6]);
    expect(await back.drain(isMsg)).toEqual([]);
  });

  it('says recovered: false when the byte budget dropped part of the gap, across topics, and replays what it holds', async () => {
    // Each broadcast is {"n":N} padded here to count 1 KB (event and bookkeeping included); the budget holds three.
    const { connect, server } = await start({ historyMaxBytes: 3 * 1024, historyMaxBytesPerTopic: 3 * 1024 });
    const pad = (n: number) => ({ n, pad: 'x'.repeat(1024 - 1 - ENTRY_OVERHEAD - 15 - String(n).length) });
    const reader = await connect({ name: 'reader', params: PLUME });
    await reader.joinOk('room:budget');
    await server.broadcast('room:budget', 'm', pad(1));
    const first = await reader.next(isMsg);
    await reader.dispose();
    await server.broadcast('room:budget', 'm', pad(2));
    await server.broadcast('room:budget', 'm', pad(3));
    await server.broadcast('room:other', 'm', pad(1)); // the oldest entries go first, whichever topic they are in
    await server.broadcast('room:budget', 'm', pad(4));
    expect(server.stats().history).toMatchObject({ heldBytes: 3 * 1024, evictedForBudget: 2 });
    const back = await connect({ name: 'reader', params: PLUME });
    const { reply } = await joinOkWith(back, 'room:budget', { since: first.meta });
    expect(reply.meta).toEqual({ epoch: first.meta?.epoch, seq: 4, from: 3, recovered: false });
    expect((await back.take(2, isMsg)).map(seqOf)).toEqual([3, 4]);
    expect(await back.drain(isMsg)).toEqual([]);
  });

  it('refuses a byte budget that is not a positive number', () => {
    expect(() => new PlumeServer({ logger: false, historyMaxBytes: 0 })).toThrow(/historyMaxBytes must be a positive number/);
  });

  it('says recovered: false after an epoch change (a new server on the same port)', async () => {
    const first = await start();
    const reader = await first.connect({ name: 'reader', params: PLUME });
    await reader.joinOk('room:epoch');
    broadcastMany(first.server, 'room:epoch', 3);
    const seen = await reader.take(3, isMsg);
    const before = seen[2]?.meta as { epoch: string; seq: number };
    await first.server.close();

    const second = new PlumeServer({ logger: false });
    extraServers.push(second);
    await second.listen(first.port, '127.0.0.1');
    broadcastMany(second, 'room:epoch', 2, 100);
    const back = await RawClient.connect(first.socketUrl, { name: 'reader', params: PLUME });
    extraClients.push(back);
    const { reply } = await joinOkWith(back, 'room:epoch', { since: before });
    const epoch = windowOf(second, 'room:epoch').epoch;
    expect(epoch).not.toBe(before.epoch);
    expect(reply.meta).toEqual({ epoch, seq: 2, from: 1, recovered: false });
    const replayed = await back.take(2, isMsg);
    expect(replayed.map((f) => [f.meta?.epoch, f.meta?.seq, f.payload.n])).toEqual([[epoch, 1, 100], [epoch, 2, 101]]);
  });
});

describe('plume:history', () => {
  async function joined(options: { historyLimit?: number; historyPageSize?: number } = {}) {
    const { connect, server } = await start(options);
    const client = await connect({ params: PLUME });
    const { joinRef, reply } = await joinOkWith(client, 'room:g');
    return { client, joinRef, epoch: reply.meta?.epoch as string, server };
  }

  it('fills a range with the held broadcasts, in order, complete', async () => {
    const { client, joinRef, epoch, server } = await joined();
    server.broadcast('room:g', 'a', { n: 1 });
    server.broadcast('room:g', 'b', { n: 2 });
    server.broadcast('room:g', 'c', { n: 3 });
    const reply = await requestWith(client, 'room:g', joinRef, 'plume:history', { epoch, from: 2, to: 3 });
    expect(reply.payload).toEqual({
      status: 'ok',
      response: { epoch, complete: true, entries: [{ seq: 2, event: 'b', payload: { n: 2 } }, { seq: 3, event: 'c', payload: { n: 3 } }] },
    });
  });

  it('says complete: false for a range history trimmed, listing what it still holds', async () => {
    const { client, joinRef, epoch, server } = await joined({ historyLimit: 3 });
    broadcastMany(server, 'room:g', 6); // holds 4..6
    const reply = await requestWith(client, 'room:g', joinRef, 'plume:history', { epoch, from: 2, to: 5 });
    const response = reply.payload.response as { complete: boolean; entries: Array<{ seq: number }> };
    expect(response.complete).toBe(false);
    expect(response.entries.map((e) => e.seq)).toEqual([4, 5]);
  });

  it('says complete: false and lists nothing for another epoch', async () => {
    const { client, joinRef, epoch, server } = await joined();
    broadcastMany(server, 'room:g', 2);
    const reply = await requestWith(client, 'room:g', joinRef, 'plume:history', { epoch: 'not-this-one', from: 1, to: 2 });
    expect(reply.payload.response).toEqual({ epoch, complete: false, entries: [] });
  });

  it('cuts a long range at historyPageSize, complete, so the client asks for the rest', async () => {
    const { client, joinRef, epoch, server } = await joined({ historyPageSize: 2 });
    broadcastMany(server, 'room:g', 5);
    const reply = await requestWith(client, 'room:g', joinRef, 'plume:history', { epoch, from: 1, to: 5 });
    const response = reply.payload.response as { complete: boolean; entries: Array<{ seq: number }> };
    expect(response.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(response.complete).toBe(true);
  });

  it('refuses a request on a topic that is not joined, a malformed one, and one from a plain socket', async () => {
    const { client, joinRef, epoch } = await joined();
    expect((await requestWith(client, 'room:other', joinRef, 'plume:history', { epoch, from: 1, to: 2 })).payload)
      .toEqual({ status: 'error', response: { reason: 'unmatched topic' } });
    expect((await requestWith(client, 'room:g', joinRef, 'plume:history', { epoch, from: 3, to: 2 })).payload)
      .toEqual({ status: 'error', response: { reason: 'invalid payload' } });
    const { connect } = await start();
    const plain = await connect();
    const plainRef = await plain.joinOk('room:g');
    expect(await plain.request('room:g', 'plume:history', { epoch, from: 1, to: 2 }, plainRef))
      .toEqual({ status: 'error', response: { reason: 'unknown event' } });
  });
});

describe('broadcasts made while a join is being answered', () => {
  /** The memory engine, with `window` or `read` of history held, once armed, until `gate` opens. */
  function gated(which: 'window' | 'read', armed: { now: boolean }, gate: Promise<void>): EngineFactory {
    return (context) => {
      const engine = memoryEngine()(context);
      const log = engine.log;
      const hold = async (what: 'window' | 'read') => {
        if (what === which && armed.now) await gate;
      };
      const slow: BroadcastLog = {
        publish: (topic, broadcast) => log.publish(topic, broadcast),
        subscribe: (topic, handler) => log.subscribe(topic, handler),
        unsubscribe: (subscription) => log.unsubscribe(subscription),
        window: async (topic) => (await hold('window'), log.window(topic)),
        read: async (topic, from, to, limit) => (await hold('read'), log.read(topic, from, to, limit)),
      };
      return Object.assign(Object.create(engine) as Engine, { log: slow });
    };
  }

  it.each(['window', 'read'] as const)('are held while the join\'s %s of history is awaited, then follow the replay in order, each once', async (which) => {
    const gate = deferred();
    const armed = { now: false };
    const { connect, server } = await start({ engine: gated(which, armed, gate.promise) });
    const reader = await connect({ name: 'reader', params: PLUME });
    await reader.joinOk('room:held');
    for (let n = 1; n <= 3; n++) await server.broadcast('room:held', 'm', { n });
    const seen = await reader.take(3, isMsg);
    await reader.dispose();
    for (let n = 4; n <= 5; n++) await server.broadcast('room:held', 'm', { n });
    const back = await connect({ name: 'reader', params: PLUME });
    armed.now = true;
    const ref = pushWith(back, 'room:held', back.ref(), 'phx_join', {}, { since: seen[2]!.meta });
    await back.heartbeat(); // the join was handled, and now waits on history
    // Made while the join waits: these two must neither be lost nor come twice.
    for (let n = 6; n <= 7; n++) await server.broadcast('room:held', 'm', { n });
    expect(back.inbox.filter(isMsg)).toEqual([]); // nothing before the join reply
    gate.resolve();
    const reply = await back.next((f) => f.event === 'phx_reply' && f.ref === ref);
    expect(reply.meta).toMatchObject({ recovered: true, from: 4, seq: which === 'window' ? 7 : 5 });
    const frames = await back.take(4, isMsg);
    expect(frames.map(seqOf)).toEqual([4, 5, 6, 7]);
    expect(frames.map((f) => f.payload.n)).toEqual([4, 5, 6, 7]);
    expect(await back.drain(isMsg)).toEqual([]);
  });
});
