/**
 * Fan-out of broadcasts (PROTOCOL.md §7): one encoding per broadcast, seen
 * as byte-identical frames at every member, and Plume order metadata only on
 * sockets that asked for it.
 */
import { describe, expect, it } from 'vitest';
import { ok } from '../server/channels/channel';
import { useServers, type RawClient } from './helpers';

const start = useServers();

type Connect = (options?: { name?: string; params?: Record<string, string> }) => Promise<RawClient>;

/** Connects `count` sockets and joins each to `topic`; returns them with their join_refs. */
async function members(connect: Connect, count: number, topic: string, plume: boolean): Promise<Array<{ client: RawClient; joinRef: string }>> {
  const clients = await Promise.all(Array.from({ length: count }, (_, i) => connect({ name: `m${i}`, params: plume ? { plume: '1' } : {} })));
  return Promise.all(clients.map(async (client) => ({ client, joinRef: await client.joinOk(topic) })));
}

/** Connects one socket joined to `topic`. */
async function member(connect: Connect, topic: string, plume: boolean): Promise<{ client: RawClient; joinRef: string }> {
  const [one] = await members(connect, 1, topic, plume);
  return one as { client: RawClient; joinRef: string };
}

describe('fan-out', () => {
  it('delivers a broadcast byte-identical to 50 sockets', async () => {
    const { connect } = await start();
    const clients = (await members(connect, 50, 'room:big', false)).map((m) => m.client);
    const { client: speaker, joinRef } = await member(connect, 'room:big', false);
    await speaker.request('room:big', 'new_msg', { body: 'héllo "world"', n: [1, 2.5, null], nested: { ok: true } }, joinRef);
    const frames = await Promise.all([speaker, ...clients].map((c) => c.next((f) => f.event === 'new_msg')));
    expect(frames).toHaveLength(51);
    const expected = '[null,null,"room:big","new_msg",{"body":"héllo \\"world\\"","n":[1,2.5,null],"nested":{"ok":true}}]';
    expect(new Set(frames.map((f) => f.raw))).toEqual(new Set([expected]));
  });

  it('gives plume sockets a sixth element {epoch, seq} and plain sockets five elements', async () => {
    const { connect, server } = await start();
    const plume = (await members(connect, 3, 'room:a', true)).map((m) => m.client);
    const plain = (await members(connect, 3, 'room:a', false)).map((m) => m.client);
    server.broadcast('room:a', 'tick', { n: 1 });
    const plumeFrames = await Promise.all(plume.map((c) => c.next((f) => f.event === 'tick')));
    const plainFrames = await Promise.all(plain.map((c) => c.next((f) => f.event === 'tick')));
    expect(new Set(plainFrames.map((f) => f.raw))).toEqual(new Set(['[null,null,"room:a","tick",{"n":1}]']));
    expect(new Set(plumeFrames.map((f) => f.raw)).size).toBe(1);
    const [first] = plumeFrames;
    expect(first?.length).toBe(6);
    expect(first?.meta).toEqual({ epoch: expect.any(String), seq: 1 });
    expect(first?.raw).toBe(`[null,null,"room:a","tick",{"n":1},{"epoch":"${String(first?.meta?.epoch)}","seq":1}]`);
  });

  it('numbers a topic\'s broadcasts by exactly one each, in one epoch, whoever sends them', async () => {
    const { connect, server } = await start();
    const { client: ada, joinRef } = await member(connect, 'room:a', true);
    server.broadcast('room:a', 'm', { i: 1 });
    await ada.request('room:a', 'm', { i: 2 }, joinRef);
    server.broadcast('room:a', 'm', { i: 3 });
    await ada.request('room:a', 'm', { i: 4 }, joinRef);
    const frames = await ada.take(4, (f) => f.event === 'm');
    expect(frames.map((f) => f.payload.i)).toEqual([1, 2, 3, 4]);
    expect(frames.map((f) => f.meta?.seq)).toEqual([1, 2, 3, 4]);
    expect(new Set(frames.map((f) => f.meta?.epoch)).size).toBe(1);
  });

  it('numbers each topic on its own', async () => {
    const { connect, server } = await start();
    const { client: ada } = await member(connect, 'room:a', true);
    await ada.joinOk('room:b');
    server.broadcast('room:a', 'm', {});
    server.broadcast('room:a', 'm', {});
    server.broadcast('room:b', 'm', {});
    const frames = await ada.take(3, (f) => f.event === 'm');
    expect(frames.map((f) => [f.topic, f.meta?.seq])).toEqual([['room:a', 1], ['room:a', 2], ['room:b', 1]]);
  });

  it('puts no order metadata on replies or on pushes to one socket, even on plume sockets', async () => {
    const { connect } = await start({}, (server) => server.channel('direct', {
      handleIn(_event, _payload, socket) {
        socket.push('just_you', {});
        return ok();
      },
    }));
    const ada = await connect({ params: { plume: '1' } });
    const joinRef = await ada.joinOk('direct');
    ada.push('direct', 'hi', {}, joinRef);
    const frames = await ada.take(2, (f) => f.topic === 'direct');
    expect(frames.map((f) => f.length)).toEqual([5, 5]);
    expect((await ada.heartbeat()).length).toBe(5);
  });

  it('accepts a sixth element from a plume socket', async () => {
    const { connect } = await start();
    const ada = await connect({ params: { plume: '1' } });
    ada.send(['1', '1', 'room:a', 'phx_join', {}, { client: 'plume' }]);
    expect(await ada.replyTo('1')).toEqual({ status: 'ok', response: {} });
  });

  it('keeps counting seq when a broadcastFrom skips the sender', async () => {
    const { connect } = await start({}, (server) => server.channel('room:*', {
      handleIn(event, payload, socket) {
        socket.broadcastFrom(event, payload);
        return ok();
      },
    }));
    const { client: ada, joinRef: adaRef } = await member(connect, 'room:a', true);
    const { client: bob, joinRef: bobRef } = await member(connect, 'room:a', true);
    await ada.request('room:a', 'm', {}, adaRef);
    await bob.request('room:a', 'm', {}, bobRef);
    expect((await bob.next((f) => f.event === 'm')).meta?.seq).toBe(1);
    expect((await ada.next((f) => f.event === 'm')).meta?.seq).toBe(2);
  });
  it('relays what a handler passed on as JSON.stringify writes it, and what it changed as changed', async () => {
    const { connect } = await start({}, (server) => {
      server.channel('chat:*', {
        handleIn(event, payload, socket) {
          if (event === 'edit') payload.body = 'edited by the server';
          socket.broadcast(event, payload);
        },
      });
    });
    const listener = await connect({ name: 'l' });
    await listener.joinOk('chat:a');
    const speaker = await connect({ name: 's' });
    const joinRef = await speaker.joinOk('chat:a');
    // The first text is reused as sent (it is JSON.stringify's); the spaced one is written again.
    const canonical = '{"body":"héllo","n":1.5,"list":[true,null,{"k":"v"}]}';
    speaker.send(`["${joinRef}","r1","chat:a","say",${canonical}]`);
    speaker.send(`["${joinRef}","r2","chat:a","say",{ "body": "spaced", "n": 1.50 }]`);
    speaker.send(`["${joinRef}","r3","chat:a","edit",${canonical}]`);
    const frames = await listener.take(3, (f) => f.event === 'say' || f.event === 'edit');
    expect(frames.map((f) => f.raw)).toEqual([
      `[null,null,"chat:a","say",${canonical}]`,
      '[null,null,"chat:a","say",{"body":"spaced","n":1.5}]',
      '[null,null,"chat:a","edit",{"body":"edited by the server","n":1.5,"list":[true,null,{"k":"v"}]}]',
    ]);
  });
});
