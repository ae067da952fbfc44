/**
 * Hostile and malformed input (PROTOCOL.md §5): each bad frame gets its
 * documented answer — a close code, or an error reply with the exact reason —
 * while a healthy socket on the same server keeps receiving broadcasts and
 * the process keeps serving `/health`.
 */
import { describe, expect, it } from 'vitest';
import { ok } from '../server/channels/channel';
import { deferred, health, useServers, type RawClient, type TestServer } from './helpers';

const start = useServers();

const LOBBY = 'room:lobby';
const MAX_PAYLOAD = 64 * 1024;
const MAX_FRAME = 1024 * 1024;
const FLOOD = 5000;

type Outcome =
  | { close: number }
  | { reply: string }
  | { phxError: true }
  | { check: (hostile: RawClient) => Promise<void> };

interface Hostile {
  /** What the hostile socket does, as in "answers <name>". */
  name: string;
  /** Connect params of the hostile socket. */
  params?: Record<string, string>;
  /** Join the lobby first; `send` then gets the join_ref. */
  join?: boolean;
  /** Sends the bad input. Frames that expect a reply use ref "h". */
  send: (hostile: RawClient, joinRef: string) => void;
  expect: Outcome;
}

const frame = (...elements: unknown[]) => (c: RawClient): void => c.send(elements);
const text = (data: string | Buffer) => (c: RawClient): void => c.send(data);

const HOSTILE: Hostile[] = [
  { name: 'text that is not JSON', send: text('hello{'), expect: { close: 4400 } },
  { name: 'a JSON object', send: text('{"topic":"room:lobby","event":"phx_join"}'), expect: { close: 4400 } },
  { name: 'a JSON number', send: text('42'), expect: { close: 4400 } },
  { name: 'an empty array', send: text('[]'), expect: { close: 4400 } },
  { name: 'an array of 4 elements', send: frame('1', 'h', LOBBY, 'phx_join'), expect: { close: 4400 } },
  { name: 'an array of 7 elements', send: frame('1', 'h', LOBBY, 'phx_join', {}, {}, {}), expect: { close: 4400 } },
  { name: '6 elements on a socket without plume=1', send: frame('1', 'h', LOBBY, 'phx_join', {}, {}), expect: { close: 4400 } },
  { name: 'a sixth element that is not an object on a plume socket', params: { plume: '1' }, send: frame('1', 'h', LOBBY, 'phx_join', {}, 'meta'), expect: { close: 4400 } },
  { name: 'a join_ref that is a number', send: frame(1, 'h', LOBBY, 'phx_join', {}), expect: { close: 4400 } },
  { name: 'a join_ref that is an object', send: frame({}, 'h', LOBBY, 'phx_join', {}), expect: { close: 4400 } },
  { name: 'a null ref', send: frame(null, null, 'phoenix', 'heartbeat', {}), expect: { close: 4400 } },
  { name: 'a ref that is a number', send: frame(null, 1, 'phoenix', 'heartbeat', {}), expect: { close: 4400 } },
  { name: 'an empty topic', send: frame(null, 'h', '', 'phx_join', {}), expect: { close: 4400 } },
  { name: 'a topic of 300 characters', send: frame('h', 'h', `room:${'x'.repeat(295)}`, 'phx_join', {}), expect: { close: 4400 } },
  { name: 'an event that is not a string', send: frame(null, 'h', LOBBY, 42, {}), expect: { close: 4400 } },
  { name: 'an event of 300 characters', join: true, send: (c, j) => c.send([j, 'h', LOBBY, 'e'.repeat(300), {}]), expect: { close: 4400 } },
  { name: 'JSON nested 100 000 deep', send: text('['.repeat(100_000) + ']'.repeat(100_000)), expect: { close: 4400 } },
  { name: 'a payload that is an array', join: true, send: (c, j) => c.send([j, 'h', LOBBY, 'new_msg', [1, 2]]), expect: { reply: 'invalid payload' } },
  { name: 'a payload that is a string', join: true, send: (c, j) => c.send([j, 'h', LOBBY, 'new_msg', 'hi']), expect: { reply: 'invalid payload' } },
  { name: 'a payload that is null', join: true, send: (c, j) => c.send([j, 'h', LOBBY, 'new_msg', null]), expect: { reply: 'invalid payload' } },
  { name: 'a join whose params are not an object', send: frame('h', 'h', LOBBY, 'phx_join', 7), expect: { reply: 'invalid payload' } },
  {
    name: 'a frame over maxPayloadBytes',
    join: true,
    send: (c, j) => c.send([j, 'h', LOBBY, 'new_msg', { body: 'x'.repeat(MAX_PAYLOAD) }]),
    expect: { reply: 'payload too large' },
  },
  { name: 'a frame over maxFrameBytes', send: text(`[null,"h","${LOBBY}","new_msg",{"b":"${'x'.repeat(MAX_FRAME)}"}]`), expect: { close: 1009 } },
  // A text frame's JSON sent as binary: its first byte (`[`, 0x5b) is no binary frame kind (PROTOCOL.md §2).
  { name: 'a binary frame that is not in the binary layout', send: (c) => c.send(Buffer.from('[null,"h","phoenix","heartbeat",{}]'), { binary: true }), expect: { close: 4400 } },
  { name: 'a binary frame whose lengths run past its end', send: (c) => c.send(Buffer.from([0, 1, 1, 200, 4, 0x31, 0x68]), { binary: true }), expect: { close: 4400 } },
  { name: 'a binary push to a reserved event', join: true, send: (c, j) => c.send(Buffer.concat([Buffer.from([0, j.length, 1, 10, 9]), Buffer.from(`${j}hroom:lobbyphx_leave`)]), { binary: true }), expect: { reply: 'invalid payload' } },
  { name: 'invalid UTF-8 in a text frame', send: text(Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d])), expect: { close: 1007 } },
  { name: 'an unknown phx_ event', join: true, send: (c, j) => c.send([j, 'h', LOBBY, 'phx_hack', {}]), expect: { reply: 'unknown event' } },
  { name: 'an unknown presence_ event', join: true, send: (c, j) => c.send([j, 'h', LOBBY, 'presence_fake', {}]), expect: { reply: 'unknown event' } },
  { name: 'an unknown plume: event', join: true, send: (c, j) => c.send([j, 'h', LOBBY, 'plume:fake', {}]), expect: { reply: 'unknown event' } },
  { name: 'a heartbeat on a room topic', join: true, send: (c, j) => c.send([j, 'h', LOBBY, 'heartbeat', {}]), expect: { reply: 'unknown event' } },
  { name: 'another event on topic phoenix', send: frame(null, 'h', 'phoenix', 'phx_join', {}), expect: { reply: 'unknown event' } },
  { name: 'vsn=1.0.0', params: { vsn: '1.0.0' }, send: () => {}, expect: { close: 4400 } },
  {
    // Parses within maxPayloadBytes, but nests deeper than maxPayloadDepth: answered before any handler
    // sees it (serializing it again would overflow the stack).
    name: 'a payload nested deeper than maxPayloadDepth',
    join: true,
    send: (c, j) => c.send(`["${j}","h","${LOBBY}","new_msg",{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}]`),
    expect: { reply: 'payload too deep' },
  },
  { name: 'a meta nested deeper than maxPayloadDepth', params: { plume: '1' }, join: true, send: (c, j) => c.send([j, 'h', LOBBY, 'new_msg', {}, { a: JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`) }]), expect: { reply: 'payload too deep' } },
  {
    name: 'five thousand frames sent at once',
    send: (c) => {
      for (let i = 0; i < FLOOD; i++) c.send([null, `f${i}`, 'phoenix', 'heartbeat', {}]);
    },
    expect: {
      async check(c) {
        const replies = await c.take(FLOOD, (f) => f.topic === 'phoenix' && f.event === 'phx_reply', 10_000);
        expect(replies.map((f) => f.ref)).toEqual(Array.from({ length: FLOOD }, (_, i) => `f${i}`));
      },
    },
  },
];

/** Does the hostile thing on a fresh socket and asserts the documented answer. */
async function provoke(t: TestServer, hostile: Hostile): Promise<void> {
  const client = await t.connect({ name: 'mallory', params: hostile.params });
  const joinRef = hostile.join ? await client.joinOk(LOBBY) : '';
  hostile.send(client, joinRef);
  const outcome = hostile.expect;
  if ('close' in outcome) {
    expect((await client.closeEvent()).code).toBe(outcome.close);
    return;
  }
  if ('reply' in outcome) {
    expect(await client.replyTo('h')).toEqual({ status: 'error', response: { reason: outcome.reply } });
  } else if ('phxError' in outcome) {
    expect((await client.next((f) => f.event === 'phx_error')).joinRef).toBe(joinRef);
  } else {
    await outcome.check(client);
  }
  // Answered, not closed: the socket still works.
  await client.heartbeat();
}

/** A listener and a speaker in the lobby: proves broadcasts still flow. */
async function bystanders(t: TestServer): Promise<() => Promise<void>> {
  const listener = await t.connect({ name: 'listener' });
  const speaker = await t.connect({ name: 'speaker' });
  await listener.joinOk(LOBBY);
  const joinRef = await speaker.joinOk(LOBBY);
  let n = 0;
  return async () => {
    n += 1;
    expect(await speaker.request(LOBBY, 'new_msg', { n }, joinRef)).toEqual({ status: 'ok', response: {} });
    const got = await listener.next((f) => f.event === 'new_msg');
    expect(got.raw).toBe(`[null,null,"${LOBBY}","new_msg",{"n":${n}}]`);
  };
}

describe('hostile input', () => {
  it.each(HOSTILE.map((h) => [h.name, h] as const))('answers %s as PROTOCOL.md §5 says, and other sockets carry on', async (_name, hostile) => {
    const t = await start();
    const stillBroadcasting = await bystanders(t);
    await stillBroadcasting();
    await provoke(t, hostile);
    await stillBroadcasting();
    expect((await health(t.url)).status).toBe(200);
  });

  it('keeps one healthy socket receiving broadcasts through every hostile input in turn', async () => {
    const t = await start();
    const stillBroadcasting = await bystanders(t);
    for (const hostile of HOSTILE) {
      await provoke(t, hostile);
      await stillBroadcasting();
    }
    const { status, body } = await health(t.url);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', sockets: expect.any(Number) });
  });

  it('closes with 4400 a socket that floods frames while its connect hook is still deciding', async () => {
    const decided = deferred();
    const t = await start({}, (server) => server.onConnect(async ({ params }) => {
      if (params.name === 'mallory') await decided.promise;
    }));
    const stillBroadcasting = await bystanders(t);
    const client = await t.connect({ name: 'mallory' });
    for (let i = 0; i < 100; i++) client.send([null, `p${i}`, 'phoenix', 'heartbeat', {}]);
    expect((await client.closeEvent()).code).toBe(4400);
    decided.resolve();
    await stillBroadcasting();
  });

  it('handles frames that arrive while the connect hook is deciding, in order, once it accepts', async () => {
    const decided = deferred();
    const t = await start({}, (server) => server.onConnect(async () => {
      await decided.promise;
    }));
    const client = await t.connect();
    client.send(['1', '1', LOBBY, 'phx_join', {}]);
    client.send(['1', '2', LOBBY, 'new_msg', { body: 'early' }]);
    decided.resolve();
    expect(await client.replyTo('1')).toEqual({ status: 'ok', response: {} });
    expect((await client.next((f) => f.event === 'new_msg')).payload).toEqual({ body: 'early' });
    expect(await client.replyTo('2')).toEqual({ status: 'ok', response: {} });
  });

  it('does not let one socket\'s crashing handler affect another socket\'s channel', async () => {
    const t = await start({}, (server) => server.channel('fragile:*', {
      handleIn(event, payload, socket) {
        if (event === 'boom') throw new Error('handler bug');
        socket.broadcast(event, payload);
        return ok();
      },
    }));
    const a = await t.connect();
    const b = await t.connect();
    const ja = await a.joinOk('fragile:1');
    const jb = await b.joinOk('fragile:1');
    a.push('fragile:1', 'boom', {}, ja);
    await a.next((f) => f.event === 'phx_error');
    expect(await b.request('fragile:1', 'msg', {}, jb)).toEqual({ status: 'ok', response: {} });
    expect((await b.next((f) => f.event === 'msg')).topic).toBe('fragile:1');
  });
});
