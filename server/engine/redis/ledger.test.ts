/**
 * The Redis engine's ledger (`P:{topic}:l`, keys.ts): trimming a topic's
 * history reads each dropped entry's cost, sender and id from the ledger,
 * never the entry's payload, and keeps the topic's bytes, its senders'
 * shares and its ids exact; a topic written before the ledger existed gets
 * its ledger built from its stream on first use, epoch and entries kept.
 * On the run's own redis-server (test/global-redis.ts).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { entryCost } from '../engine';
import type { RedisEngine } from './engine';
import { topicKeys } from './keys';
import { broadcast, useRedisEngines } from '../../../test/redis-engines';

const engines = useRedisEngines();
const start = (prefix: string) => engines({ historyLimit: 3 }, prefix);

/** What Redis holds of a topic's accounting. */
async function accounting(engine: RedisEngine, prefix: string, topic: string) {
  const redis = engine.link.client;
  const keys = topicKeys(prefix, topic);
  const [meta, stream, ledger, users, ids] = await Promise.all([
    redis.hgetall(keys.meta), redis.xlen(keys.stream), redis.lrange(keys.ledger, 0, -1), redis.hgetall(keys.users), redis.hkeys(keys.ids),
  ]);
  return { bytes: Number(meta.b), layout: meta.v, epoch: meta.e, stream, ledger: ledger.map((r) => r.split(' ')[0]), users, ids: ids.map((k) => k.split('\0')[1]).sort() };
}

describe('the ledger', () => {
  it('trims without reading payloads back, keeping bytes, shares and ids exact', async () => {
    const prefix = `t${randomBytes(4).toString('hex')}`;
    const engine = await start(prefix);
    const sent = [1, 2, 3, 4, 5].map((n) => broadcast(`{"n":${n},"body":"${'x'.repeat(n * 10)}"}`, { id: `m${n}`, user: n % 2 ? 'odd' : 'even' }));
    for (const b of sent) await engine.log.publish('room:a', b);

    const held = sent.slice(2);
    const got = await accounting(engine, prefix, 'room:a');
    expect(got).toMatchObject({ layout: '2', stream: 3, ledger: ['3', '4', '5'], ids: ['m3', 'm4', 'm5'] });
    expect(got.bytes).toBe(held.reduce((sum, b) => sum + entryCost(b), 0));
    expect(got.users).toEqual({ odd: String(entryCost(sent[2]!) + entryCost(sent[4]!)), even: String(entryCost(sent[3]!)) });
    // A trimmed id is no longer known: sent again, it is a new broadcast; a held one answers with its position.
    expect((await engine.log.publish('room:a', broadcast('again', { id: 'm1', user: 'odd' }))).seq).toBe(6);
    expect((await engine.log.publish('room:a', broadcast('again', { id: 'm5', user: 'odd' }))).seq).toBe(5);
    expect((await engine.log.read('room:a', 1, 10, 10)).entries.map((e) => e.seq)).toEqual([4, 5, 6]);
  });

  it('is built from the stream for a topic written before it, which keeps its epoch and entries', async () => {
    const prefix = `t${randomBytes(4).toString('hex')}`;
    const keys = topicKeys(prefix, 'room:old');
    const engine = await start(prefix);
    const redis = engine.link.client;
    // The layout before the ledger: sender and cost in each stream entry, no `v` in the record.
    const now = Date.now();
    const costs = [0, 0, 0];
    for (let seq = 1; seq <= 3; seq++) {
      const b = broadcast(`{"n":${seq}}`, { id: `m${seq}`, user: 'u' });
      costs[seq - 1] = entryCost(b);
      await redis.xadd(keys.stream, `${seq}-0`, 'e', 'msg', 'p', b.payloadJson!, 'i', `m${seq}`, 'x', '', 'u', 'u', 't', String(now), 'c', String(costs[seq - 1]), 'k', '');
      await redis.hset(keys.ids, `u\0m${seq}`, String(seq));
    }
    const total = costs.reduce((a, b) => a + b, 0);
    await redis.hset(keys.users, 'u', String(total));
    await redis.hset(keys.meta, 'e', 'old-epoch', 's', '3', 'b', String(total), 't', String(now), 'r', String(now));

    const fourth = broadcast('{"n":4}', { id: 'm4', user: 'u' });
    expect(await engine.log.publish('room:old', fourth)).toMatchObject({ epoch: 'old-epoch', seq: 4 });
    const got = await accounting(engine, prefix, 'room:old');
    expect(got).toMatchObject({ layout: '2', epoch: 'old-epoch', stream: 3, ledger: ['2', '3', '4'], ids: ['m2', 'm3', 'm4'] });
    expect(got.bytes).toBe(costs[1]! + costs[2]! + entryCost(fourth));
    expect(got.users).toEqual({ u: String(got.bytes) });
    const read = await engine.log.read('room:old', 1, 10, 10);
    expect(read).toMatchObject({ epoch: 'old-epoch', head: 4, oldest: 2 });
    expect(read.entries.map((e) => e.payloadJson)).toEqual(['{"n":2}', '{"n":3}', '{"n":4}']);
  });
});
