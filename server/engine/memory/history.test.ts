/**
 * MemoryHistory (PROTOCOL.md §7, "Order metadata" and "History bounds"):
 * seq assignment, epochs, retention by count, age and bytes (per topic, per
 * sender, across topics), range reads, forgetting idle topics.
 */
import { describe, expect, it } from 'vitest';
import { QuotaExceeded, type NewBroadcast, type StoredBroadcast } from '../engine';
import { ENTRY_OVERHEAD, MemoryHistory } from './history';

/** A broadcast of `payloadJson` (event `m`) by `user` (server code when empty). */
const entry = (payloadJson: string, id?: string, user = ''): NewBroadcast => ({
  event: 'm', payloadJson, payloadBytes: Buffer.from(payloadJson), exclude: null, user, ...(id === undefined ? {} : { id }),
});
const msg = (n: number, id?: string): NewBroadcast => entry(JSON.stringify({ n }), id);
/** Bytes counted for an entry of `payloadJson` with event `m` and no id. */
const cost = (payloadJson: string) => Buffer.byteLength(payloadJson) + 1 + ENTRY_OVERHEAD;

/** A clock the test moves by hand. */
function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

const seqs = (entries: readonly StoredBroadcast[]) => entries.map((e) => e.seq);

describe('MemoryHistory', () => {
  describe('payloads', () => {
    it('gives back every kept payload byte for byte, multi-byte, empty and large ones included, across topics, given as text or as bytes', () => {
      const history = new MemoryHistory({ limit: 300 });
      const texts = (topic: string, seq: number) => {
        const kinds = [JSON.stringify({ n: seq, topic }), JSON.stringify({ s: `héllo — 日本語 🎉 ${seq}` }), '{}', JSON.stringify({ big: 'x'.repeat(9000 + seq) }), JSON.stringify({ u: '\u2028 \ud83d\ude00' })];
        return kinds[seq % kinds.length]!;
      };
      for (let seq = 1; seq <= 1000; seq++) {
        for (const topic of ['room:a', 'room:b']) {
          const payloadJson = texts(topic, seq);
          // Callers that already encoded the payload hand over its bytes; the store must keep the same text.
          history.append(topic, entry(payloadJson));
        }
      }
      for (const topic of ['room:a', 'room:b']) {
        const { entries, complete } = history.read(topic, 701, 1000, 1000);
        expect(complete).toBe(true);
        expect(seqs(entries)).toEqual(Array.from({ length: 300 }, (_, i) => 701 + i));
        for (const entry of entries) expect(entry.payloadJson).toBe(texts(topic, entry.seq));
      }
    });
  });

  describe('payload chunks', () => {
    it('reuses emptied chunks without corrupting what is still held, under eviction by count and by age', () => {
      const time = clock();
      const history = new MemoryHistory({ limit: 40, maxAgeMs: 5_000, now: time.now });
      const model = new Map<string, Map<number, string>>();
      let state = 42;
      const random = (n: number) => ((state = (state * 1103515245 + 12345) % 2 ** 31), state % n);
      for (let step = 0; step < 4000; step++) {
        const topic = `room:${random(6)}`;
        const text = JSON.stringify({ step, pad: 'é'.repeat(random(3000)) });
        const { seq } = history.append(topic, entry(text));
        if (!model.has(topic)) model.set(topic, new Map());
        model.get(topic)!.set(seq, text);
        time.advance(random(40));
        if (step % 500 === 499) history.sweep();
        if (step % 97 === 0) {
          for (const [t, kept] of model) {
            const { entries } = history.read(t, 1, Number.MAX_SAFE_INTEGER, 1000);
            for (const entry of entries) expect(entry.payloadJson).toBe(kept.get(entry.seq));
          }
        }
      }
    });
  });

  describe('memory', () => {
    // 120 topics × 100 entries of 4 KB: 48 MB held, and about one 256 KB chunk per topic in transit
    // between eviction and reuse, more than a fixed 16 MB pool could keep.
    const topics = Array.from({ length: 120 }, (_, i) => `room:${i}`);
    const text = JSON.stringify({ pad: 'x'.repeat(4000) });
    const busy = (history: MemoryHistory, rounds: number) => {
      for (let r = 0; r < rounds; r++) for (const topic of topics) history.append(topic, entry(text));
    };

    it('stops allocating once a busy history is full: emptied chunks are reused, not freed and allocated again', () => {
      const history = new MemoryHistory({ limit: 100 });
      busy(history, 300);
      const { allocatedBytes, heldBytes } = history.memory();
      expect(heldBytes).toBe(topics.length * 100 * cost(text));
      busy(history, 500);
      expect(history.memory().allocatedBytes).toBe(allocatedBytes);
      expect(history.memory().heldBytes).toBe(heldBytes);
      const { entries } = history.read('room:7', 1, 1000, 1000);
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 701 + i));
      expect(entries.every((e) => e.payloadJson === text)).toBe(true);
    });

    it('frees emptied chunks that no topic took again by the sweep after next', () => {
      const history = new MemoryHistory({ limit: 100 });
      busy(history, 300);
      const pooled = history.memory().pooledBytes;
      expect(pooled).toBeGreaterThan(0);
      history.sweep();
      expect(history.memory().pooledBytes).toBe(pooled);
      history.sweep();
      expect(history.memory().pooledBytes).toBe(0);
      // What is held is untouched, and appending goes on.
      expect(history.memory().heldBytes).toBe(topics.length * 100 * cost(text));
      busy(history, 1);
      expect(history.read('room:0', 301, 301, 1).entries[0]!.payloadJson).toBe(text);
    });

    it('gives chunks back as entries expire, and holds nothing once every entry did', () => {
      const time = clock();
      const history = new MemoryHistory({ limit: 100, maxAgeMs: 1_000, now: time.now });
      busy(history, 150);
      time.advance(2_000);
      history.sweep();
      expect(history.memory().heldBytes).toBe(0);
      history.sweep();
      history.sweep();
      expect(history.memory().pooledBytes).toBe(0);
    });
  });

  describe('byte budget', () => {
    /** An entry counted as exactly `size` bytes (payload, event and overhead). */
    const payload = (n: number, size: number) => entry(JSON.stringify({ n, pad: 'x'.repeat(size - 1 - ENTRY_OVERHEAD - 15 - String(n).length) }));
    const held = (history: MemoryHistory, topic: string) => seqs(history.read(topic, 1, 1_000_000, 1_000_000).entries);

    it('drops the oldest entries across topics, whichever topic they are in, to stay within maxBytes', () => {
      const time = clock();
      const history = new MemoryHistory({ maxBytes: 10_000, maxBytesPerTopic: 10_000, now: time.now });
      // A quiet topic's one entry, then a busy one's: the quiet one is the oldest, so it goes first.
      history.append('room:quiet', payload(1, 1000));
      time.advance(1);
      for (let i = 1; i <= 9; i++) {
        history.append('room:busy', payload(i, 1000));
        time.advance(1);
      }
      expect(history.memory()).toMatchObject({ heldBytes: 10_000, evictedForBudget: 0 });
      history.append('room:busy', payload(10, 1000));
      expect(held(history, 'room:quiet')).toEqual([]);
      expect(history.read('room:quiet', 1, 1, 10)).toMatchObject({ entries: [], complete: false });
      expect(held(history, 'room:busy')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // From then on, the busy topic's own oldest entries go, in order, and its reads say what is missing.
      time.advance(1);
      history.append('room:other', payload(1, 3000));
      expect(held(history, 'room:busy')).toEqual([4, 5, 6, 7, 8, 9, 10]);
      expect(held(history, 'room:other')).toEqual([1]);
      expect(history.read('room:busy', 2, 10, 100).complete).toBe(false);
      expect(history.read('room:busy', 4, 10, 100).complete).toBe(true);
      expect(history.memory()).toMatchObject({ heldBytes: 10_000, evictedForBudget: 4 });
      // Sequence numbers go on: nothing dropped for the budget changes a topic's order.
      expect(history.append('room:quiet', payload(2, 1000)).seq).toBe(2);
    });

    it('interleaves topics by the age of their entries', () => {
      const time = clock();
      const history = new MemoryHistory({ maxBytes: 6_000, maxBytesPerTopic: 6_000, now: time.now });
      for (let i = 1; i <= 6; i++) {
        history.append(i % 2 ? 'room:a' : 'room:b', payload(i, 1000));
        time.advance(1);
      }
      for (let i = 7; i <= 10; i++) {
        history.append(i % 2 ? 'room:a' : 'room:b', payload(i, 1000));
        time.advance(1);
      }
      // Appended a1 b2 a3 b4 a5 b6 a7 b8 a9 b10: the six newest stay.
      expect(held(history, 'room:a')).toEqual([3, 4, 5]);
      expect(held(history, 'room:b')).toEqual([3, 4, 5]);
      expect(history.memory().heldBytes).toBe(6_000);
    });

    it('keeps the entry just appended even when it alone is over the budget, and drops it for the next one', () => {
      const history = new MemoryHistory({ maxBytes: 500, maxBytesPerTopic: 5000 });
      history.append('t', payload(1, 2000));
      expect(held(history, 't')).toEqual([1]);
      expect(history.memory().heldBytes).toBe(2000);
      history.append('t', payload(2, 200));
      expect(held(history, 't')).toEqual([2]);
      expect(history.memory().heldBytes).toBe(200);
    });

    it('reuses what it drops: a history at its budget stops allocating', () => {
      const time = clock();
      const history = new MemoryHistory({ maxBytes: 4 * 1024 * 1024, maxBytesPerTopic: 4 * 1024 * 1024, now: time.now });
      const round = () => {
        for (let i = 0; i < 40; i++) history.append(`room:${i}`, payload(i, 4000));
        time.advance(1);
      };
      for (let r = 0; r < 200; r++) round();
      const { allocatedBytes } = history.memory();
      for (let r = 0; r < 200; r++) round();
      expect(history.memory().allocatedBytes).toBe(allocatedBytes);
      expect(history.memory().heldBytes).toBeLessThanOrEqual(4 * 1024 * 1024);
      expect(history.memory().evictedForBudget).toBeGreaterThan(0);
      // Every topic still holds its newest entries, contiguous up to its head.
      for (let i = 0; i < 40; i++) {
        const kept = held(history, `room:${i}`);
        expect(kept.at(-1)).toBe(400);
        expect(kept).toEqual(Array.from({ length: kept.length }, (_, k) => 401 - kept.length + k));
      }
    });

    it('refuses a budget that is not a positive number', () => {
      expect(() => new MemoryHistory({ maxBytes: 0 })).toThrow(/maxBytes/);
    });
  });

  describe('positions', () => {
    it('gives each append the topic\'s next seq, starting at 1, per topic', () => {
      const history = new MemoryHistory();
      const a = history.window('room:a');
      expect(a).toEqual({ epoch: expect.any(String), head: 0, oldest: 1 });
      expect(history.append('room:a', msg(1))).toEqual({ epoch: a.epoch, seq: 1 });
      expect(history.append('room:a', msg(2))).toEqual({ epoch: a.epoch, seq: 2 });
      expect(history.append('room:b', msg(1)).seq).toBe(1);
      expect(history.append('room:a', msg(3)).seq).toBe(3);
      expect(history.window('room:a').head).toBe(3);
      expect(history.window('room:b').head).toBe(1);
    });

    it('keeps a topic\'s epoch while its record lives, and gives every topic and every new instance a fresh one', () => {
      const first = new MemoryHistory();
      const epochs = new Set<string>();
      for (let i = 0; i < 10; i++) epochs.add(first.append('room:a', msg(i)).epoch);
      expect([...epochs]).toEqual([first.window('room:a').epoch]);
      const others = [first.window('room:b').epoch, ...Array.from({ length: 20 }, () => new MemoryHistory().window('room:a').epoch)];
      expect(new Set([...epochs, ...others]).size).toBe(22);
    });

    it('keeps the epoch a join was told for the topic\'s first broadcast', () => {
      const history = new MemoryHistory();
      const told = history.window('room:new').epoch;
      expect(history.append('room:new', msg(1)).epoch).toBe(told);
    });

    it('keeps assigning seqs with a limit of 0, holding nothing', () => {
      const history = new MemoryHistory({ limit: 0 });
      history.append('t', msg(1));
      expect(history.append('t', msg(2)).seq).toBe(2);
      expect(history.window('t').oldest).toBe(3);
      expect(history.read('t', 1, 2, 10)).toMatchObject({ entries: [], complete: false });
    });

    it('stores the broadcast with its id, who it left out and the time it was appended', () => {
      const time = clock();
      const history = new MemoryHistory({ now: time.now });
      history.append('t', msg(1, 'abc'));
      history.append('t', { ...msg(2), exclude: 'socket-1' });
      const [one, two] = history.read('t', 1, 2, 10).entries;
      expect(one).toEqual({ event: 'm', payloadJson: '{"n":1}', id: 'abc', seq: 1, at: 1_000_000 });
      expect(two).toEqual({ event: 'm', payloadJson: '{"n":2}', exclude: 'socket-1', seq: 2, at: 1_000_000 });
    });

    it('refuses nonsense limits', () => {
      expect(() => new MemoryHistory({ limit: -1 })).toThrow(/limit/);
      expect(() => new MemoryHistory({ maxAgeMs: 0 })).toThrow(/maxAgeMs/);
      expect(() => new MemoryHistory({ maxBytesPerUser: 0 })).toThrow(/maxBytesPerUser/);
    });
  });

  describe('shares', () => {
    it('counts each entry\'s event, id and bookkeeping, not only its payload', () => {
      const history = new MemoryHistory();
      history.append('t', { ...entry('{}'), event: 'e'.repeat(255), id: 'i'.repeat(100) });
      expect(history.memory().heldBytes).toBe(2 + 255 + 100 + ENTRY_OVERHEAD);
    });

    it('keeps one topic within maxBytesPerTopic by dropping its own oldest entries, leaving other topics alone', () => {
      const history = new MemoryHistory({ maxBytesPerTopic: 3 * cost('{"n":10}') });
      history.append('quiet', msg(1));
      for (let n = 1; n <= 10; n++) history.append('busy', msg(n));
      expect(seqs(history.read('busy', 1, 10, 10).entries)).toEqual([8, 9, 10]);
      expect(seqs(history.read('quiet', 1, 1, 10).entries)).toEqual([1]);
      expect(history.memory().evictedForBudget).toBe(7);
    });

    it('refuses a sender\'s broadcast beyond its share, counting across topics, and never anyone else\'s entries', () => {
      const share = 5 * cost('{"n":1}');
      const history = new MemoryHistory({ maxBytesPerUser: share });
      history.append('room:victim', entry('{"n":1}', undefined, 'victim'));
      for (let n = 1; n <= 5; n++) history.append(`room:${n % 2}`, entry(JSON.stringify({ n }), undefined, 'mallory'));
      expect(history.userBytes('mallory')).toBe(share);
      expect(() => history.append('room:2', entry('{"n":6}', undefined, 'mallory'))).toThrow(QuotaExceeded);
      expect(history.window('room:2').head).toBe(0); // nothing was applied
      expect(seqs(history.read('room:victim', 1, 1, 10).entries)).toEqual([1]);
      // Server code is not counted, and other users have their own share.
      history.append('room:2', msg(7));
      history.append('room:2', entry('{"n":8}', undefined, 'victim'));
    });

    it('gives a sender its share back as its entries leave by count or age', () => {
      const time = clock();
      const history = new MemoryHistory({ limit: 2, maxAgeMs: 1000, maxBytesPerUser: 2 * cost('{"n":1}'), now: time.now });
      for (let n = 1; n <= 9; n++) history.append('t', entry('{"n":1}', undefined, 'ada')); // the count limit keeps two
      expect(history.userBytes('ada')).toBe(2 * cost('{"n":1}'));
      expect(() => history.append('u', entry('{"n":1}', undefined, 'ada'))).toThrow(QuotaExceeded);
      time.advance(1001);
      expect(history.append('u', entry('{"n":1}', undefined, 'ada')).seq).toBe(1);
    });
  });

  describe('retention', () => {
    it('keeps only the latest `limit` entries of a topic', () => {
      const history = new MemoryHistory({ limit: 3 });
      for (let i = 1; i <= 7; i++) history.append('t', msg(i));
      expect(history.window('t').oldest).toBe(5);
      expect(seqs(history.read('t', 5, 7, 10).entries)).toEqual([5, 6, 7]);
      expect(history.window('t').head).toBe(7);
    });

    it('drops entries older than maxAgeMs, keeping one exactly maxAgeMs old', () => {
      const time = clock();
      const history = new MemoryHistory({ maxAgeMs: 1000, now: time.now });
      history.append('t', msg(1));
      time.advance(500);
      history.append('t', msg(2));
      time.advance(500);
      expect(history.window('t').oldest).toBe(1); // seq 1 is exactly 1000 ms old: still held
      time.advance(1);
      expect(history.window('t').oldest).toBe(2);
      time.advance(500);
      expect(history.window('t').oldest).toBe(3); // everything expired: oldest is head + 1
      expect(history.read('t', 1, 2, 10)).toMatchObject({ entries: [], complete: false });
      expect(history.append('t', msg(3)).seq).toBe(3);
      expect(history.window('t').oldest).toBe(3);
    });

    it('applies whichever of the count and age limits is smaller', () => {
      const time = clock();
      const history = new MemoryHistory({ limit: 5, maxAgeMs: 100, now: time.now });
      for (let i = 1; i <= 4; i++) {
        history.append('t', msg(i));
        time.advance(40);
      }
      // ages now 160, 120, 80, 40: the age limit keeps 3 and 4 (count would keep all four)
      expect(history.window('t').oldest).toBe(3);
      for (let i = 5; i <= 10; i++) history.append('t', msg(i));
      // ages 0 for 5..10: the count limit keeps 6..10
      expect(history.window('t').oldest).toBe(6);
    });

    it('sweep() drops expired entries of every topic', () => {
      const time = clock();
      const history = new MemoryHistory({ maxAgeMs: 100, now: time.now });
      history.append('a', msg(1));
      history.append('b', msg(1));
      time.advance(101);
      history.append('b', msg(2));
      history.sweep();
      expect(history.window('a').oldest).toBe(2);
      expect(history.window('b').oldest).toBe(2);
    });

    it('says an unknown topic holds nothing from 1 on', () => {
      expect(new MemoryHistory().window('nothing')).toMatchObject({ head: 0, oldest: 1 });
    });

    it('forgets a topic that held nothing for maxAgeMs: it starts again at seq 1 in a new epoch', () => {
      const time = clock();
      const history = new MemoryHistory({ maxAgeMs: 1000, now: time.now });
      const { epoch } = history.append('t', msg(1));
      time.advance(1001);
      history.sweep();
      expect(history.memory().topics).toBe(1); // its entry expired by this sweep; the record goes by the next
      time.advance(1001);
      history.sweep();
      expect(history.memory().topics).toBe(0);
      const again = history.append('t', msg(2));
      expect(again.seq).toBe(1);
      expect(again.epoch).not.toBe(epoch);
    });
  });

  describe('read', () => {
    const filled = (count: number, limit = 1000) => {
      const history = new MemoryHistory({ limit });
      for (let i = 1; i <= count; i++) history.append('t', msg(i));
      return history;
    };

    it('returns a held range in order, complete', () => {
      const history = filled(10);
      const read = history.read('t', 3, 6, 100);
      expect(seqs(read.entries)).toEqual([3, 4, 5, 6]);
      expect(read.entries.map((e) => JSON.parse(e.payloadJson))).toEqual([{ n: 3 }, { n: 4 }, { n: 5 }, { n: 6 }]);
      expect(read.complete).toBe(true);
    });

    it('clips a range that runs past the head, still complete', () => {
      const history = filled(5);
      expect(history.read('t', 4, 99, 100)).toMatchObject({ complete: true });
      expect(seqs(history.read('t', 4, 99, 100).entries)).toEqual([4, 5]);
      expect(history.read('t', 6, 9, 100)).toMatchObject({ entries: [], complete: true });
    });

    it('cuts a page at `limit` and still calls it complete, so the client asks for the rest', () => {
      const history = filled(10);
      const page = history.read('t', 2, 9, 3);
      expect(seqs(page.entries)).toEqual([2, 3, 4]);
      expect(page.complete).toBe(true);
      const rest = history.read('t', 5, 9, 3);
      expect(seqs(rest.entries)).toEqual([5, 6, 7]);
    });

    it('says complete: false for a range that history trimmed, returning what is left of it', () => {
      const history = filled(10, 4); // holds 7..10
      const partly = history.read('t', 5, 8, 100);
      expect(seqs(partly.entries)).toEqual([7, 8]);
      expect(partly.complete).toBe(false);
      expect(history.read('t', 1, 3, 100)).toMatchObject({ entries: [], complete: false });
      expect(history.read('t', 7, 8, 100).complete).toBe(true);
    });

    it('says which window it read in', () => {
      const history = filled(10, 4);
      expect(history.read('t', 8, 9, 100)).toMatchObject({ epoch: history.window('t').epoch, head: 10, oldest: 7 });
    });

    it('answers a read of a topic with no broadcasts yet as complete and empty', () => {
      const history = new MemoryHistory();
      expect(history.read('t', 1, 5, 100)).toMatchObject({ entries: [], complete: true });
    });
  });

  it('reads exactly what a simple model holds across thousands of appends (compaction)', () => {
    // A seeded walk: appends with the clock moving, reads of random ranges, all checked against a plain array.
    let state = 42;
    const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const time = clock();
    const limit = 1500;
    const maxAgeMs = 5000;
    const history = new MemoryHistory({ limit, maxAgeMs, now: time.now });
    const model: Array<{ seq: number; at: number }> = [];
    for (let seq = 1; seq <= 12_000; seq++) {
      time.advance(Math.floor(random() * 3));
      expect(history.append('t', msg(seq)).seq).toBe(seq);
      model.push({ seq, at: time.now() });
      if (seq % 97 !== 0) continue;
      const held = model.filter((e, i) => i >= model.length - limit && e.at >= time.now() - maxAgeMs);
      const oldest = held[0]?.seq ?? seq + 1;
      expect(history.window('t').oldest).toBe(oldest);
      const from = 1 + Math.floor(random() * seq);
      const to = from + Math.floor(random() * 800);
      const pageSize = 1 + Math.floor(random() * 600);
      const read = history.read('t', from, to, pageSize);
      const expected = held.filter((e) => e.seq >= from && e.seq <= to).slice(0, pageSize).map((e) => e.seq);
      expect(seqs(read.entries)).toEqual(expected);
      expect(read.entries.map((e) => JSON.parse(e.payloadJson).n)).toEqual(expected);
      expect(read.complete).toBe(from >= oldest);
    }
  });
});
