/**
 * Servers on the Redis engine, in this process, against a real
 * redis-server: several nodes share one order per topic, one dedupe table
 * and presence; a client recovers on another node; Redis going away and
 * coming back empty loses nothing that was accepted and hides nothing that
 * was lost.
 */
import { randomBytes } from 'node:crypto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { redisEngine } from '../server/engine/redis/engine';
import type { ServerOptions } from '../server/options';
import { record, take, useDurableClients } from './durable-clients';
import { health, useServers, type Frame, type TestServer } from './helpers';
import { PLUME, joinOkWith, requestWith } from './plume-frames';
import { RedisServer } from './redis-server';
import { deadline } from './waiting';

const start = useServers();
const { client, storage } = useDurableClients();
const ownRedis: RedisServer[] = [];
afterEach(async () => {
  await Promise.all(ownRedis.splice(0).map((r) => r.stop()));
});

/** Nodes `a`, `b`, … on one Redis with a key prefix of this test's own. */
async function nodes(count: number, url = inject('redisUrl'), options: ServerOptions = {}): Promise<TestServer[]> {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const list: TestServer[] = [];
  for (let i = 0; i < count; i++) list.push(await start({ engine: redisEngine({ url, prefix }), nodeId: String.fromCharCode(97 + i), presenceCoalesceMs: 0, ...options }));
  return list;
}

const isMsg = (f: Frame) => f.event === 'msg';

/** Polls until `check` holds. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  await deadline(ms, what, (async () => {
    while (!(await check())) await new Promise((r) => setTimeout(r, 20));
  })());
}

describe('several nodes on one Redis', () => {
  it('give a topic one gap-free order whichever node a push lands on, seen alike by Phoenix and Plume sockets on every node', async () => {
    const [a, b, c] = await nodes(3);
    const phoenix = await a!.connect({ name: 'phoebe' });
    const plume = await b!.connect({ name: 'ada', params: PLUME });
    const third = await c!.connect({ name: 'carl', params: PLUME });
    const phoenixJoin = await phoenix.joinOk('room:one');
    const { joinRef } = await joinOkWith(plume, 'room:one');
    await joinOkWith(third, 'room:one');
    for (let n = 1; n <= 30; n++) {
      const [sender, ref] = n % 3 === 0 ? [phoenix, phoenixJoin] : n % 3 === 1 ? [plume, joinRef] : [third, null];
      if (ref === null) await joinOkWith(third, 'room:one').then(({ joinRef: j }) => third.push('room:one', 'msg', { n }, j));
      else sender.push('room:one', 'msg', { n }, ref);
    }
    const onPlume = await plume.take(30, isMsg, 5000);
    const onPhoenix = await phoenix.take(30, isMsg, 5000);
    expect(onPlume.map((f) => f.meta?.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(onPhoenix.map((f) => f.payload.n)).toEqual(onPlume.map((f) => f.payload.n));
    expect(onPhoenix.every((f) => f.length === 5)).toBe(true); // plain Phoenix frames: no order metadata
  });

  it('show the same presences on every node, and drop a node\'s members when it shuts down', async () => {
    const [a, b] = await nodes(2);
    const ada = await a!.connect({ name: 'Ada' });
    const bob = await b!.connect({ name: 'Bob' });
    await ada.joinOk('room:p');
    await bob.joinOk('room:p');
    await until('both nodes to list Ada and Bob', () => [a, b].every((n) => Object.keys(n!.server.presence.list('room:p')).sort().join() === 'Ada,Bob'));
    await b!.server.close();
    await until('a to drop Bob', () => Object.keys(a!.server.presence.list('room:p')).join() === 'Ada');
  });

  it('let a client that reconnects to another node recover what it missed, recovered: true', async () => {
    const [a, b] = await nodes(2);
    const reader = await a!.connect({ name: 'reader', params: PLUME });
    await joinOkWith(reader, 'room:r');
    for (let n = 1; n <= 3; n++) await a!.server.broadcast('room:r', 'msg', { n });
    const seen = await reader.take(3, isMsg);
    await reader.dispose();
    for (let n = 4; n <= 6; n++) await b!.server.broadcast('room:r', 'msg', { n });
    const back = await b!.connect({ name: 'reader', params: PLUME });
    const { reply } = await joinOkWith(back, 'room:r', { since: seen[2]!.meta });
    expect(reply.meta).toMatchObject({ epoch: seen[2]!.meta?.epoch, seq: 6, from: 4, recovered: true });
    expect((await back.take(3, isMsg)).map((f) => f.payload.n)).toEqual([4, 5, 6]);
    expect(await back.drain(isMsg)).toEqual([]);
  });

  it('apply a message id once across nodes: a retry on another node gets the original reply and position', async () => {
    const [a, b] = await nodes(2);
    const watcher = await a!.connect({ name: 'watcher', params: PLUME });
    await joinOkWith(watcher, 'room:d');
    const onA = await a!.connect({ name: 'ada', params: PLUME });
    const onB = await b!.connect({ name: 'ada', params: PLUME });
    const first = await requestWith(onA, 'room:d', (await joinOkWith(onA, 'room:d')).joinRef, 'msg', { n: 1 }, { id: 'once' });
    const retry = await requestWith(onB, 'room:d', (await joinOkWith(onB, 'room:d')).joinRef, 'msg', { n: 1 }, { id: 'once' });
    expect(first.payload).toEqual({ status: 'ok', response: {} });
    expect(retry.payload).toEqual(first.payload);
    expect(retry.meta).toEqual({ ...first.meta, dup: true });
    expect((await watcher.take(1, isMsg)).map((f) => f.meta?.id)).toEqual(['once']);
    expect(await watcher.drain(isMsg)).toEqual([]);
  });
});

describe('when Redis goes away', () => {
  it('keeps serving, answers pushes "unavailable", reports it on /health and /ready, and recovers by itself', async () => {
    const redis = await RedisServer.start();
    ownRedis.push(redis);
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => warnings.push(m), error: () => {} };
    const [node] = await nodes(1, redis.url, { logger });
    const ada = await node!.connect({ name: 'ada', params: PLUME });
    const { joinRef } = await joinOkWith(ada, 'room:down');
    await redis.stop();
    await until('the engine to notice', () => !node!.server.engine.health().ready);
    for (let i = 0; i < 5; i++) {
      expect((await requestWith(ada, 'room:down', joinRef, 'msg', { i }, { id: `down-${i}` })).payload).toEqual({ status: 'error', response: { reason: 'unavailable' } });
    }
    expect(warnings.filter((w) => /cannot reach Redis/.test(w)), warnings.join("\n")).toHaveLength(1); // said once, not once per push
    expect((await health(node!.url)).status).toBe(200);
    expect((await fetch(`${node!.url}/ready`)).status).toBe(503);
    await redis.restart();
    await until('the engine to reconnect', () => node!.server.engine.health().ready, 10_000);
    expect((await fetch(`${node!.url}/ready`)).status).toBe(200);
    const back = await requestWith(ada, 'room:down', joinRef, 'msg', { i: 0 }, { id: 'down-0' });
    expect(back.payload).toEqual({ status: 'ok', response: {} });
    expect(back.meta).toMatchObject({ seq: 1 });
  });

  it('tells a recovering client recovered: false when Redis came back empty, and delivers queued sends exactly once', async () => {
    const redis = await RedisServer.start();
    ownRedis.push(redis);
    const [node] = await nodes(1, redis.url);
    const idb = new IDBFactory();
    const ada = client(node!.url, 'ada', { durable: storage(idb, 'ada') });
    const reader = client(node!.url, 'reader');
    const mine = record(ada, 'room:lost');
    const theirs = record(reader, 'room:lost');
    await Promise.all([mine.room.join(), theirs.room.join()]);
    await mine.room.send('msg', { body: 'before' });
    expect(await take(theirs.bodies, 1)).toEqual(['before']);
    await redis.restart(); // no persistence: everything is gone
    for (const body of ['during-1', 'during-2']) await mine.room.send('msg', { body });
    // Pushes are answered unavailable until the engine reconnects, and retried by the outbox; they arrive once.
    expect(await take(theirs.bodies, 2, 10_000)).toEqual(['during-1', 'during-2']);
    // The reader's channel stayed joined: the new epoch made it join again, and the app is told.
    expect(await theirs.recoveries.next(5000)).toMatchObject({ recovered: false, reason: 'rejoin' });
    await until('the outbox to empty', () => ada.outbox!.pending().length === 0, 10_000);
    expect(theirs.seen.map((s) => s.body)).toEqual(['before', 'during-1', 'during-2']);
    expect(new Set(theirs.seen.map((s) => s.id)).size).toBe(3);
  });
});
