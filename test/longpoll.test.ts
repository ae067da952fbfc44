/**
 * Long-poll (PROTOCOL.md §1, Long-poll): phoenix.js's unmodified `LongPoll`
 * against a Plume server (join, push, broadcast, presence, tokens), the
 * endpoint's answers to bad and hostile requests over real HTTP, and the
 * Plume client's guarantees over long-poll.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LongPoll as PhoenixLongPoll, Presence as PhoenixPresence, Socket as PhoenixSocket, type Channel as PhoenixChannel } from 'phoenix';
import WebSocket from 'ws';
import { LongPoll } from '../src/longpoll';
import type { WebSocketLike } from '../src/options';
import { CLOSE } from '../src/protocol';
import { signToken } from '../server/auth/token';
import { nextState, usePhoenixClients, usePlumeClients } from './clients';
import { useServers } from './helpers';
import { deadline, Recorder } from './waiting';

const start = useServers();
const plume = usePlumeClients();
const phoenixWs = usePhoenixClients();

const SECRET = 'a-long-poll-test-secret-of-32-bytes-or-more';

const phoenixSockets: PhoenixSocket[] = [];
function phoenixLongPoll(url: string, options: { params?: Record<string, string>; authToken?: string } = {}): PhoenixSocket {
  const socket = new PhoenixSocket(`${url}/socket`, { transport: PhoenixLongPoll, ...options });
  phoenixSockets.push(socket);
  return socket;
}
afterEach(() => {
  for (const socket of phoenixSockets.splice(0)) socket.disconnect();
});

function joined(channel: PhoenixChannel): Promise<unknown> {
  return deadline(3000, 'the phoenix join', new Promise((resolve, reject) => {
    channel.join().receive('ok', resolve).receive('error', reject).receive('timeout', () => reject(new Error('join timeout')));
  }));
}

/** One long-poll request, as a client without phoenix.js makes it. */
async function request(url: string, init: RequestInit & { query?: Record<string, string> } = {}): Promise<{ http: number; body: Record<string, unknown>; headers: Headers }> {
  const target = new URL(`${url}/socket/longpoll`);
  for (const [key, value] of Object.entries({ vsn: '2.0.0', ...init.query })) target.searchParams.set(key, value);
  const response = await fetch(target, init);
  const text = await response.text();
  return { http: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
}

/** Opens a session and returns its token. */
async function open(url: string, query: Record<string, string> = {}): Promise<string> {
  const { body } = await request(url, { query });
  expect(body.status).toBe(410);
  return body.token as string;
}

function post(url: string, token: string, lines: string[]): ReturnType<typeof request> {
  return request(url, { method: 'POST', query: { token }, headers: { 'content-type': 'application/x-ndjson' }, body: lines.join('\n') });
}

/** Polls until frames come, returning them parsed (binary ones as `b:` text). */
async function pollFrames(url: string, token: string): Promise<unknown[]> {
  for (;;) {
    const { body } = await request(url, { query: { token } });
    if (body.status === 200) return (body.messages as string[]).map((m) => (m.startsWith('b:') ? m : JSON.parse(m)));
    if (body.status !== 204) throw new Error(`poll answered ${JSON.stringify(body)}`);
  }
}

describe('phoenix.js LongPoll against a Plume server', () => {
  it('joins a room, pushes and gets its reply, and exchanges broadcasts with a WebSocket client', async () => {
    const { url } = await start();
    const lp = phoenixLongPoll(url, { params: { name: 'poller' } });
    lp.connect();
    const room = lp.channel('room:lp', {});
    const received = new Recorder<unknown>();
    room.on('new_msg', (payload: unknown) => received.push(payload));
    expect(await joined(room)).toEqual({});

    const ws = phoenixWs(url, { name: 'socketeer' });
    ws.connect();
    const wsRoom = ws.channel('room:lp', {});
    const wsReceived = new Recorder<unknown>();
    wsRoom.on('new_msg', (payload: unknown) => wsReceived.push(payload));
    await joined(wsRoom);

    const reply = await deadline(3000, 'the push reply', new Promise((resolve, reject) => {
      room.push('new_msg', { body: 'over long-poll' }).receive('ok', resolve).receive('error', reject);
    }));
    expect(reply).toEqual({});
    expect(await wsReceived.next()).toEqual({ body: 'over long-poll' });
    expect(await received.next()).toEqual({ body: 'over long-poll' });

    for (let i = 0; i < 20; i++) wsRoom.push('new_msg', { n: i });
    const order: unknown[] = [];
    for (let i = 0; i < 20; i++) order.push(await received.next());
    expect(order).toEqual(Array.from({ length: 20 }, (_, n) => ({ n })));
    expect(lp.connectionState()).toBe('open');
  });

  it('sees presence: itself and a WebSocket member, then the member leaving', async () => {
    const { url } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 0 });
    const lp = phoenixLongPoll(url, { params: { name: 'Ada' } });
    lp.connect();
    const channel = lp.channel('room:lp-presence', {});
    const presence = new PhoenixPresence(channel);
    const syncs = new Recorder<string>();
    presence.onSync(() => syncs.push(presence.list((key) => key).sort().join(',')));
    await joined(channel);
    for (;;) if ((await syncs.next()) === 'Ada') break;

    const bob = phoenixWs(url, { name: 'Bob' });
    bob.connect();
    const bobRoom = bob.channel('room:lp-presence', {});
    await joined(bobRoom);
    for (;;) if ((await syncs.next()) === 'Ada,Bob') break;
    bobRoom.leave();
    for (;;) if ((await syncs.next()) === 'Ada') break;
  });

  it('authenticates with authToken (sent as X-Phoenix-AuthToken), and a bad token is refused before any session', async () => {
    const { url, server } = await start({ secret: SECRET });
    const token = signToken({ sub: 'ada', name: 'Ada', rooms: ['room:lp'] }, SECRET, { expiresInSeconds: 60 });
    const lp = phoenixLongPoll(url, { authToken: token });
    lp.connect();
    const room = lp.channel('room:lp', {});
    const received = new Recorder<Record<string, unknown>>();
    room.on('new_msg', (payload: Record<string, unknown>) => received.push(payload));
    await joined(room);
    room.push('new_msg', { body: 'hi' });
    // The relay stamps who sent it from the token.
    expect((await received.next()).from).toEqual({ id: 'ada', name: 'Ada' });

    const refused = await request(url, { headers: { 'x-phoenix-authtoken': 'not-a-token' } });
    expect(refused.body).toMatchObject({ status: 403, code: CLOSE.unauthorized });
    expect(String(refused.body.reason)).toMatch(/token/);
    expect((await request(url)).body).toMatchObject({ status: 403, code: CLOSE.unauthorized, reason: 'token required' });
    expect(server.sockets().length).toBe(1);
  });
});

describe('the long-poll endpoint', () => {
  it('answers an empty poll with 204 at the end of the window, and a newer poll takes over', async () => {
    const { url } = await start({ longPollWindowMs: 150 });
    const token = await open(url);
    const began = Date.now();
    expect((await request(url, { query: { token } })).body).toEqual({ status: 204, token });
    expect(Date.now() - began).toBeGreaterThanOrEqual(100);
    const older = request(url, { query: { token } });
    const newer = request(url, { query: { token } });
    expect((await older).body).toEqual({ status: 204, token });
    expect((await newer).body).toEqual({ status: 204, token });
  });

  it('answers a session it does not know (or a POST to one) with 410', async () => {
    const { url } = await start();
    expect((await request(url, { query: { token: 'nope' } })).body).toEqual({ status: 410 });
    expect((await post(url, 'nope', ['[null,"1","phoenix","heartbeat",{}]'])).body).toEqual({ status: 410 });
  });

  it('checks Origin as the upgrade does, and answers allowed pages across origins (CORS)', async () => {
    const { url } = await start({ allowedOrigins: ['https://app.example'] });
    const refused = await request(url, { headers: { origin: 'https://evil.example' } });
    expect(refused.http).toBe(403);
    expect(refused.body).toMatchObject({ status: 403, code: CLOSE.forbidden });

    const preflight = await fetch(`${url}/socket/longpoll`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-phoenix-authtoken' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-phoenix-authtoken');
    const allowed = await request(url, { headers: { origin: 'https://app.example' } });
    expect(allowed.body.status).toBe(410);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });

  it('ends a session on a malformed frame with the close code a WebSocket gets, told to the next poll', async () => {
    const { url, server } = await start();
    const token = await open(url);
    expect((await post(url, token, ['[null,"1","phoenix","heartbeat",{}]'])).body).toEqual({ status: 200 });
    expect(await pollFrames(url, token)).toEqual([[null, '1', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]]);
    const answer = await post(url, token, ['[not json']);
    expect(answer.body).toMatchObject({ status: 410, code: CLOSE.badFrame, reason: 'malformed frame: not JSON' });
    expect((await request(url, { query: { token } })).body).toMatchObject({ status: 410, code: CLOSE.badFrame });
    expect(server.sockets().length).toBe(0);
  });

  it('bounds a frame (1009) and a request body (413) like a WebSocket frame', async () => {
    const { url } = await start({ maxFrameBytes: 4096, maxPayloadBytes: 1024, maxBufferedBytes: 64 * 1024 });
    const first = await open(url);
    const big = JSON.stringify([null, '1', 'room:x', 'new_msg', { body: 'x'.repeat(5000) }]);
    expect((await post(url, first, [big])).body).toMatchObject({ status: 410, code: CLOSE.tooBig });

    const second = await open(url);
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify([null, String(i), 'phoenix', 'heartbeat', { pad: 'y'.repeat(2000) }]));
    const tooMuch = await post(url, second, lines);
    expect(tooMuch.http).toBe(413);
    expect(tooMuch.body).toMatchObject({ status: 413, code: CLOSE.tooBig });
    expect((await request(url, { query: { token: second } })).body).toMatchObject({ status: 410, code: CLOSE.tooBig });
  });

  it('ends a session whose client stopped polling after twice the window, and its presence with it', async () => {
    const { url, server } = await start({ longPollWindowMs: 100, presenceGraceMs: 0, presenceCoalesceMs: 0 });
    const token = await open(url, { name: 'gone' });
    await post(url, token, ['["1","1","room:idle","phx_join",{}]']);
    expect(server.presence.list('room:idle')).toHaveProperty('gone');
    await deadline(3000, 'the idle session to end', (async () => {
      while (server.sockets().length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    })());
    expect(server.presence.list('room:idle')).toEqual({});
    expect((await request(url, { query: { token } })).body).toEqual({ status: 410 });
  });

  it('closes a session that does not poll while more than maxBufferedBytes waits (4429)', async () => {
    const { url, server } = await start({ maxBufferedBytes: 32 * 1024, maxPayloadBytes: 16 * 1024, maxFrameBytes: 16 * 1024, longPollWindowMs: 5000 });
    const token = await open(url);
    await post(url, token, ['["1","1","room:slow","phx_join",{}]']);
    for (let i = 0; i < 20; i++) await server.broadcast('room:slow', 'new_msg', { pad: 'z'.repeat(4000), i });
    expect((await request(url, { query: { token } })).body).toMatchObject({ status: 410, code: CLOSE.slowConsumer });
  });

  it('sends binary frames to Plume sessions as b:base64, and none to plain Phoenix sessions', async () => {
    const { url, server } = await start();
    const plumeSession = await open(url, { plume: '1' });
    const phoenixSession = await open(url);
    await post(url, plumeSession, ['["1","1","room:bin","phx_join",{}]']);
    await post(url, phoenixSession, ['["1","1","room:bin","phx_join",{}]']);
    await pollFrames(url, plumeSession);
    await pollFrames(url, phoenixSession);
    await server.broadcast('room:bin', 'blob', new Uint8Array([1, 2, 3]));
    await server.broadcast('room:bin', 'text', { after: true });
    // Presence frames (the relay tracks members) may come in the same polls: only broadcasts count here.
    const broadcasts = (frames: unknown[]) => frames.filter((f) => typeof f === 'string' || !String((f as unknown[])[3]).startsWith('presence_'));
    const frames = broadcasts(await pollFrames(url, plumeSession));
    expect(String(frames[0])).toMatch(/^b:/);
    expect((frames[1] as unknown[]).slice(0, 5)).toEqual([null, null, 'room:bin', 'text', { after: true }]);
    expect(broadcasts(await pollFrames(url, phoenixSession))).toEqual([[null, null, 'room:bin', 'text', { after: true }]]);
  });

  it('ends a session at once on DELETE (the Plume client leaving)', async () => {
    const { url, server } = await start();
    const token = await open(url);
    expect(server.sockets().length).toBe(1);
    expect((await request(url, { method: 'DELETE', query: { token } })).body).toEqual({ status: 410 });
    expect(server.sockets().length).toBe(0);
  });

  it('is off with longPoll: false', async () => {
    const { url } = await start({ longPoll: false });
    expect((await fetch(`${url}/socket/longpoll?vsn=2.0.0`)).status).toBe(404);
  });
});

describe('the Plume client over long-poll', () => {
  const overLongPoll = { transport: (u: string, p?: string[]) => new LongPoll(u, p) as WebSocketLike, longPollFallbackMs: false as const };

  it('keeps order metadata, replies and recovery: a lost session rejoins with since and misses nothing', async () => {
    const { url, server } = await start({ longPollWindowMs: 300 });
    const socket = plume(url, { params: { name: 'ada' }, ...overLongPoll, reconnect: { baseMs: 20, maxMs: 50 } });
    socket.connect();
    const room = socket.channel('room:lp-order');
    const seqs: number[] = [];
    room.on('n', (_payload, info) => seqs.push(info.meta?.seq ?? -1));
    expect((await room.join()).status).toBe('ok');
    expect((await room.push('n', { i: 0 })).status).toBe('ok');
    for (let i = 1; i < 10; i++) await server.broadcast('room:lp-order', 'n', { i });
    await deadline(3000, 'ten broadcasts', (async () => {
      while (seqs.length < 10) await new Promise((resolve) => setTimeout(resolve, 20));
    })());

    // The server ends the session (as a restart would); broadcasts go on meanwhile.
    expect(server.disconnect(() => true, CLOSE.goingAway, 'restart')).toBe(1);
    for (let i = 10; i < 20; i++) await server.broadcast('room:lp-order', 'n', { i });
    await deadline(5000, 'the recovered broadcasts', (async () => {
      while (seqs.length < 20) await new Promise((resolve) => setTimeout(resolve, 20));
    })());
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(socket.transport).toBe('websocket'); // what it was told to use: this socket never falls back
  });

  it('reports a refused token as unauthorized and stops', async () => {
    const { url } = await start({ secret: SECRET });
    const socket = plume(url, { token: 'not-a-token', ...overLongPoll });
    const errors = new Recorder<string>();
    socket.onError((error) => errors.push(error.code));
    const closed = nextState(socket, (change) => change.to === 'closed');
    socket.connect();
    expect(await errors.next()).toBe('unauthorized');
    expect((await closed).reason).toMatch(/^unauthorized/);
  });

  it('falls back to long-poll when WebSockets fail to open, chats there, and moves back when they open again', async () => {
    const { url, server } = await start({ longPollWindowMs: 500 });
    let blocked = true;
    const socket = plume(url, {
      params: { name: 'ada' },
      // A network that refuses WebSocket upgrades: the socket errs before it opens.
      transport: (u, p) => new WebSocket(blocked ? u.replace(/\/websocket/, '/blocked') : u, p) as unknown as WebSocketLike,
      longPollFallbackMs: 3000,
      webSocketRetryMs: 300,
      reconnect: { baseMs: 20, maxMs: 50 },
    });
    const transports = new Recorder<string>();
    socket.onStateChange((change) => change.to === 'open' && transports.push(change.transport));
    socket.connect();
    expect(await transports.next()).toBe('longpoll');
    const room = socket.channel('room:fallback');
    const got = new Recorder<unknown>();
    room.on('msg', (payload) => got.push(payload));
    expect((await room.join()).status).toBe('ok');
    expect((await room.push('msg', { over: 'long-poll' })).status).toBe('ok');
    expect(await got.next()).toEqual({ over: 'long-poll' });

    blocked = false;
    expect(await transports.next()).toBe('websocket');
    expect(socket.transport).toBe('websocket');
    await server.broadcast('room:fallback', 'msg', { over: 'websocket' });
    expect(await got.next()).toEqual({ over: 'websocket' });
    // The long-poll session was ended when the socket moved, not left to time out.
    expect(server.sockets().length).toBe(1);
  });

  it('falls back when a WebSocket hangs without opening (a proxy that swallows the upgrade)', async () => {
    const { url } = await start();
    const hanging: WebSocketLike = { readyState: 0, onopen: null, onclose: null, onmessage: null, onerror: null, send: () => {}, close: () => {} };
    const socket = plume(url, { params: { name: 'ada' }, transport: () => hanging, longPollFallbackMs: 200 });
    const began = Date.now();
    socket.connect();
    const opened = await nextState(socket, (change) => change.to === 'open', 5000);
    expect(opened.transport).toBe('longpoll');
    expect(Date.now() - began).toBeGreaterThanOrEqual(200);
    expect((await socket.channel('room:hang').join()).status).toBe('ok');
  });
});
