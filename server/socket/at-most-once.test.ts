/**
 * AtMostOnce (PROTOCOL.md §7, "Message ids and deduplication"): a message
 * id is applied at most once, on any node sharing the dedupe store; retries
 * get the original outcome; nothing is recorded for a message that was not
 * applied.
 */
import { describe, expect, it, vi } from 'vitest';
import { EngineUnavailable, type Claim, type DedupeStore, type StoredOutcome } from '../engine/engine';
import { MemoryDedupeStore } from '../engine/memory/dedupe';
import { AtMostOnce, type HeldClaim, type Outcome } from './at-most-once';

const position = { epoch: 'e1', seq: 7 };
const okOutcome: StoredOutcome = { kind: 'reply', reply: { status: 'ok', response: { n: 1 } }, position };

/** Records every answer as `[outcome, duplicate]`, resolving `settled` at the first. */
function answers(): { answer: (outcome: Outcome, duplicate: boolean) => void; all: Array<[Outcome, boolean]>; settled: Promise<void> } {
  const all: Array<[Outcome, boolean]> = [];
  let resolve!: () => void;
  const settled = new Promise<void>((r) => (resolve = r));
  return { answer: (outcome, duplicate) => (all.push([outcome, duplicate]), resolve()), all, settled };
}

/** Runs `key` to completion with `outcome`; resolves with whether the handler ran, once answered. */
async function runDone(once: AtMostOnce, key: string, outcome: Outcome = okOutcome, user = 'ada'): Promise<{ ran: boolean; all: Array<[Outcome, boolean]> }> {
  let ran = false;
  const recorded = answers();
  once.run(key, user, (finish) => {
    ran = true;
    finish(outcome);
  }, recorded.answer);
  await recorded.settled;
  return { ran, all: recorded.all };
}

/** A handler held open until the test finishes it. */
function held(once: AtMostOnce, key: string, user = 'ada'): { started: Promise<void>; finish: (outcome: Outcome) => void; recorded: ReturnType<typeof answers> } {
  const recorded = answers();
  let finish!: (outcome: Outcome) => void;
  let started!: () => void;
  const startedPromise = new Promise<void>((r) => (started = r));
  once.run(key, user, (f) => {
    finish = f;
    started();
  }, recorded.answer);
  return { started: startedPromise, finish: (outcome) => finish(outcome), recorded };
}

describe('AtMostOnce', () => {
  it('runs a new id and answers with its outcome, not as a duplicate', async () => {
    const once = new AtMostOnce(new MemoryDedupeStore());
    expect(await runDone(once, 'k')).toEqual({ ran: true, all: [[okOutcome, false]] });
  });

  it('answers an applied id with the recorded outcome as a duplicate, without running the handler', async () => {
    const once = new AtMostOnce(new MemoryDedupeStore());
    await runDone(once, 'k');
    expect(await runDone(once, 'k')).toEqual({ ran: false, all: [[okOutcome, true]] });
  });

  it('records a handler that chose not to reply, and a crash, and answers retries with them', async () => {
    const once = new AtMostOnce(new MemoryDedupeStore());
    const none: StoredOutcome = { kind: 'reply', reply: null, position: null };
    await runDone(once, 'quiet', none);
    expect(await runDone(once, 'quiet')).toEqual({ ran: false, all: [[none, true]] });
    await runDone(once, 'poison', { kind: 'crashed' });
    expect(await runDone(once, 'poison')).toEqual({ ran: false, all: [[{ kind: 'crashed' }, true]] });
  });

  it('answers a retry that raced the original on this node when the original finishes', async () => {
    const once = new AtMostOnce(new MemoryDedupeStore());
    const first = held(once, 'k');
    await first.started;
    const second = answers();
    const handler = vi.fn();
    once.run('k', 'ada', handler, second.answer);
    first.finish(okOutcome);
    await second.settled;
    expect(handler).not.toHaveBeenCalled();
    expect(first.recorded.all).toEqual([[okOutcome, false]]);
    expect(second.all).toEqual([[okOutcome, true]]);
  });

  it('ignores a second finish of the same run', async () => {
    const once = new AtMostOnce(new MemoryDedupeStore());
    const first = held(once, 'k');
    await first.started;
    first.finish(okOutcome);
    first.finish({ kind: 'crashed' });
    await first.recorded.settled;
    expect(first.recorded.all).toEqual([[okOutcome, false]]);
    expect((await runDone(once, 'k')).all).toEqual([[okOutcome, true]]);
  });

  it('records nothing for an aborted or refused message, so that a retry runs it again', async () => {
    const once = new AtMostOnce(new MemoryDedupeStore());
    expect((await runDone(once, 'a', { kind: 'aborted' })).all).toEqual([[{ kind: 'aborted' }, false]]);
    expect((await runDone(once, 'a')).ran).toBe(true);
    expect((await runDone(once, 'r', { kind: 'refused', reason: 'unavailable' })).all).toEqual([[{ kind: 'refused', reason: 'unavailable' }, false]]);
    expect((await runDone(once, 'r')).ran).toBe(true);
  });

  it('keeps keys apart', async () => {
    const once = new AtMostOnce(new MemoryDedupeStore());
    await runDone(once, 'ada\u0000room:a\u0000id1');
    expect((await runDone(once, 'bob\u0000room:a\u0000id1', okOutcome, 'bob')).ran).toBe(true);
    expect((await runDone(once, 'ada\u0000room:b\u0000id1')).ran).toBe(true);
    expect((await runDone(once, 'ada\u0000room:a\u0000id1')).ran).toBe(false);
  });

  it('makes a retry on another node wait for the original there, then answers it with the original outcome', async () => {
    const store = new MemoryDedupeStore();
    const nodeA = new AtMostOnce(store);
    const nodeB = new AtMostOnce(store, { pollMs: 5 });
    const original = held(nodeA, 'k');
    await original.started;
    const retry = answers();
    const handler = vi.fn();
    nodeB.run('k', 'ada', handler, retry.answer);
    await new Promise((r) => setTimeout(r, 30)); // B has asked the store a few times by now
    expect(retry.all).toEqual([]);
    original.finish(okOutcome);
    await retry.settled;
    expect(handler).not.toHaveBeenCalled();
    expect(retry.all).toEqual([[okOutcome, true]]);
  });

  it('runs a message again once the claim of a node that died mid-way lapses', async () => {
    const store = new MemoryDedupeStore();
    const dead = new AtMostOnce(store, { leaseMs: 50 });
    const nodeB = new AtMostOnce(store, { leaseMs: 50, pollMs: 5 });
    const abandoned = held(dead, 'k');
    await abandoned.started; // and never finishes
    const retry = await runDone(nodeB, 'k');
    expect(retry).toEqual({ ran: true, all: [[okOutcome, false]] });
  });

  it('answers `unavailable` when the store cannot be reached, running nothing', async () => {
    const down: DedupeStore = {
      claim: (): Promise<Claim> => Promise.reject(new EngineUnavailable('redis is down')),
      settle: () => Promise.resolve(),
      release: () => Promise.resolve(),
    };
    const onError = vi.fn();
    const once = new AtMostOnce(down, { onError });
    expect(await runDone(once, 'k')).toEqual({ ran: false, all: [[{ kind: 'refused', reason: 'unavailable' }, false]] });
    expect(onError).not.toHaveBeenCalled(); // unavailability is the engine's to report, once
  });
  it('claims again, without giving the claim back, a claim that waited past half its lease: another attempt\'s outcome is answered and nothing runs', async () => {
    vi.useFakeTimers();
    try {
      const store = new MemoryDedupeStore();
      const a = new AtMostOnce(store, { leaseMs: 200, pollMs: 5 });
      const b = new AtMostOnce(store, { leaseMs: 200, pollMs: 5 });
      const recorded = answers();
      const starts: HeldClaim[] = [];
      a.run('k', 'ada', (_finish, claim) => starts.push(claim), recorded.answer);
      await vi.advanceTimersByTimeAsync(0);
      expect(starts).toHaveLength(1);
      expect(starts[0]!.fresh()).toBe(true);
      await vi.advanceTimersByTimeAsync(220);
      // The lease lapsed while this attempt waited for its turn; another node applied the id meanwhile.
      expect(await runDone(b, 'k')).toEqual({ ran: true, all: [[okOutcome, false]] });
      expect(starts[0]!.fresh()).toBe(false);
      starts[0]!.renew();
      await recorded.settled;
      expect(recorded.all).toEqual([[okOutcome, true]]);
      expect(starts).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('runs a renewed claim once it is granted again, as the original', async () => {
    vi.useFakeTimers();
    try {
      const a = new AtMostOnce(new MemoryDedupeStore(), { leaseMs: 200, pollMs: 5 });
      const recorded = answers();
      const starts: Array<{ finish: (outcome: Outcome) => void; claim: HeldClaim }> = [];
      a.run('k', 'ada', (finish, claim) => starts.push({ finish, claim }), recorded.answer);
      await vi.advanceTimersByTimeAsync(110);
      expect(starts).toHaveLength(1);
      expect(starts[0]!.claim.fresh()).toBe(false);
      // Still held by its own lease: asked for again until that lapses, then granted.
      starts[0]!.claim.renew();
      await vi.advanceTimersByTimeAsync(80);
      expect(starts).toHaveLength(1);
      // Its lease lapses at 200 ms; the next look (polling doubles from 5 ms) finds it free.
      await vi.advanceTimersByTimeAsync(100);
      expect(starts).toHaveLength(2);
      expect(starts[1]!.claim.fresh()).toBe(true);
      starts[1]!.finish(okOutcome);
      await recorded.settled;
      expect(recorded.all).toEqual([[okOutcome, false]]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('MemoryDedupeStore', () => {
  function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
    let time = start;
    return { now: () => time, advance: (ms) => void (time += ms) };
  }

  it('forgets an applied id after the window, and keeps one exactly windowMs old', async () => {
    const time = clock();
    const store = new MemoryDedupeStore({ windowMs: 1000, now: time.now });
    await store.claim('k', 'ada', 100);
    await store.settle('k', 'ada', okOutcome);
    time.advance(1000);
    expect(await store.claim('k', 'ada', 100)).toEqual({ state: 'done', outcome: okOutcome });
    time.advance(1);
    expect(await store.claim('k', 'ada', 100)).toEqual({ state: 'claimed' });
  });

  it('makes a user beyond its share forget its own oldest ids, never another user\'s', async () => {
    const early = vi.fn();
    const store = new MemoryDedupeStore({ maxPerUser: 3, onEarlyEviction: early });
    await store.claim('bob:1', 'bob', 100);
    await store.settle('bob:1', 'bob', okOutcome);
    for (let n = 1; n <= 5; n++) {
      await store.claim(`mallory:${n}`, 'mallory', 100);
      await store.settle(`mallory:${n}`, 'mallory', okOutcome);
    }
    expect(early).toHaveBeenCalledTimes(2);
    expect(early).toHaveBeenLastCalledWith(expect.any(Number), 'mallory', 'user');
    expect(await store.claim('bob:1', 'bob', 100)).toMatchObject({ state: 'done' });
    expect(await store.claim('mallory:1', 'mallory', 100)).toEqual({ state: 'claimed' });
    expect(await store.claim('mallory:5', 'mallory', 100)).toMatchObject({ state: 'done' });
  });

  it('forgets the oldest settled id of anyone at the global cap, skipping ids still being handled', async () => {
    const store = new MemoryDedupeStore({ maxEntries: 2, onEarlyEviction: () => {} });
    await store.claim('pending', 'a', 10_000);
    await store.claim('done', 'b', 100);
    await store.settle('done', 'b', okOutcome);
    await store.claim('new', 'c', 100); // full: 'pending' is kept, 'done' goes
    expect(await store.claim('pending', 'a', 10_000)).toEqual({ state: 'pending' });
    expect(await store.claim('done', 'b', 100)).toEqual({ state: 'claimed' });
  });

});

