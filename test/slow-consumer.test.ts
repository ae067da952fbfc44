/**
 * A slow consumer cannot slow the others: a member that stops reading is
 * closed with 4429 once its unsent bytes pass `maxBufferedBytes`, while 100
 * members that keep reading receive every broadcast, in order; back, it
 * recovers what it missed from history (PROTOCOL.md §6, §7).
 *
 * Members here are plain `ws` sockets that keep only each broadcast's seq
 * (read from the end of the frame), not the RawClient of helpers.ts: the
 * test moves hundreds of megabytes, and an inbox of parsed frames would
 * hold all of them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { CLOSE } from '../src/protocol';
import { useServers, windowOf } from './helpers';
import { DEADLINE_MS, deadline } from './waiting';

const TOPIC = 'room:firehose';
const SEQ = /"seq":(\d+)[,}]/;

/** A member socket that records the seq of every broadcast it reads. */
class Member {
  readonly seqs: number[] = [];
  readonly closed: Promise<number>;
  private readonly listeners = new Set<() => void>();

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    // The server may reset the socket it gave up on; the close code is what the test checks.
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      // Broadcasts only (not replies); the seq sits at the very end: no need to parse 32 KB of payload.
      const head = data.toString('latin1', 0, 60);
      const match = head.startsWith('[null,null,') && head.includes('"chunk"') && SEQ.exec(data.toString('latin1', Math.max(0, data.length - 80)));
      if (match) this.seqs.push(Number(match[1]));
      for (const listener of this.listeners) listener();
    });
  }

  /** Resolves once `predicate` holds, checked after every frame. */
  until(predicate: () => boolean, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    let listener: () => void = () => {};
    const reached = new Promise<void>((resolve) => {
      listener = () => predicate() && resolve();
      this.listeners.add(listener);
    });
    return deadline(DEADLINE_MS * 5, what, reached).finally(() => this.listeners.delete(listener));
  }

  /** The TCP socket under the WebSocket, to stop and restart reading. */
  get tcp(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }
}

const start = useServers();
const sockets: WebSocket[] = [];
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
});

/** Connects a Plume socket and joins `TOPIC` (with join `meta`, if given); resolves with the member and the reply's meta. */
async function joinAs(socketUrl: string, name: string, meta?: Record<string, unknown>): Promise<{ member: Member; replyMeta: unknown }> {
  const ws = new WebSocket(`${socketUrl}?vsn=2.0.0&plume=1&name=${name}`);
  sockets.push(ws);
  const m = new Member(ws);
  await deadline(DEADLINE_MS, 'the socket to open', new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }));
  const reply = new Promise<unknown[]>((resolve) => ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()) as unknown[])));
  ws.send(JSON.stringify(['1', '1', TOPIC, 'phx_join', {}, ...(meta ? [meta] : [])]));
  const frame = await deadline(DEADLINE_MS, 'the join reply', reply);
  return { member: m, replyMeta: frame[5] };
}

/**
 * Collects what a returning member recovers: the replay after its join, then `plume:history` pages
 * (as the Plume client does, asking again later when refused `rate limited`) until it has everything up to `head`.
 */
async function fillFromHistory(m: Member, epoch: string, head: number): Promise<number[]> {
  const seqs: number[] = [];
  // A heartbeat's reply comes after every replay frame sent before it: then the replay is all in.
  const barrier = new Promise<void>((resolve) => {
    const onMessage = (data: Buffer) => {
      if (!data.toString('latin1', 0, 40).startsWith('[null,"hb","phoenix"')) return;
      m.ws.off('message', onMessage);
      resolve();
    };
    m.ws.on('message', onMessage);
  });
  m.ws.send(JSON.stringify([null, 'hb', 'phoenix', 'heartbeat', {}]));
  await deadline(DEADLINE_MS * 5, 'the replay to end', barrier);
  for (let ref = 2; ; ref++) {
    const from = (seqs.at(-1) ?? m.seqs.at(-1) ?? 0) + 1;
    if (from > head) return [...m.seqs, ...seqs];
    const reply = new Promise<unknown[]>((resolve) => {
      const onMessage = (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as unknown[];
        if (frame[1] !== String(ref)) return;
        m.ws.off('message', onMessage);
        resolve(frame);
      };
      m.ws.on('message', onMessage);
    });
    m.ws.send(JSON.stringify(['1', String(ref), TOPIC, 'plume:history', { epoch, from, to: head }]));
    const frame = await deadline(DEADLINE_MS * 5, 'a history page', reply);
    const answer = frame[4] as { status: string; response: { entries: Array<{ seq: number }>; reason?: string } };
    if (answer.status === 'error' && answer.response.reason === 'rate limited') {
      // Past the socket's history budget (PROTOCOL.md §5): ask again once some of it refilled, as the client does.
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    const page = answer.response;
    if (page.entries.length === 0) throw new Error(`history has nothing from ${from}`);
    seqs.push(...page.entries.map((e) => e.seq));
  }
}

async function member(socketUrl: string, name: string): Promise<Member> {
  return (await joinAs(socketUrl, name)).member;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('a slow consumer', () => {
  it('is closed with 4429 while 100 members that keep reading get every broadcast in order, and recovers the rest when it returns', async () => {
    const limit = 256 * 1024;
    const { socketUrl, server } = await start({ maxBufferedBytes: limit });
    const fast = await Promise.all(range(1, 100).map((i) => member(socketUrl, `fast-${i}`)));
    const slow = await member(socketUrl, 'slow');
    slow.tcp.pause();

    const pad = 'x'.repeat(32 * 1024);
    let sent = 0;
    const broadcast = async (): Promise<void> => {
      server.broadcast(TOPIC, 'chunk', { pad });
      sent++;
      // Keep the readers within a few frames of the head, so only the one that stopped falls behind.
      const target = Math.max(0, sent - 4);
      await Promise.all(fast.map((m) => m.until(() => m.seqs.length >= target, `fast members to reach seq ${target}`)));
    };
    // The OS buffers a few megabytes for a socket that does not read; past those and the limit, it is dropped.
    while (server.stats().sockets === 101) {
      if (sent >= 2000) throw new Error(`the slow member was not closed after ${sent} broadcasts of 32 KB`);
      await broadcast();
    }
    for (let i = 0; i < 10; i++) await broadcast();
    await Promise.all(fast.map((m) => m.until(() => m.seqs.length === sent, 'every broadcast to reach every fast member')));

    for (const m of fast) expect(m.seqs).toEqual(range(1, sent));
    slow.tcp.resume();
    expect(await deadline(DEADLINE_MS * 5, 'the slow member to see its close', slow.closed)).toBe(CLOSE.slowConsumer);
    // What it got before the cut is a gap-free prefix, so it can resume from history at the last seq it saw.
    expect(slow.seqs).toEqual(range(1, slow.seqs.length));
    expect(slow.seqs.length).toBeLessThan(sent);

    // Back, it asks for everything after the last seq it saw and gets exactly that, in order: the
    // replay (bounded in bytes so it cannot overflow the socket again), then plume:history pages.
    const since = { epoch: windowOf(server, TOPIC).epoch, seq: slow.seqs.length };
    const back = await joinAs(socketUrl, 'slow', { since });
    expect(back.replyMeta).toMatchObject({ seq: sent, from: since.seq + 1, recovered: true });
    const recovered = await fillFromHistory(back.member, since.epoch, sent);
    expect(recovered).toEqual(range(since.seq + 1, sent));
  });
});
