/**
 * The server's own API: `disconnect`, `sockets`, graceful `close`, direct
 * PubSub messages to channels, and several nodes sharing one PubSub bus.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MemoryAdapter } from '../server/pubsub/memory';
import { ENTRY_OVERHEAD } from '../server/engine/memory/history';
import { PlumeServer } from '../server/server';
import { JsonAdapter, RawClient, Recorder, useServers, useTwoNodes } from './helpers';

const start = useServers();

describe('server.disconnect', () => {
  it('closes the sockets a predicate matches, with the given code, and no others', async () => {
    const { connect, server } = await start();
    const ada = await connect({ name: 'ada' });
    const bob = await connect({ name: 'bob' });
    const ada2 = await connect({ name: 'ada' });
    await bob.heartbeat(); // all three are authenticated once a frame has been answered
    await ada.heartbeat();
    await ada2.heartbeat();
    expect(server.disconnect((s) => s.assigns.userId === 'ada', 4000, 'logged out')).toBe(2);
    expect(await ada.closeEvent()).toEqual({ code: 4000, reason: 'logged out' });
    expect(await ada2.closeEvent()).toEqual({ code: 4000, reason: 'logged out' });
    await bob.heartbeat();
    expect(server.sockets().map((s) => s.assigns.userId)).toEqual(['bob']);
  });

  it('closes one socket by id with 1000 by default', async () => {
    const { connect, server } = await start();
    const ada = await connect({ name: 'ada' });
    const bob = await connect({ name: 'bob', params: { plume: '1' } });
    await ada.heartbeat();
    await bob.heartbeat();
    const target = server.sockets().find((s) => s.assigns.name === 'bob');
    expect(target?.plume).toBe(true);
    expect(server.disconnect(target?.socketId ?? '')).toBe(1);
    expect(await bob.closeEvent()).toEqual({ code: 1000, reason: 'disconnected by server' });
    expect(ada.isOpen).toBe(true);
    expect(server.disconnect('no-such-socket')).toBe(0);
  });

  it('ends the channels of the sockets it closes', async () => {
    const terminated = new Recorder<string>();
    const { connect, server } = await start({}, (s) => s.channel('room:*', { terminate: (reason) => terminated.push(reason) }));
    const ada = await connect();
    await ada.joinOk('room:a');
    server.disconnect(() => true);
    expect(await terminated.next()).toBe('closed');
    expect(server.stats()).toMatchObject({ sockets: 0, channels: 0, topics: 0 });
  });
});

describe('server.stats', () => {
  it('reports what the memory engine\'s history holds, counting each entry\'s event and bookkeeping', async () => {
    const { server } = await start();
    expect(server.stats().history).toEqual({ heldBytes: 0, pooledBytes: 0, allocatedBytes: 0, evictedForBudget: 0, topics: 0 });
    await server.broadcast('room:a', 'msg', { body: 'héllo' });
    await server.broadcast('room:b', 'msg', { body: 'hi' });
    const payloads = Buffer.byteLength('{"body":"héllo"}') + Buffer.byteLength('{"body":"hi"}');
    expect(server.stats().history).toMatchObject({ heldBytes: payloads + 2 * (3 + ENTRY_OVERHEAD), pooledBytes: 0, topics: 2 });
    expect(server.stats().history!.allocatedBytes).toBeGreaterThanOrEqual(payloads);
    expect(server.stats().engine).toEqual({ engine: 'memory', ready: true });
  });
});

describe('history byte budget', () => {
  it('warns once a minute at most, saying how many broadcasts it dropped early and what to change', async () => {
    const warnings: string[] = [];
    const server = new PlumeServer({ historyMaxBytes: 1000, historyMaxBytesPerTopic: 1000, logger: { info: () => {}, warn: (m: string) => warnings.push(m), error: () => {} } });
    const sweep = () => {
      // The history part of the periodic sweep runs once a minute; this test does not wait for one.
      (server as unknown as { lastHistorySweep: number }).lastHistorySweep = 0;
      (server as unknown as { sweep: () => void }).sweep();
    };
    sweep();
    expect(warnings).toEqual([]);
    for (let n = 0; n < 3; n++) await server.broadcast('room:a', 'msg', { body: 'x'.repeat(590) });
    sweep();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/dropped 2 broadcasts .*historyMaxBytes \(1000 bytes\).*raise the budget/);
    sweep();
    expect(warnings).toHaveLength(1);
    await server.close();
  });
});

describe('server.close', () => {
  it('closes every socket with 1001 and stops listening', async () => {
    const server = new PlumeServer({ logger: false });
    const { socketUrl, url } = await server.listen(0, '127.0.0.1');
    const ada = await RawClient.connect(socketUrl);
    const bob = await RawClient.connect(socketUrl);
    await ada.joinOk('room:a');
    await server.close();
    expect(await ada.closeEvent()).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await bob.closeEvent()).toMatchObject({ code: 1001 });
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('refuses to listen again after closing, saying what to do instead', async () => {
    const server = new PlumeServer({ logger: false });
    await server.listen(0, '127.0.0.1');
    await server.close();
    await expect(server.listen(0, '127.0.0.1')).rejects.toThrow(/create a new PlumeServer/);
  });

  it('may be closed twice', async () => {
    const server = new PlumeServer({ logger: false });
    await server.listen(0, '127.0.0.1');
    await server.close();
    await server.close();
  });
});

describe('PubSub messages to channels', () => {
  it('passes non-broadcast messages on a topic to handleInfo, which may push', async () => {
    const { connect, server } = await start({}, (s) => s.channel('user:*', {
      handleInfo(message, socket) {
        socket.push('notice', { text: String((message as { text: string }).text) });
      },
    }));
    const ada = await connect();
    const joinRef = await ada.joinOk('user:1');
    server.pubsub.broadcast('user:1', { text: 'you have mail' });
    expect((await ada.next((f) => f.event === 'notice')).raw).toBe(`["${joinRef}",null,"user:1","notice",{"text":"you have mail"}]`);
  });

  it('refuses a reserved event name or a non-object payload in server.broadcast at once', async () => {
    const { server } = await start();
    expect(() => server.broadcast('room:a', 'phx_close', {})).toThrow(/reserved/);
    expect(() => server.broadcast('room:a', 'msg', [] as unknown as Record<string, unknown>)).toThrow(/plain object/);
  });
});

describe('several nodes on one MemoryBus', () => {
  const nodes = useTwoNodes(start);

  /** Two nodes on one bus, each with a member of room:x: ada on a, bob on b. */
  async function twoNodes(Adapter?: typeof MemoryAdapter) {
    const [a, b] = await nodes(Adapter);
    const onA = await a.connect({ name: 'ada' });
    const onB = await b.connect({ name: 'bob' });
    const joinRef = await onA.joinOk('room:x');
    await onB.joinOk('room:x');
    return { onA, onB, joinRef };
  }

  it('delivers a broadcast made on one node to members on the other', async () => {
    const { onA, onB, joinRef } = await twoNodes();
    await onA.request('room:x', 'msg', { from: 'a' }, joinRef);
    expect((await onB.next((f) => f.event === 'msg')).raw).toBe('[null,null,"room:x","msg",{"from":"a"}]');
    expect((await onA.next((f) => f.event === 'msg')).payload).toEqual({ from: 'a' });
    expect(await onA.drain((f) => f.event === 'msg')).toEqual([]);
  });

  it('delivers the same frames when the adapter serializes messages as JSON (the encoded payload bytes arrive as a plain object)', async () => {
    const { onA, onB, joinRef } = await twoNodes(JsonAdapter);
    const body = { text: 'é'.repeat(300), n: 1 };
    await onA.request('room:x', 'msg', body, joinRef);
    expect((await onB.next((f) => f.event === 'msg')).raw).toBe(`[null,null,"room:x","msg",${JSON.stringify(body)}]`);
  });
});
