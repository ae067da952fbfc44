/**
 * The outbox benchmark's page, bundled by `run.mjs` and driven through
 * `window.outboxBench` with Playwright's `page.evaluate`. Every function
 * measures one thing in this page and returns plain numbers; the runner
 * does the statistics and the printing.
 *
 * Measures Plume's durable outbox (`channel.send()` with `plume/durable`)
 * and the naive baseline of `baseline.ts` under identical conditions: same
 * page, same strict-durability store, same payloads, same server.
 */
import { promisifyRequest, type UseStore } from 'idb-keyval';
import { Socket, type Channel, type OutboxEntry, type Payload } from '../../src/index';
import { durable } from '../../src/durable';
import { strictStore } from '../../src/storage';
import { NaiveOutbox, type NaiveEntry } from './baseline';

export type Impl = 'plume' | 'baseline';

export interface EnqueueParams {
  impl: Impl;
  /** `sequential`: each send awaited before the next; `burst`: all called in one task. */
  mode: 'sequential' | 'burst';
  count: number;
  warmup: number;
  name: string;
}

export interface EnqueueResult {
  /** Per message: from the call to its promise resolving (stored durably), ms. */
  latencies: number[];
  /** From the first call to the last resolution, ms. */
  totalMs: number;
}

export interface FlushParams {
  impl: Impl;
  count: number;
  name: string;
  topic: string;
}

export interface FlushResult {
  /** From `socket.connect()` to the channel joined again, ms. */
  joinedMs: number;
  /** From `socket.connect()` to every message acknowledged, ms. */
  ackedMs: number;
  /** From `socket.connect()` to the outbox's object store empty on disk, ms. */
  emptyOnDiskMs: number;
  acked: number;
}

const now = () => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** About 200 bytes as JSON, like the fan-out bench's payload. */
function payload(n: number): Payload {
  return { body: 'x'.repeat(170), n };
}

function count(store: UseStore): Promise<number> {
  return store('readonly', (s) => promisifyRequest(s.count()));
}

async function emptyOnDisk(store: UseStore): Promise<void> {
  while ((await count(store)) > 0) await sleep(1);
}

function nextJoined(channel: Channel): Promise<void> {
  return new Promise((resolve) => {
    const off = channel.onStateChange(({ to }) => {
      if (to !== 'joined') return;
      off();
      resolve();
    });
  });
}

/** A sender for one implementation, ready to measure (storage opened, code warm). */
async function sender(impl: Impl, name: string, warmup: number): Promise<(n: number) => Promise<unknown>> {
  const topic = `room:${name}`;
  let send: (n: number) => Promise<unknown>;
  if (impl === 'plume') {
    // Never connected: `send()` only stores, so this times the durable write alone.
    const socket = new Socket('/socket', { params: { name }, durable: durable({ name }) });
    const room = socket.channel(topic);
    room.join();
    await socket.outbox!.ready;
    send = (n) => room.send('msg', payload(n));
  } else {
    const naive = new NaiveOutbox(name);
    send = (n) => naive.add(topic, 'msg', payload(n));
  }
  for (let i = 0; i < warmup; i++) await send(-1 - i);
  return send;
}

async function enqueue({ impl, mode, count: n, warmup, name }: EnqueueParams): Promise<EnqueueResult> {
  const send = await sender(impl, name, warmup);
  const latencies = new Array<number>(n);
  const start = now();
  if (mode === 'sequential') {
    for (let i = 0; i < n; i++) {
      const t = now();
      await send(i);
      latencies[i] = now() - t;
    }
  } else {
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const t = now();
      all.push(send(i).then(() => (latencies[i] = now() - t)));
    }
    await Promise.all(all);
  }
  return { latencies, totalMs: now() - start };
}

async function flush({ impl, count: n, name, topic }: FlushParams): Promise<FlushResult> {
  const plume = impl === 'plume';
  const socket = new Socket('/socket', {
    params: { name },
    durable: plume ? durable({ name }) : undefined,
    reconnect: { baseMs: 20, maxMs: 100 },
  });
  socket.connect();
  const room = socket.channel(topic);
  const first = await room.join();
  if (first.status !== 'ok') throw new Error(`join ${topic}: ${first.status}`);
  socket.disconnect('bench: offline');

  // Queue n messages while disconnected (not timed). The baseline stores them one awaited `set`
  // at a time: concurrent strict transactions are slower still in Chromium (see the burst figures).
  const naive = plume ? null : new NaiveOutbox(name);
  let stored: NaiveEntry[] | OutboxEntry[];
  if (naive) {
    stored = [];
    for (let i = 0; i < n; i++) stored.push(await naive.add(topic, 'msg', payload(i)));
  } else {
    stored = await Promise.all(Array.from({ length: n }, (_, i) => room.send('msg', payload(i))));
  }
  const disk = naive ? naive.store : strictStore(`${name}-outbox`, 'entries');
  if ((await count(disk)) !== n) throw new Error(`${impl}: expected ${n} stored entries before the flush`);

  const outbox = socket.outbox;
  const settled = outbox ? Promise.all((stored as OutboxEntry[]).map((entry) => outbox.settled(entry.id))) : null;
  const joined = nextJoined(room);
  const start = now();
  socket.connect();
  await joined;
  const joinedMs = now() - start;
  let ackedMs = 0;
  let acked = 0;
  if (naive) {
    await naive.flush(room, stored as NaiveEntry[], (i) => {
      acked = i + 1;
      ackedMs = now() - start;
    });
  } else {
    const results = await settled!;
    ackedMs = now() - start;
    acked = results.filter((entry) => entry.status === 'acked').length;
    if (outbox!.pending(topic).length !== 0) throw new Error('plume: outbox not empty after every message settled');
  }
  await emptyOnDisk(disk);
  const emptyOnDiskMs = now() - start;
  socket.disconnect('bench: done');
  return { joinedMs, ackedMs, emptyOnDiskMs, acked };
}

const api = { enqueue, flush, ready: true };
declare global {
  interface Window {
    outboxBench: typeof api;
  }
}
window.outboxBench = api;

/**
 * Without Playwright: `?plan=<JSON list of flush params>` runs each flush in
 * turn and pushes its result (or error) on the `bench:results` channel, for
 * a Chromium started with no DevTools client attached (see run.mjs).
 */
async function runPlan(plan: FlushParams[]): Promise<void> {
  const socket = new Socket('/socket', { params: { name: 'bench-results' } });
  socket.connect();
  const results = socket.channel('bench:results');
  await results.join();
  for (const [index, params] of plan.entries()) {
    try {
      await results.push('result', { index, result: { ...(await flush(params)) } });
    } catch (error) {
      await results.push('result', { index, error: String(error) });
    }
  }
}

const plan = new URLSearchParams(location.search).get('plan');
if (plan) void runPlan(JSON.parse(plan) as FlushParams[]);
