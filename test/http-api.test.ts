/**
 * The HTTP API (`/api/*`) against a real server on port 0: each endpoint,
 * its errors, the key, the body bound and the rate limit, with every
 * request and answer checked against docs/openapi.yaml.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { EngineUnavailable } from '../server/engine/engine';
import { apiClient, checkDocument, documentedOperations, exercised } from './openapi';
import { useServers, windowOf, type Frame } from './helpers';
import { PLUME, joinOkWith, pushWith } from './plume-frames';

const KEY = 'test-api-key-0123456789abcdef';
const start = useServers();
const startWithApi = (options = {}) => start({ apiKey: KEY, ...options });
const isNotice = (f: Frame) => f.event === 'notice';

afterAll(() => {
  // Every documented operation was exercised with a success at least once.
  const succeeded = new Set([...exercised].filter((e) => e.endsWith(' 200')).map((e) => e.replace(/ 200$/, '')));
  expect(documentedOperations().filter((op) => !succeeded.has(op))).toEqual([]);
});

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    expect(() => checkDocument()).not.toThrow();
  });
});

describe('the API key', () => {
  it('serves no API without a key', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/api/topics`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(404);
  });

  it('answers 401 without the key, with a wrong key, and with a user token in its place', async () => {
    const { url } = await startWithApi();
    for (const key of [null, 'wrong-key', `${KEY}x`]) {
      const { status, body } = await apiClient(url, key).get('/api/topics');
      expect(status).toBe(401);
      expect(body).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('Authorization: Bearer') } });
    }
  });

  it('refuses a short key at construction', async () => {
    await expect(start({ apiKey: 'short' })).rejects.toThrow(/at least 16 characters/);
  });
});

describe('POST /api/broadcast', () => {
  it('broadcasts to members with the next (epoch, seq), in one order with pushes made over sockets', async () => {
    const { url, connect, server } = await startWithApi();
    const member = await connect({ params: PLUME });
    const joinRef = (await joinOkWith(member, 'room:lobby')).joinRef;
    pushWith(member, 'room:lobby', joinRef, 'notice', { from: 'socket' });
    await member.next(isNotice);
    const api = apiClient(url, KEY);
    const { status, body } = await api.post('/api/broadcast', { topic: 'room:lobby', event: 'notice', payload: { from: 'api' } });
    expect(status).toBe(200);
    const epoch = windowOf(server, 'room:lobby').epoch;
    expect(body).toEqual({ topic: 'room:lobby', epoch, seq: 2 });
    const frame = await member.next(isNotice);
    expect(frame.payload).toEqual({ from: 'api' });
    expect(frame.meta).toMatchObject({ epoch, seq: 2 });
  });

  it('applies a message id once: a repeat answers the original position and reaches nobody again', async () => {
    const { url, connect } = await startWithApi();
    const member = await connect({ params: PLUME });
    await joinOkWith(member, 'room:a');
    const api = apiClient(url, KEY);
    const message = { topic: 'room:a', event: 'notice', payload: { n: 1 }, id: 'order-42' };
    const first = await api.post('/api/broadcast', message);
    const again = await api.post('/api/broadcast', message);
    expect(again.body).toEqual(first.body);
    await api.post('/api/broadcast', { topic: 'room:a', event: 'notice', payload: { n: 2 } });
    const frames = await member.take(2, isNotice);
    expect(frames.map((f) => [f.payload.n, f.meta?.seq, f.meta?.id])).toEqual([[1, 1, 'order-42'], [2, 2, undefined]]);
  });

  it('applies a batch in order and answers each position', async () => {
    const { url } = await startWithApi();
    const messages = [1, 2, 3].map((n) => ({ topic: n === 2 ? 'room:b' : 'room:a', event: 'notice', payload: { n } }));
    const { status, body } = await apiClient(url, KEY).post('/api/broadcast', { messages });
    expect(status).toBe(200);
    expect((body.messages as { topic: string; seq: number }[]).map((m) => [m.topic, m.seq])).toEqual([['room:a', 1], ['room:b', 1], ['room:a', 2]]);
  });

  it('refuses an invalid batch whole, naming the message, and applies nothing', async () => {
    const { url, server } = await startWithApi();
    const api = apiClient(url, KEY);
    const bad = { messages: [{ topic: 'room:a', event: 'ok', payload: {} }, { topic: 'room:a', event: 'phx_reply', payload: {} }] };
    const { status, body } = await api.post('/api/broadcast', bad, { valid: false });
    expect(status).toBe(400);
    expect(body).toEqual({ error: { code: 'invalid_request', message: expect.stringMatching(/^messages\[1\]: "phx_reply" is a reserved event/) } });
    expect(windowOf(server, 'room:a').head).toBe(0);
    for (const invalid of [{}, { topic: '', event: 'e', payload: {} }, { topic: 't', event: 'e', payload: [] }, { topic: 't', event: 'e', payload: {}, id: 5 }, { messages: [] }]) {
      expect((await api.post('/api/broadcast', invalid, { valid: false })).body).toMatchObject({ error: { code: 'invalid_request' } });
    }
  });

  it('answers invalid JSON, a wrong content type, a body over apiMaxBodyBytes and a wrong method with their codes', async () => {
    const { url } = await startWithApi({ apiMaxBodyBytes: 1000 });
    const api = apiClient(url, KEY);
    expect((await api.post('/api/broadcast', '{"topic": ', { valid: false })).body).toMatchObject({ error: { code: 'invalid_json' } });
    const wrongType = await api.post('/api/broadcast', 'topic=a', { valid: false, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect([wrongType.status, wrongType.body.error]).toMatchObject([415, { code: 'unsupported_media_type' }]);
    const large = await api.post('/api/broadcast', { topic: 'room:a', event: 'e', payload: { text: 'x'.repeat(2000) } });
    expect([large.status, large.body.error]).toMatchObject([413, { code: 'payload_too_large' }]);
    const res = await fetch(`${url}/api/broadcast`, { headers: { authorization: `Bearer ${KEY}` } });
    expect([res.status, res.headers.get('allow'), ((await res.json()) as { error: { code: string } }).error.code]).toEqual([405, 'POST', 'method_not_allowed']);
    const unknown = await fetch(`${url}/api/nothing`, { headers: { authorization: `Bearer ${KEY}` } });
    expect([unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
  });

  it('answers 503 unavailable when the engine cannot be reached, and says which messages of a batch were applied', async () => {
    const { url, server } = await startWithApi();
    const publish = server.history.publish.bind(server.history);
    let calls = 0;
    server.history.publish = (topic, broadcast) => (++calls === 2 ? Promise.reject(new EngineUnavailable('redis is down')) : publish(topic, broadcast));
    const api = apiClient(url, KEY);
    const { status, body } = await api.post('/api/broadcast', { messages: [1, 2].map((n) => ({ topic: 'room:a', event: 'e', payload: { n }, id: `m${n}` })) });
    expect(status).toBe(503);
    expect(body).toMatchObject({ error: { code: 'unavailable' }, messages: [{ seq: 1 }, { error: { code: 'unavailable' } }] });
    const single = await api.post('/api/broadcast', { topic: 'room:a', event: 'e', payload: {} });
    expect(single.status).toBe(200);
  });
});

describe('GET /api/topics, presence and history', () => {
  it('lists the topics with members on this node, with counts, by name and prefix', async () => {
    const { url, connect } = await startWithApi();
    for (const [name, topic] of [['ada', 'room:a'], ['bob', 'room:a'], ['cy', 'room:b'], ['di', 'room:-c']] as const) await (await connect({ name })).joinOk(topic);
    const api = apiClient(url, KEY);
    const all = await api.get('/api/topics');
    expect(all.body).toMatchObject({ total: 3, topics: [{ topic: 'room:-c', members: 1 }, { topic: 'room:a', members: 2 }, { topic: 'room:b', members: 1 }] });
    expect((await api.get('/api/topics?prefix=room:a&limit=1')).body).toMatchObject({ total: 1, topics: [{ topic: 'room:a', members: 2 }] });
    expect((await api.get('/api/topics?limit=0')).body).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('shows who is in a topic (presence across nodes, Phoenix shape)', async () => {
    const { url, connect } = await startWithApi({ presenceCoalesceMs: 0 });
    await (await connect({ name: 'Ada' })).joinOk('room:lobby');
    const api = apiClient(url, KEY);
    const { body } = await api.get(`/api/topics/${encodeURIComponent('room:lobby')}/presence`);
    expect(body.topic).toBe('room:lobby');
    expect(Object.keys(body.presences as object)).toEqual(['Ada']);
    expect((await api.get('/api/topics/room:empty/presence')).body).toEqual({ topic: 'room:empty', presences: {} });
  });

  it('pages through history: the latest, after a seq, and says when the range is no longer whole', async () => {
    const { url, server } = await startWithApi({ historyLimit: 5 });
    for (let n = 1; n <= 8; n++) await server.broadcast('room:h', 'm', { n }, n === 8 ? { id: 'last' } : {});
    const api = apiClient(url, KEY);
    const latest = await api.get('/api/topics/room:h/history?limit=2');
    expect(latest.body).toMatchObject({ topic: 'room:h', head: 8, oldest: 4, complete: true, more: false });
    expect((latest.body.messages as { payload: { n: number }; id?: string }[]).map((m) => [m.payload.n, m.id])).toEqual([[7, undefined], [8, 'last']]);
    const page = await api.get('/api/topics/room:h/history?since=4&limit=2');
    expect(page.body).toMatchObject({ complete: true, more: true, messages: [{ seq: 5 }, { seq: 6 }] });
    const trimmed = await api.get('/api/topics/room:h/history?since=1');
    expect(trimmed.body).toMatchObject({ complete: false, messages: [{ seq: 4 }, { seq: 5 }, { seq: 6 }, { seq: 7 }, { seq: 8 }] });
    expect((await api.get('/api/topics/room:none/history')).body).toMatchObject({ head: 0, messages: [], complete: true, more: false });
    expect((await api.get('/api/topics/room:h/history?since=-1')).status).toBe(400);
  });

  it('shows bytes in history as base64, and a document\'s updates as folded entries without their bytes', async () => {
    const { url, server } = await startWithApi({ documents: {} });
    await server.broadcast('room:b', 'blob', Uint8Array.of(0, 1, 255));
    await server.history.publish('room:b', { event: 'plume:doc', payloadJson: '', payloadBytes: Buffer.from([2, 0, 0]), binary: true, folded: true, exclude: null, user: 'ada' });
    const { status, body } = await apiClient(url, KEY).get('/api/topics/room:b/history');
    expect(status).toBe(200);
    expect(body.messages).toEqual([
      { seq: 1, event: 'blob', binary: 'AAH/', at: expect.any(String) as string },
      { seq: 2, event: 'plume:doc', folded: true, at: expect.any(String) as string },
    ]);
  });

  it('gives a client that reconnects what the API broadcast meanwhile (recovery from history)', async () => {
    const { url, connect, server } = await startWithApi();
    const first = await connect({ params: PLUME });
    await joinOkWith(first, 'room:r');
    const api = apiClient(url, KEY);
    await api.post('/api/broadcast', { topic: 'room:r', event: 'notice', payload: { n: 1 } });
    await first.next(isNotice);
    await first.dispose();
    await api.post('/api/broadcast', { messages: [2, 3].map((n) => ({ topic: 'room:r', event: 'notice', payload: { n } })) });
    const back = await connect({ params: PLUME });
    const { reply } = await joinOkWith(back, 'room:r', { since: { epoch: windowOf(server, 'room:r').epoch, seq: 1 } });
    expect(reply.meta).toMatchObject({ recovered: true, from: 2 });
    expect((await back.take(2, isNotice)).map((f) => f.payload.n)).toEqual([2, 3]);
  });
});

describe('POST /api/disconnect', () => {
  it("closes the user's sockets on this node and says how many", async () => {
    const { url, connect } = await startWithApi();
    const [ada1, ada2, bob] = [await connect({ name: 'ada' }), await connect({ name: 'ada' }), await connect({ name: 'bob' })];
    await Promise.all([ada1.joinOk('room:a'), ada2.joinOk('room:a'), bob.joinOk('room:a')]);
    const api = apiClient(url, KEY);
    const { body } = await api.post('/api/disconnect', { user: 'ada', reason: 'banned' });
    expect(body).toMatchObject({ disconnected: 2 });
    expect(await ada1.closed).toEqual({ code: 1000, reason: 'banned' });
    expect(await ada2.closed).toMatchObject({ code: 1000 });
    expect((await api.post('/api/disconnect', { user: 'nobody' })).body).toMatchObject({ disconnected: 0 });
    expect((await api.post('/api/disconnect', { name: 'ada' }, { valid: false })).status).toBe(400);
  });
});

describe('the rate limit', () => {
  it('answers 429 rate_limited with retry-after once a client address used its burst, and recovers', async () => {
    const { url } = await startWithApi({ apiRateLimit: { perSecond: 20, burst: 2 } });
    const api = apiClient(url, KEY);
    expect((await api.get('/api/topics')).status).toBe(200);
    expect((await api.get('/api/topics')).status).toBe(200);
    const limited = await api.get('/api/topics');
    expect([limited.status, limited.body.error]).toMatchObject([429, { code: 'rate_limited' }]);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await api.get('/api/topics')).status).toBe(200);
  });
});
