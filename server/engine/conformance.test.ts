/**
 * The engine conformance suite: what the server relies on from an engine
 * (`engine.ts`), run against every implementation — the memory engine and
 * the Redis engine on a real redis-server (the run's own, see
 * test/global-redis.ts). Two nodes of one cluster are two engines on one
 * store (memory) or one Redis.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../log';
import { QuotaExceeded, entryCost, type Engine, type EngineFactory, type EngineLimits, type NewBroadcast, type SequencedBroadcast } from './engine';
import { MemoryStore, memoryEngine } from './memory/engine';
import { redisEngine } from './redis/engine';

const LIMITS: EngineLimits = {
  historyLimit: 1000, historyMaxAgeMs: 3_600_000, historyMaxBytes: 256 * 2 ** 20, historyMaxBytesPerTopic: 16 * 2 ** 20, historyMaxBytesPerUser: 16 * 2 ** 20,
  dedupeWindowMs: 86_400_000, dedupeMaxEntries: 200_000, dedupeMaxPerUser: 10_000,
};

/** Makes the nodes of one cluster of an engine kind. */
interface Kind {
  name: string;
  cluster(limits?: Partial<EngineLimits>): (node: string) => Promise<Engine>;
}

const started: Engine[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.close()));
});

function cluster(factory: () => EngineFactory, limits: Partial<EngineLimits>): (node: string) => Promise<Engine> {
  const make = factory();
  return async (node) => {
    const engine = make({ node, limits: { ...LIMITS, ...limits }, log: silentLogger });
    started.push(engine);
    await engine.start();
    return engine;
  };
}

const KINDS: Kind[] = [
  { name: 'memory', cluster: (limits = {}) => cluster(() => memoryEngine({ store: new MemoryStore() }), limits) },
  { name: 'redis', cluster: (limits = {}) => cluster(() => redisEngine({ url: inject('redisUrl'), prefix: `t${randomBytes(4).toString('hex')}` }), limits) },
];

const broadcast = (n: number, more: Partial<NewBroadcast> = {}): NewBroadcast => {
  const payloadJson = JSON.stringify({ n });
  return { event: 'msg', payloadJson, payloadBytes: Buffer.from(payloadJson), exclude: null, user: '', ...more };
};
const costOf = entryCost;

/** Collects what a subscription receives; `until(n)` waits for the n-th. */
function recorder(engine: Engine, topic: string): { got: SequencedBroadcast[]; ready: Promise<void>; until: (n: number) => Promise<void> } {
  const got: SequencedBroadcast[] = [];
  const waiters: Array<() => void> = [];
  const subscription = engine.log.subscribe(topic, (b) => {
    got.push(b);
    for (const wake of waiters.splice(0)) wake();
  });
  const until = async (n: number) => {
    const deadline = Date.now() + 3000;
    while (got.length < n) {
      if (Date.now() > deadline) throw new Error(`got ${got.length} of ${n} broadcasts on ${topic}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  return { got, ready: subscription.ready, until };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(KINDS)('the $name engine', (kind) => {
  describe('broadcast log', () => {
    it('gives each topic its own gap-free order, starting at 1, in the epoch a window told', async () => {
      const node = await kind.cluster()('a');
      const told = await node.log.window('room:a');
      expect(told).toEqual({ epoch: expect.any(String), head: 0, oldest: 1 });
      expect(await node.log.publish('room:a', broadcast(1))).toEqual({ epoch: told.epoch, seq: 1 });
      expect(await node.log.publish('room:a', broadcast(2))).toEqual({ epoch: told.epoch, seq: 2 });
      expect((await node.log.publish('room:b', broadcast(1))).seq).toBe(1);
      expect(await node.log.window('room:a')).toEqual({ epoch: told.epoch, head: 2, oldest: 1 });
    });

    it('delivers a topic\'s broadcasts to every node\'s subscribers in one order, whichever node made them', async () => {
      const make = kind.cluster();
      const [a, b] = [await make('a'), await make('b')];
      const onA = recorder(a, 'room:x');
      const onB = recorder(b, 'room:x');
      await Promise.all([onA.ready, onB.ready]);
      const made = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).log.publish('room:x', broadcast(i))));
      expect(made.map((p) => p.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      await Promise.all([onA.until(40), onB.until(40)]);
      for (const seen of [onA.got, onB.got]) expect(seen.map((g) => g.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(onA.got.map((g) => g.payloadBytes.toString())).toEqual(onB.got.map((g) => g.payloadBytes.toString()));
    });

    it('carries event, payload bytes, message id and the excluded socket to subscribers', async () => {
      const node = await kind.cluster()('a');
      const on = recorder(node, 'room:c');
      await on.ready;
      const payloadJson = JSON.stringify({ body: 'héllo 日本 🎉' });
      const position = await node.log.publish('room:c', { event: 'new_msg', payloadJson, payloadBytes: Buffer.from(payloadJson), id: 'm-1', exclude: 'sock-9', user: 'ada' });
      await on.until(1);
      const [got] = on.got;
      expect(got).toMatchObject({ topic: 'room:c', epoch: position.epoch, seq: 1, event: 'new_msg', id: 'm-1', exclude: 'sock-9' });
      expect(got!.payloadBytes.toString()).toBe(payloadJson);
    });

    it('delivers a folded broadcast whole, keeps it in history by position and event only, and counts it small against its sender', async () => {
      const doc = (n: number): NewBroadcast => ({ event: 'plume:doc', payloadJson: '', payloadBytes: Buffer.from([2, n, 0, 0]), binary: true, folded: true, exclude: null, user: 'ada' });
      const node = await kind.cluster({ historyMaxBytesPerUser: 3 * costOf(doc(1)) })('a');
      const on = recorder(node, 'room:f');
      await on.ready;
      await node.log.publish('room:f', doc(1));
      await node.log.publish('room:f', broadcast(2));
      await node.log.publish('room:f', doc(3));
      await node.log.publish('room:f', doc(4));
      await expect(node.log.publish('room:f', doc(5))).rejects.toBeInstanceOf(QuotaExceeded);
      await on.until(4);
      expect(on.got.map((b) => [b.seq, b.event, b.binary ?? false, b.folded ?? false, [...b.payloadBytes.subarray(0, 2)]])).toEqual([
        [1, 'plume:doc', true, false, [2, 1]], [2, 'msg', false, false, [123, 34]], [3, 'plume:doc', true, false, [2, 3]], [4, 'plume:doc', true, false, [2, 4]],
      ]);
      const read = await node.log.read('room:f', 1, 4, 10);
      expect(read.entries.map(({ seq, event, payloadJson, binary, folded }) => ({ seq, event, payloadJson, binary, folded }))).toEqual([
        { seq: 1, event: 'plume:doc', payloadJson: '', binary: undefined, folded: true },
        { seq: 2, event: 'msg', payloadJson: '{"n":2}', binary: undefined, folded: undefined },
        { seq: 3, event: 'plume:doc', payloadJson: '', binary: undefined, folded: true },
        { seq: 4, event: 'plume:doc', payloadJson: '', binary: undefined, folded: true },
      ]);
      expect(read.complete).toBe(true);
    });

    it('has a node\'s own broadcasts reach its subscribers by the time each publish resolves, in order with other nodes\'', async () => {
      const make = kind.cluster();
      const a = await make('a');
      const b = await make('b');
      const on = recorder(a, 'room:own');
      await on.ready;
      // Once a first broadcast arrived the usual way, the node knows where the topic stands.
      await b.log.publish('room:own', broadcast(1));
      await on.until(1);
      const late: number[] = [];
      for (let n = 2; n <= 21; n++) {
        const { seq } = await a.log.publish('room:own', broadcast(n));
        if (on.got.at(-1)?.seq !== seq) late.push(seq);
      }
      expect(late).toEqual([]);
      await b.log.publish('room:own', broadcast(22));
      await a.log.publish('room:own', broadcast(23));
      // Another node's broadcast comes after every copy of a's on the channel: any duplicate would be in by then.
      await b.log.publish('room:own', broadcast(24));
      await on.until(24);
      expect(on.got.map((x) => x.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      expect(on.got.map((x) => JSON.parse(x.payloadBytes.toString()) as { n: number }).map((p) => p.n)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    });

    it('stops delivering after unsubscribe', async () => {
      const node = await kind.cluster()('a');
      const kept = recorder(node, 'room:u');
      const dropped: SequencedBroadcast[] = [];
      const subscription = node.log.subscribe('room:u', (b) => dropped.push(b));
      await Promise.all([kept.ready, subscription.ready]);
      node.log.unsubscribe(subscription);
      await node.log.publish('room:u', broadcast(1));
      await kept.until(1);
      expect(dropped).toEqual([]);
    });

    it('reads ranges of the current epoch, cut at a limit, and says when part of a range is gone', async () => {
      const node = await kind.cluster({ historyLimit: 5 })('a');
      for (let n = 1; n <= 8; n++) await node.log.publish('room:r', broadcast(n, { id: `m${n}`, exclude: n === 8 ? 'sock-1' : null }));
      const window = await node.log.window('room:r');
      expect(window).toMatchObject({ head: 8, oldest: 4 });
      const read = await node.log.read('room:r', 4, 8, 3);
      expect(read).toMatchObject({ epoch: window.epoch, head: 8, oldest: 4, complete: true });
      expect(read.entries.map((e) => [e.seq, e.event, JSON.parse(e.payloadJson).n, e.id])).toEqual([[4, 'msg', 4, 'm4'], [5, 'msg', 5, 'm5'], [6, 'msg', 6, 'm6']]);
      expect((await node.log.read('room:r', 7, 99, 10)).entries.at(-1)).toMatchObject({ seq: 8, exclude: 'sock-1' });
      const trimmed = await node.log.read('room:r', 2, 5, 10);
      expect(trimmed.complete).toBe(false);
      expect(trimmed.entries.map((e) => e.seq)).toEqual([4, 5]);
      expect((await node.log.read('room:r', 9, 20, 10))).toMatchObject({ entries: [], complete: true });
      expect(Number.isInteger(read.entries[0]!.at)).toBe(true);
    });

    it('drops entries older than historyMaxAgeMs', async () => {
      const node = await kind.cluster({ historyMaxAgeMs: 300 })('a');
      await node.log.publish('room:age', broadcast(1));
      await sleep(400);
      await node.log.publish('room:age', broadcast(2));
      expect(await node.log.window('room:age')).toMatchObject({ head: 2, oldest: 2 });
    });

    it('keeps a topic within historyMaxBytesPerTopic by dropping its own oldest entries', async () => {
      const node = await kind.cluster({ historyMaxBytesPerTopic: 3 * costOf(broadcast(9)) })('a');
      await node.log.publish('room:quiet', broadcast(1));
      for (let n = 1; n <= 9; n++) await node.log.publish('room:busy', broadcast(n));
      expect(await node.log.window('room:busy')).toMatchObject({ head: 9, oldest: 7 });
      expect(await node.log.window('room:quiet')).toMatchObject({ head: 1, oldest: 1 });
    });

    it('refuses a user\'s broadcast beyond historyMaxBytesPerUser, applying nothing, and counts server code for nobody', async () => {
      const share = 3 * costOf(broadcast(1));
      const node = await kind.cluster({ historyMaxBytesPerUser: share })('a');
      for (let n = 1; n <= 3; n++) await node.log.publish('room:q', broadcast(n, { user: 'mallory' }));
      await expect(node.log.publish('room:q', broadcast(4, { user: 'mallory' }))).rejects.toBeInstanceOf(QuotaExceeded);
      expect((await node.log.window('room:q')).head).toBe(3);
      expect((await node.log.publish('room:q', broadcast(5, { user: 'ada' }))).seq).toBe(4);
      expect((await node.log.publish('room:q', broadcast(6))).seq).toBe(5);
    });

    it('does not apply a message id its user already published to the topic: it answers with the original position', async () => {
      const make = kind.cluster();
      const [a, b] = [await make('a'), await make('b')];
      const on = recorder(a, 'room:i');
      await on.ready;
      const first = await a.log.publish('room:i', broadcast(1, { id: 'm1', user: 'ada' }));
      expect(await b.log.publish('room:i', broadcast(1, { id: 'm1', user: 'ada' }))).toEqual(first);
      expect((await b.log.publish('room:i', broadcast(1, { id: 'm1', user: 'bob' }))).seq).toBe(2);
      await on.until(2);
      await sleep(50);
      expect(on.got.map((g) => g.seq)).toEqual([1, 2]);
    });
  });

  describe('dedupe store', () => {
    const outcome = { kind: 'reply' as const, reply: { status: 'ok' as const, response: { n: 1 } }, position: { epoch: 'e', seq: 3 } };

    it('claims an id once: pending while handled (on any node), then the outcome; a released id can be claimed again', async () => {
      const make = kind.cluster();
      const [a, b] = [await make('a'), await make('b')];
      expect(await a.dedupe.claim('k', 'ada', 10_000)).toEqual({ state: 'claimed' });
      expect(await b.dedupe.claim('k', 'ada', 10_000)).toEqual({ state: 'pending' });
      await a.dedupe.settle('k', 'ada', outcome);
      expect(await b.dedupe.claim('k', 'ada', 10_000)).toEqual({ state: 'done', outcome });
      expect(await a.dedupe.claim('r', 'ada', 10_000)).toEqual({ state: 'claimed' });
      await a.dedupe.release('r', 'ada');
      expect(await b.dedupe.claim('r', 'ada', 10_000)).toEqual({ state: 'claimed' });
      // Giving back an id someone has applied meanwhile (a lease that lapsed) forgets nothing.
      await b.dedupe.settle('r', 'ada', outcome);
      await a.dedupe.release('r', 'ada');
      expect(await a.dedupe.claim('r', 'ada', 10_000)).toEqual({ state: 'done', outcome });
    });

    it('lets a claim lapse after its lease (its node died), and forgets an outcome after the window', async () => {
      const node = await kind.cluster({ dedupeWindowMs: 300 })('a');
      expect(await node.dedupe.claim('lapsed', 'ada', 100)).toEqual({ state: 'claimed' });
      await node.dedupe.claim('done', 'ada', 100);
      await node.dedupe.settle('done', 'ada', outcome);
      await sleep(150);
      expect(await node.dedupe.claim('lapsed', 'ada', 100)).toEqual({ state: 'claimed' });
      expect(await node.dedupe.claim('done', 'ada', 100)).toMatchObject({ state: 'done' });
      await sleep(250);
      expect(await node.dedupe.claim('done', 'ada', 100)).toEqual({ state: 'claimed' });
    });

    it('keeps a user within dedupeMaxPerUser by forgetting its own oldest ids, never another user\'s', async () => {
      const node = await kind.cluster({ dedupeMaxPerUser: 3 })('a');
      await node.dedupe.claim('bob:1', 'bob', 10_000);
      await node.dedupe.settle('bob:1', 'bob', outcome);
      for (let n = 1; n <= 5; n++) {
        await node.dedupe.claim(`mallory:${n}`, 'mallory', 10_000);
        await node.dedupe.settle(`mallory:${n}`, 'mallory', outcome);
        await sleep(2); // distinct claim times
      }
      expect(await node.dedupe.claim('bob:1', 'bob', 10_000)).toMatchObject({ state: 'done' });
      expect(await node.dedupe.claim('mallory:5', 'mallory', 10_000)).toMatchObject({ state: 'done' });
      expect(await node.dedupe.claim('mallory:1', 'mallory', 10_000)).toEqual({ state: 'claimed' });
    });
  });

  describe('document store', () => {
    const u = (...values: number[]) => new Uint8Array(values);
    const list = (doc: { updates: Uint8Array[] }) => doc.updates.map((x) => [...x]);

    it('keeps appended updates in order on any node, and folds them into the state on compaction', async () => {
      const make = kind.cluster();
      const [a, b] = [await make('a'), await make('b')];
      expect(await a.documents.load('room:doc')).toEqual({ state: null, updates: [], version: 0 });
      expect(await a.documents.append('room:doc', u(1))).toBe(1);
      expect(await b.documents.append('room:doc', u(2, 2))).toBe(2);
      const before = await b.documents.load('room:doc');
      expect(list(before)).toEqual([[1], [2, 2]]);
      await a.documents.append('room:doc', u(3)); // arrives while the compaction is being made
      expect(await a.documents.compact('room:doc', u(9, 9), 2, before.version)).toBe(true);
      const after = await b.documents.load('room:doc');
      expect([...after.state!]).toEqual([9, 9]);
      expect(list(after)).toEqual([[3]]);
      expect(after.version).toBe(before.version + 1);
    });

    it('refuses a compaction that raced another one, losing nothing', async () => {
      const make = kind.cluster();
      const [a, b] = [await make('a'), await make('b')];
      await a.documents.append('room:race', u(1));
      const seen = await a.documents.load('room:race');
      expect(await b.documents.compact('room:race', u(7), 1, seen.version)).toBe(true);
      expect(await a.documents.compact('room:race', u(8), 1, seen.version)).toBe(false);
      expect([...(await a.documents.load('room:race')).state!]).toEqual([7]);
    });
  });

  describe('node registry', () => {
    it('says a node is alive while it beats within its TTL, and gone after it left or stopped beating', async () => {
      const node = await kind.cluster()('a');
      expect(await node.nodes.alive('a')).toBe(false);
      await node.nodes.beat('a', 150);
      expect(await node.nodes.alive('a')).toBe(true);
      await sleep(250);
      expect(await node.nodes.alive('a')).toBe(false);
      await node.nodes.beat('a', 10_000);
      await node.nodes.leave('a');
      expect(await node.nodes.alive('a')).toBe(false);
    });
  });

  it('is ready once started', async () => {
    const node = await kind.cluster()('a');
    expect(node.health()).toEqual({ engine: kind.name, ready: true });
  });
});
