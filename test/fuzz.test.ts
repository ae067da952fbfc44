/**
 * Property-based fuzzing of the whole inbound grammar against a real server
 * (`fuzz-grammar.ts` generates it): 50,000 frames or more, from eight sockets
 * at a time, plain Phoenix and Plume ones, through the relay channel and an
 * app channel with interception, while a healthy pair chats in another room.
 *
 * Properties: every frame is answered — a reply with its ref, or a close
 * with a documented code (PROTOCOL.md §6; never 1011, which would be a
 * fault caught by the guard); a well-formed frame is always replied to,
 * never closed; the server logs no error, keeps serving `/health`, and the
 * healthy pair gets every message, in order, throughout.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { error, ok } from '../server/channels/channel';
import { PlumeServer } from '../server/server';
import { frame, wellFormed, type FuzzFrame } from './fuzz-grammar';
import { health, RawClient } from './helpers';
import { deadline } from './waiting';

/** Frames to send in all (the issue asks for 50,000 in under a minute). */
const FRAMES = 50_000;
const SOCKETS_PER_RUN = 8;
const FRAMES_PER_SCRIPT = 25;
const MAX_PAYLOAD = 64 * 1024;
/** Close codes a client may cause (PROTOCOL.md §6); 1011 is a server fault and fails the test. */
const DOCUMENTED_CLOSES = new Set([1003, 1007, 1009, 4400, 4420, 4429]);
/** How long an answer may take before the frame counts as unanswered (generous: the machine is shared). */
const ANSWER_MS = 5000;

type Outcome = { reply: Record<string, unknown> } | { close: number; reason: string };

/** A fuzzing socket: sends one frame at a time and waits for its answer. */
class FuzzSocket {
  private readonly waiting = new Map<string, (payload: Record<string, unknown>) => void>();
  private closeWaiter: ((outcome: Outcome) => void) | null = null;
  /** Replies to refs it was not waiting for (a text frame that happened to carry a ref). */
  strayReplies = 0;
  closed: { close: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket, readonly plume: boolean) {
    ws.on('message', (data: Buffer) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        throw new Error(`the server sent a frame that is not JSON: ${data.toString().slice(0, 200)}`);
      }
      const [, ref, , event, payload] = parsed as [unknown, unknown, unknown, unknown, Record<string, unknown>];
      if (event !== 'phx_reply' || typeof ref !== 'string') return;
      const resolve = this.waiting.get(ref);
      if (resolve) {
        this.waiting.delete(ref);
        resolve(payload);
      } else this.strayReplies++;
    });
    ws.on('error', () => {});
    ws.on('close', (code, reason) => {
      this.closed = { close: code, reason: reason.toString() };
      this.closeWaiter?.(this.closed);
    });
  }

  static async open(socketUrl: string, plume: boolean): Promise<FuzzSocket> {
    const ws = new WebSocket(`${socketUrl}?vsn=2.0.0&name=fuzzer${plume ? '&plume=1' : ''}`);
    await deadline(ANSWER_MS, 'a fuzz socket to open', new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)));
    return new FuzzSocket(ws, plume);
  }

  /** Sends `data` and resolves with the reply to `ref` (if given) or the socket's close. */
  exchange(data: string | Uint8Array, binary: boolean, ref: string | null): Promise<Outcome> {
    if (this.closed) return Promise.resolve(this.closed);
    return deadline(ANSWER_MS, `an answer to ${typeof data === 'string' ? data.slice(0, 300) : `${data.length} bytes`}`, new Promise<Outcome>((resolve) => {
      this.closeWaiter = resolve;
      if (ref !== null) this.waiting.set(ref, (reply) => resolve({ reply }));
      this.ws.send(data, { binary });
    })).finally(() => {
      this.closeWaiter = null;
      if (ref !== null) this.waiting.delete(ref);
    });
  }

  /**
   * Sends `data` (no ref of ours in it), then a heartbeat: resolves with the socket's close, or with the
   * heartbeat's reply, before which every reply the server gave `data` at once has come.
   */
  exchangeWithBarrier(data: string | Uint8Array, binary: boolean, barrierRef: string): Promise<Outcome> {
    if (this.closed) return Promise.resolve(this.closed);
    this.ws.send(data, { binary });
    return this.exchange(JSON.stringify([null, barrierRef, 'phoenix', 'heartbeat', {}]), false, barrierRef);
  }
}

let server: PlumeServer;
let socketUrl: string;
let url: string;
const errors: unknown[] = [];
const stats = { frames: 0, replies: 0, closes: new Map<number, number>(), wellFormed: 0 };
let unique = 0;

beforeAll(async () => {
  const log = { info: () => {}, warn: () => {}, error: (...args: unknown[]) => errors.push(args) };
  // Joins are fuzzed often: a larger join budget lets most reach their handler (the rate limits stay on).
  server = new PlumeServer({ logger: log, rateLimit: { joinsPerSecond: 1000, joinBurst: 1000 }, mesh: { minRelayed: 1 } });
  server.channel('app:*', {
    join: (_topic, params) => (params.refuse ? error({ reason: 'refused' }) : ok({ hello: 'fuzzer' })),
    handleIn(event, payload, socket) {
      if (event === 'reply_error') return error({ reason: 'as asked' });
      if (event === 'msg') socket.broadcast(event, payload);
      return event === 'new_msg' ? Promise.resolve(ok({ echo: payload })) : ok();
    },
    intercept: ['msg'],
    handleOut: (_event, payload) => (payload.drop ? null : payload),
    ephemeral: true,
  });
  const address = await server.listen(0, '127.0.0.1');
  socketUrl = address.socketUrl;
  url = address.url;
});

afterAll(async () => {
  await server.close();
});

/** Sends one generated frame and checks its answer; returns the socket to go on with (a new one after a close). */
async function sendOne(socket: FuzzSocket, generated: FuzzFrame): Promise<FuzzSocket> {
  stats.frames++;
  let outcome: Outcome;
  let mustReply = false;
  let sent: string;
  if (generated.kind === 'array') {
    const elements = [...generated.elements];
    const ref = generated.refIndexValid && elements.length > 1 ? `u${++unique}:${String(elements[1])}` : null;
    if (ref !== null) elements[1] = ref;
    const data = JSON.stringify(elements);
    sent = data;
    mustReply = ref !== null && wellFormed(elements, socket.plume, Buffer.byteLength(data), MAX_PAYLOAD);
    if (mustReply) stats.wellFormed++;
    outcome = await socket.exchange(data, false, ref);
  } else {
    // No ref of ours: the answer is a close, or a reply that came before the barrier's.
    const before = socket.strayReplies;
    const data = generated.kind === 'text' ? generated.text : generated.bytes;
    sent = typeof data === 'string' ? data : `${generated.kind === 'bytes' && generated.binary ? 'binary' : 'text'} bytes ${Buffer.from(data).toString('hex')}`;
    outcome = await socket.exchangeWithBarrier(data, generated.kind === 'bytes' && generated.binary, `b${++unique}`);
    if ('reply' in outcome) expect(socket.strayReplies, `a reply to ${sent.slice(0, 300)}`).toBeGreaterThan(before);
  }
  if ('reply' in outcome) {
    stats.replies++;
    expect(['ok', 'error']).toContain(outcome.reply.status);
    return socket;
  }
  stats.closes.set(outcome.close, (stats.closes.get(outcome.close) ?? 0) + 1);
  const frameText = `${sent.slice(0, 300)}${sent.length > 300 ? `… (${sent.length} characters)` : ''} on a ${socket.plume ? 'Plume' : 'Phoenix'} socket`;
  expect(DOCUMENTED_CLOSES, `close ${outcome.close} (${outcome.reason}) answering ${frameText}`).toContain(outcome.close);
  expect(mustReply, `close ${outcome.close} (${outcome.reason}) answering a well-formed frame: ${frameText}`).toBe(false);
  return FuzzSocket.open(socketUrl, socket.plume);
}

/** Runs one script of frames on a fresh socket. */
async function runScript(script: FuzzFrame[], plume: boolean): Promise<void> {
  let socket = await FuzzSocket.open(socketUrl, plume);
  try {
    for (const generated of script) socket = await sendOne(socket, generated);
  } finally {
    socket.ws.terminate();
  }
}

/** Two members chatting in their own room until stopped: every message must reach the other, in order. */
async function healthyPair(): Promise<{ stop: () => Promise<{ sent: number; p99: number }> }> {
  const ada = await RawClient.connect(socketUrl, { name: 'ada', params: { plume: '1' } });
  const bob = await RawClient.connect(socketUrl, { name: 'bob', params: { plume: '1' } });
  const refs = [await ada.joinOk('room:calm'), await bob.joinOk('room:calm')] as const;
  let running = true;
  let sent = 0;
  const latencies: number[] = [];
  // Settles only when stopped: a failure is kept for stop() to throw, never left unhandled.
  const loop = (async () => {
    while (running) {
      // They take turns, so both keep talking (a silent socket is closed after heartbeatTimeoutMs).
      const n = ++sent;
      const [speaker, listener] = n % 2 ? [ada, bob] : [bob, ada];
      const began = performance.now();
      const reply = await speaker.request('room:calm', 'new_msg', { n }, refs[n % 2 ? 0 : 1]);
      if (reply.status !== 'ok') throw new Error(`the healthy pair's message ${n} was answered ${JSON.stringify(reply)}`);
      const got = await listener.next((f) => f.event === 'new_msg' && f.payload.n === n, ANSWER_MS);
      // Its own broadcast comes back to the speaker too: take it, in order.
      const echo = await speaker.next((f) => f.event === 'new_msg', ANSWER_MS);
      if (echo.payload.n !== n || listener.inbox.some((f) => f.event === 'new_msg')) throw new Error(`the healthy pair's messages are out of order at ${n}`);
      latencies.push(performance.now() - began);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })().then(() => null, async (failure: unknown) => {
    const closes = await Promise.all([ada, bob].map((c) => (c.isOpen ? 'open' : c.closed.then((e) => `${e.code} ${e.reason}`))));
    return new Error(`the healthy pair failed after ${sent} messages (ada ${closes[0]}, bob ${closes[1]})`, { cause: failure });
  });
  return {
    async stop() {
      running = false;
      const failure = await loop;
      await Promise.all([ada.dispose(), bob.dispose()]);
      if (failure) throw failure;
      latencies.sort((a, b) => a - b);
      return { sent, p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN };
    },
  };
}

describe('fuzzing the inbound grammar', () => {
  it(`answers ${FRAMES.toLocaleString('en')} generated frames with replies or documented closes, while a healthy pair chats`, async () => {
    const pair = await healthyPair();
    const began = performance.now();
    const script = fc.array(frame, { minLength: FRAMES_PER_SCRIPT, maxLength: FRAMES_PER_SCRIPT });
    const runs = Math.ceil(FRAMES / (SOCKETS_PER_RUN * FRAMES_PER_SCRIPT));
    const result = await fc.check(
      fc.asyncProperty(fc.array(fc.tuple(script, fc.integer({ min: 0, max: 3 }).map((n) => n > 0)), { minLength: SOCKETS_PER_RUN, maxLength: SOCKETS_PER_RUN }), async (scripts) => {
        await Promise.all(scripts.map(([frames, plume]) => runScript(frames, plume)));
      }),
      // No shrinking: each run changes the server's state, so a smaller run is not the same experiment.
      { numRuns: runs, endOnFailure: true },
    );
    // The failing frame is in the error; the whole counterexample (hundreds of frames) is not printed.
    const failure = result.failed ? new Error(`fuzzing failed at run ${result.numRuns} (seed ${result.seed}): ${String((result.errorInstance as Error)?.message ?? result.errorInstance)}`) : null;
    const seconds = (performance.now() - began) / 1000;
    const chat = await pair.stop();
    if (failure) throw failure;
    console.log(`fuzz: ${stats.frames} frames in ${seconds.toFixed(1)} s (${Math.round(stats.frames / seconds)} frames/s), ${stats.wellFormed} well-formed; ${stats.replies} replies, closes ${JSON.stringify(Object.fromEntries(stats.closes))}; healthy pair: ${chat.sent} messages, p99 ${chat.p99.toFixed(1)} ms`);
    expect(stats.frames).toBeGreaterThanOrEqual(FRAMES);
    expect(errors).toEqual([]);
    expect((await health(url)).status).toBe(200);
    expect(chat.sent).toBeGreaterThan(10);
  }, 300_000); // 27-45 s here on a quiet machine, 105 s with the two cores shared by other loads
});
