/**
 * Limits on rates and counts (issue 20, finding 4; PROTOCOL.md §1 and §5):
 * a socket that floods frames is held back to its rate (in order, nothing
 * refused) and closed with 4420 if it keeps on, joins and history served
 * have budgets of their own, a history page is small, connections are
 * counted before the upgrade — and a publisher as busy as the benchmark's
 * never meets the defaults.
 *
 * Each test fails on a server without the limit (`rateLimit: false`, or the
 * commit before this one): the flood is answered at once and in full, the
 * 90-byte history request returns 1.9 MB, every upgrade opens.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ok } from '../server/channels/channel';
import { DEADLINE_MS, RawClient, upgradeStatus, useServers, type Frame } from './helpers';

const start = useServers();

const LOBBY = 'room:lobby';
const isReply = (f: Frame): boolean => f.event === 'phx_reply';
const reason = (f: Frame): unknown => (f.payload.response as Record<string, unknown>).reason;

/** Asks for an upgrade over plain HTTP and resolves with the refusal: status, Retry-After and body. */
function refusedUpgrade(socketUrl: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(socketUrl.replace('ws:', 'http:') + '?vsn=2.0.0', {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      reject(new Error('the upgrade was accepted'));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Heartbeats with refs `${prefix}0`, `${prefix}1`, …, all sent at once. */
function heartbeats(client: RawClient, count: number, prefix = 'f'): void {
  for (let i = 0; i < count; i++) client.send([null, `${prefix}${i}`, 'phoenix', 'heartbeat', {}]);
}

/** Every reply the socket got before it closed, and how it closed. */
async function untilClosed(client: RawClient, timeoutMs = DEADLINE_MS * 5): Promise<{ replies: Frame[]; code: number; reason: string }> {
  const { code, reason: why } = await client.closeEvent(timeoutMs);
  return { replies: client.inbox.filter(isReply), code, reason: why };
}

describe('the frame and byte rates of one socket', () => {
  it('holds frames past the burst back to the rate, answering every one in order, while another socket is answered at once', async () => {
    const t = await start({ rateLimit: { framesPerSecond: 200, frameBurst: 100 } });
    const bystander = await t.connect({ name: 'bystander' });
    const eager = await t.connect({ name: 'eager' });
    const began = performance.now();
    heartbeats(eager, 300);
    const first = await eager.take(100, isReply);
    const burstMs = performance.now() - began;
    const before = performance.now();
    expect((await bystander.heartbeat()).payload).toEqual({ status: 'ok', response: {} });
    const bystanderMs = performance.now() - before;
    const rest = await eager.take(200, isReply, 10_000);
    const allMs = performance.now() - began;
    console.log(`300 frames at once, 200/s with a burst of 100: the burst answered in ${burstMs.toFixed(0)} ms, all in ${allMs.toFixed(0)} ms; another socket's heartbeat meanwhile ${bystanderMs.toFixed(1)} ms`);
    expect([...first, ...rest].map((f) => [f.ref, f.payload.status])).toEqual(Array.from({ length: 300 }, (_, i) => [`f${i}`, 'ok']));
    expect(allMs).toBeGreaterThan(800); // 200 frames past the burst at 200 a second: about a second
    expect(bystanderMs).toBeLessThan(500);
    expect(eager.isOpen).toBe(true);
  });

  it('closes a socket that stays past its rate for maxThrottleMs with 4420, having served it at its rate meanwhile', async () => {
    const t = await start({ rateLimit: { framesPerSecond: 100, frameBurst: 100, maxThrottleMs: 500 } });
    const flooder = await t.connect({ name: 'flooder' });
    const began = performance.now();
    heartbeats(flooder, 5000);
    const { replies, code, reason: why } = await untilClosed(flooder);
    const closedMs = performance.now() - began;
    expect(code).toBe(4420);
    expect(why).toMatch(/^flooding/);
    expect(closedMs).toBeGreaterThan(400);
    // The burst, then about 100 a second for half a second, in order; the rest never read.
    expect(replies.length).toBeGreaterThanOrEqual(140);
    expect(replies.length).toBeLessThan(100 + 100 * (closedMs / 1000) + 50);
    expect(replies.map((f) => f.ref)).toEqual(Array.from({ length: replies.length }, (_, i) => `f${i}`));
  });

  it('with the defaults, holds a socket that sends 30,000 frames at once to 5,000 a second after its burst of 10,000', async () => {
    const t = await start();
    const flooder = await t.connect({ name: 'flooder' });
    const began = performance.now();
    heartbeats(flooder, 30_000);
    await flooder.take(10_000, isReply, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const seconds = (performance.now() - began) / 1000;
    const answered = 10_000 + flooder.inbox.filter(isReply).length;
    expect(answered).toBeLessThanOrEqual(10_000 + 5_000 * seconds + 1_000);
    expect(answered).toBeGreaterThan(10_000);
    expect(flooder.isOpen).toBe(true); // closed only after 10 s of this
  });

  it('counts bytes: large frames past the byte burst wait for the byte rate', async () => {
    const t = await start({ rateLimit: { bytesPerSecond: 256 * 1024, byteBurst: 1024 * 1024 } }, (server) => server.channel('sink', { handleIn: () => ok() }));
    const client = await t.connect();
    const joinRef = await client.joinOk('sink');
    const body = 'x'.repeat(60_000);
    const began = performance.now();
    const refs = Array.from({ length: 24 }, () => client.push('sink', 'blob', { body }, joinRef));
    const replies = await Promise.all(refs.map((ref) => client.replyTo(ref, 10_000)));
    expect(replies.every((r) => r.status === 'ok')).toBe(true);
    // 1.44 MB sent, 1 MiB of burst: the rest comes at 256 KiB a second.
    expect(performance.now() - began).toBeGreaterThan(900);
  });

  it('lets a publisher as busy as the fan-out benchmark (1,500 pushes a second of 2 KB, for 4 s) through the defaults untouched', async () => {
    const t = await start({}, (server) => server.channel('pub', { handleIn: () => ok() }));
    const publisher = await t.connect({ name: 'publisher' });
    const joinRef = await publisher.joinOk('pub');
    const data = 'x'.repeat(2000);
    const total = 6000;
    let sent = 0;
    const began = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - began) / 1000) * 1500));
        for (; sent < due; sent++) publisher.send([joinRef, `p${sent}`, 'pub', 'msg', { data }]);
        if (sent === total) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const replies = await publisher.take(total, isReply, 20_000);
    expect(replies.filter((f) => f.payload.status !== 'ok')).toEqual([]);
  });
});

describe('the join budget', () => {
  it('answers joins past joinBurst "rate limited" and leaves the channel a refused rejoin names as it was', async () => {
    const t = await start({ rateLimit: { joinBurst: 3, joinsPerSecond: 1 } });
    const client = await t.connect();
    const first = await client.joinOk('room:a');
    await client.joinOk('room:b');
    await client.joinOk('room:c');
    expect((await client.join('room:d')).reply).toEqual({ status: 'error', response: { reason: 'rate limited' } });
    expect((await client.join('room:a')).reply).toEqual({ status: 'error', response: { reason: 'rate limited' } });
    // room:a is still joined under its first join_ref.
    expect(await client.request('room:a', 'new_msg', { body: 'still here' }, first)).toEqual({ status: 'ok', response: {} });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await client.join('room:d')).reply.status).toBe('ok');
  });
});

/** A server whose `room:h` holds `count` broadcasts of about 2 KB, and a Plume socket joined to it. */
async function historyRoom(count: number, options: Parameters<typeof start>[0] = {}) {
  const t = await start({ historyLimit: count, ...options });
  for (let i = 1; i <= count; i++) await t.server.broadcast('room:h', 'msg', { body: 'x'.repeat(1900), i });
  const client = await t.connect({ name: 'reader', params: { plume: '1' } });
  const joinRef = await client.joinOk('room:h');
  const epoch = String((await client.request('room:h', 'plume:history', { epoch: '?', from: 1, to: 1 }, joinRef)).response.epoch);
  return { t, client, joinRef, epoch };
}

describe('history served', () => {
  it('answers a 90-byte plume:history request for 1,000 broadcasts with a page of at most 256 KiB, not 1.9 MB', async () => {
    const { client, joinRef, epoch } = await historyRoom(1000);
    const ref = client.push('room:h', 'plume:history', { epoch, from: 1, to: 1000 }, joinRef);
    const page = await client.next((f) => f.ref === ref);
    const entries = (page.payload.response as { entries: Array<{ seq: number }> }).entries;
    expect(page.raw.length).toBeLessThan(256 * 1024 + 16 * 1024);
    expect(entries.length).toBeGreaterThan(100);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: entries.length }, (_, i) => i + 1));
  });

  it('refuses plume:history "rate limited" once the socket was served its history budget, and serves it again later', async () => {
    const { client, joinRef, epoch } = await historyRoom(1000, { rateLimit: { historyBurstBytes: 1024 * 1024, historyBytesPerSecond: 512 * 1024 } });
    let served = 0;
    let refused: Record<string, unknown> | null = null;
    for (let i = 0; i < 20 && !refused; i++) {
      const reply = await client.request('room:h', 'plume:history', { epoch, from: 1, to: 1000 }, joinRef);
      if (reply.status === 'ok') served += (reply.response.entries as unknown[]).length;
      else refused = reply.response;
    }
    expect(refused).toEqual({ reason: 'rate limited' });
    // 1 MiB of about 2 KB payloads: the burst, with one page overdrawing it, and a little refill.
    expect(served).toBeGreaterThan(450);
    expect(served).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await client.request('room:h', 'plume:history', { epoch, from: 1, to: 1 }, joinRef)).status).toBe('ok');
  });

  it('replays at most a page after a join, and a single entry while the history budget is spent', async () => {
    const { t, client, joinRef, epoch } = await historyRoom(1000, { rateLimit: { historyBurstBytes: 512 * 1024, historyBytesPerSecond: 1024 } });
    const replayed = async (c: RawClient): Promise<number> => (await c.drain((f) => f.event === 'msg')).length;
    const fresh = await t.connect({ name: 'fresh', params: { plume: '1' } });
    fresh.send(['1', '1', 'room:h', 'phx_join', {}, { history: 1000 }]);
    expect((await fresh.replyTo('1')).status).toBe('ok');
    const pageOfEntries = await replayed(fresh);
    expect(pageOfEntries).toBeGreaterThan(100);
    expect(pageOfEntries).toBeLessThan(150); // 256 KiB of 1.9 KB payloads
    // The reader spends its budget, then joins another room with history: one entry is replayed.
    while ((await client.request('room:h', 'plume:history', { epoch, from: 1, to: 1000 }, joinRef)).status === 'ok');
    client.send(['9', '9', 'room:h', 'phx_join', {}, { history: 1000 }]);
    expect((await client.replyTo('9')).status).toBe('ok');
    expect(await replayed(client)).toBe(1);
  });
});

describe('connection limits', () => {
  it('refuses the upgrade past maxConnections with HTTP 503 and a body that names the limit, and admits again once a socket left', async () => {
    const t = await start({ maxConnections: 2 });
    const a = await t.connect({ name: 'a' });
    await t.connect({ name: 'b' });
    expect(await upgradeStatus(t.socketUrl)).toBe(503);
    expect(await refusedUpgrade(t.socketUrl)).toEqual({ status: 503, retryAfter: '5', body: 'Service Unavailable: this server is at its connection limit (maxConnections); try again later' });
    await a.dispose();
    await expect.poll(() => upgradeStatus(t.socketUrl), { timeout: DEADLINE_MS }).toBe(101);
  });

  it('refuses a fourth socket from one address with HTTP 429 when maxConnectionsPerIp is 3, and counts none when it is off', async () => {
    const limited = await start({ maxConnectionsPerIp: 3 });
    for (let i = 0; i < 3; i++) await limited.connect({ name: `n${i}` });
    expect(await refusedUpgrade(limited.socketUrl)).toEqual({ status: 429, retryAfter: '5', body: 'Too Many Requests: too many connections from this address (maxConnectionsPerIp); try again later' });
    const open = await start();
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => open.connect({ name: `m${i}` })));
    expect(many.every((c) => c.isOpen)).toBe(true);
  });
});
