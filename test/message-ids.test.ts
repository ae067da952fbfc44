/**
 * Message ids over the wire (PROTOCOL.md §7, "Message ids and
 * deduplication"): a push with an id is applied at most once per user and
 * topic, always answered, and its broadcasts carry the id.
 */
import { describe, expect, it } from 'vitest';
import { error, ok } from '../server/channels/channel';
import { deferred, useServers, type Frame } from './helpers';
import { PLUME, joinOkWith, pushWith, replyFrame, requestWith } from './plume-frames';
import { Recorder } from './waiting';

const start = useServers();

const isMsg = (f: Frame) => f.event === 'm';

/**
 * `m` is broadcast and answered with the number of times the handler ran;
 * `twice` broadcasts two (`three`: three) times; `quiet` broadcasts without replying;
 * `refused` is answered with an error; `boom` throws; `slow` waits for the test.
 */
async function server() {
  const calls = new Recorder<string>();
  const gate = deferred();
  let count = 0;
  const started = await start({}, (s) => s.channel('ids:*', {
    async handleIn(event, payload, socket) {
      calls.push(`${socket.assigns.name}:${event}`);
      count++;
      switch (event) {
        case 'slow':
          await gate.promise;
          socket.broadcast('m', payload);
          return ok({ count });
        case 'twice':
        case 'three':
          for (let i = 0; i < (event === 'twice' ? 2 : 3); i++) socket.broadcast('m', { ...payload, i });
          return ok({ count });
        case 'quiet':
          socket.broadcast('m', payload);
          return undefined;
        case 'silent':
          return undefined;
        case 'refused':
          return error({ reason: 'not allowed', count });
        case 'boom':
          throw new Error('handler bug');
        default:
          socket.broadcast('m', payload);
          return ok({ count });
      }
    },
  }));
  const member = async (name: string) => {
    const client = await started.connect({ name, params: PLUME });
    const { joinRef, reply } = await joinOkWith(client, 'ids:1');
    return { client, joinRef, epoch: reply.meta?.epoch as string };
  };
  return { ...started, calls, gate, member };
}

describe('message ids', () => {
  it('answers a duplicate with the original reply, dup: true and the original seq, and broadcasts once', async () => {
    const { member, calls } = await server();
    const ada = await member('ada');
    const bob = await member('bob');
    const first = await requestWith(ada.client, 'ids:1', ada.joinRef, 'm', { body: 'once' }, { id: 'msg-1' });
    expect(first.payload).toEqual({ status: 'ok', response: { count: 1 } });
    expect(first.meta).toEqual({ epoch: ada.epoch, seq: 1 });
    const again = await requestWith(ada.client, 'ids:1', ada.joinRef, 'm', { body: 'once' }, { id: 'msg-1' });
    expect(again.payload).toEqual({ status: 'ok', response: { count: 1 } });
    expect(again.meta).toEqual({ epoch: ada.epoch, seq: 1, dup: true });
    expect(calls.all).toEqual(['ada:m']);
    const received = await bob.client.next(isMsg);
    expect(received.meta).toEqual({ epoch: ada.epoch, seq: 1, id: 'msg-1' });
    expect(await bob.client.drain(isMsg)).toEqual([]);
  });

  it('answers a duplicate from a new socket of the same user after a reconnect', async () => {
    const { member, calls } = await server();
    const ada = await member('ada');
    await requestWith(ada.client, 'ids:1', ada.joinRef, 'm', {}, { id: 'msg-r' });
    await ada.client.dispose();
    const back = await member('ada');
    const again = await requestWith(back.client, 'ids:1', back.joinRef, 'm', {}, { id: 'msg-r' });
    expect(again.payload).toEqual({ status: 'ok', response: { count: 1 } });
    expect(again.meta).toMatchObject({ seq: 1, dup: true });
    expect(calls.all).toEqual(['ada:m']);
  });

  it('answers the original refusal again to a duplicate, without running the handler', async () => {
    const { member, calls } = await server();
    const ada = await member('ada');
    const first = await requestWith(ada.client, 'ids:1', ada.joinRef, 'refused', {}, { id: 'no' });
    const again = await requestWith(ada.client, 'ids:1', ada.joinRef, 'refused', {}, { id: 'no' });
    expect(first.payload).toEqual({ status: 'error', response: { reason: 'not allowed', count: 1 } });
    expect(again.payload).toEqual(first.payload);
    expect(again.meta).toEqual({ dup: true });
    expect(calls.all).toHaveLength(1);
  });

  it('answers a retry that raced an async handler when the handler finishes, running it once', async () => {
    const { member, calls, gate } = await server();
    const ada = await member('ada');
    const adaAgain = await member('ada'); // the same user on a second socket, as after a reconnect
    const bob = await member('bob');
    const original = pushWith(ada.client, 'ids:1', ada.joinRef, 'slow', { body: 'slow' }, { id: 'race' });
    expect(await calls.next()).toBe('ada:slow');
    const retry = pushWith(adaAgain.client, 'ids:1', adaAgain.joinRef, 'slow', { body: 'slow' }, { id: 'race' });
    const sameSocketRetry = pushWith(ada.client, 'ids:1', ada.joinRef, 'slow', { body: 'slow' }, { id: 'race' });
    // Nothing is answered while the handler runs (proved by heartbeats, answered after all earlier frames).
    expect(await adaAgain.client.drain((f) => f.event === 'phx_reply')).toEqual([]);
    gate.resolve();
    const [a, b, c] = await Promise.all([
      replyFrame(ada.client, original), replyFrame(adaAgain.client, retry), replyFrame(ada.client, sameSocketRetry),
    ]);
    expect(a?.payload).toEqual({ status: 'ok', response: { count: 1 } });
    expect(a?.meta).toEqual({ epoch: ada.epoch, seq: 1 });
    for (const dup of [b, c]) {
      expect(dup?.payload).toEqual({ status: 'ok', response: { count: 1 } });
      expect(dup?.meta).toEqual({ epoch: ada.epoch, seq: 1, dup: true });
    }
    expect(calls.all).toEqual(['ada:slow']);
    expect((await bob.client.take(1, isMsg)).map((f) => f.meta?.seq)).toEqual([1]);
    expect(await bob.client.drain(isMsg)).toEqual([]);
  });

  it('keeps a sender\'s order after a reconnect while its earlier message is still being handled', async () => {
    const { member, calls, gate } = await server();
    const before = await member('ada');
    const bob = await member('bob');
    // `slow` is being handled when the socket drops; `m` was queued behind it and never ran.
    pushWith(before.client, 'ids:1', before.joinRef, 'slow', { n: 1 }, { id: 'first' });
    pushWith(before.client, 'ids:1', before.joinRef, 'm', { n: 2 }, { id: 'second' });
    expect(await calls.next()).toBe('ada:slow');
    await before.client.dispose();
    const after = await member('ada');
    const first = pushWith(after.client, 'ids:1', after.joinRef, 'slow', { n: 1 }, { id: 'first' });
    const second = pushWith(after.client, 'ids:1', after.joinRef, 'm', { n: 2 }, { id: 'second' });
    // The retry of `first` waits for the original; `second` waits behind it, as frames of one channel do.
    expect(await after.client.drain((f) => f.event === 'phx_reply')).toEqual([]);
    gate.resolve();
    const replies = await after.client.take(2, (f) => f.event === 'phx_reply');
    expect(replies.map((f) => [f.ref, f.meta?.seq, f.meta?.dup])).toEqual([[first, 1, true], [second, 2, undefined]]);
    expect((await bob.client.take(2, isMsg)).map((f) => f.payload.n)).toEqual([1, 2]);
    expect(calls.all).toEqual(['ada:slow', 'ada:m']);
  });

  it('acks `ok {}` a push with an id whose handler returns nothing (with the seq it got), and not one without an id', async () => {
    const { member } = await server();
    const ada = await member('ada');
    const quiet = await requestWith(ada.client, 'ids:1', ada.joinRef, 'quiet', {}, { id: 'q1' });
    expect(quiet.payload).toEqual({ status: 'ok', response: {} });
    expect(quiet.meta).toEqual({ epoch: ada.epoch, seq: 1 });
    const silent = await requestWith(ada.client, 'ids:1', ada.joinRef, 'silent', {}, { id: 's1' });
    expect(silent.payload).toEqual({ status: 'ok', response: {} });
    expect(silent.length).toBe(5); // no broadcast: no position to report
    const silentAgain = await requestWith(ada.client, 'ids:1', ada.joinRef, 'silent', {}, { id: 's1' });
    expect(silentAgain.payload).toEqual({ status: 'ok', response: {} });
    expect(silentAgain.meta).toEqual({ dup: true });
    pushWith(ada.client, 'ids:1', ada.joinRef, 'silent', {});
    expect(await ada.client.drain((f) => f.event === 'phx_reply')).toEqual([]);
  });

  it('answers a retry of a message that crashed its handler with `handler crashed`, without running it again', async () => {
    const { member, calls } = await server();
    const ada = await member('ada');
    pushWith(ada.client, 'ids:1', ada.joinRef, 'boom', {}, { id: 'poison' });
    const crashed = await ada.client.next((f) => f.event === 'phx_error');
    expect(crashed.joinRef).toBe(ada.joinRef);
    const { joinRef } = await joinOkWith(ada.client, 'ids:1');
    const retry = await requestWith(ada.client, 'ids:1', joinRef, 'boom', {}, { id: 'poison' });
    expect(retry.payload).toEqual({ status: 'error', response: { reason: 'handler crashed' } });
    expect(calls.all).toEqual(['ada:boom']);
  });

  it('scopes ids per user: the same id from another user is applied', async () => {
    const { member, calls } = await server();
    const ada = await member('ada');
    const bob = await member('bob');
    const fromAda = await requestWith(ada.client, 'ids:1', ada.joinRef, 'm', { from: 'ada' }, { id: 'shared' });
    const fromBob = await requestWith(bob.client, 'ids:1', bob.joinRef, 'm', { from: 'bob' }, { id: 'shared' });
    expect(fromAda.meta).toEqual({ epoch: ada.epoch, seq: 1 });
    expect(fromBob.meta).toEqual({ epoch: ada.epoch, seq: 2 });
    expect(calls.all).toEqual(['ada:m', 'bob:m']);
    expect((await bob.client.take(2, isMsg)).map((f) => f.payload.from)).toEqual(['ada', 'bob']);
  });

  it('scopes ids per topic: the same id on another topic is applied', async () => {
    const { member, calls } = await server();
    const ada = await member('ada');
    const { joinRef, reply } = await joinOkWith(ada.client, 'ids:2');
    await requestWith(ada.client, 'ids:1', ada.joinRef, 'm', {}, { id: 'same' });
    const other = await requestWith(ada.client, 'ids:2', joinRef, 'm', {}, { id: 'same' });
    expect(other.meta).toEqual({ epoch: reply.meta?.epoch, seq: 1 });
    expect(calls.all).toEqual(['ada:m', 'ada:m']);
  });

  it.each([
    ['a number', 42],
    ['an empty string', ''],
    ['200 characters', 'x'.repeat(200)],
    ['null', null],
  ])('refuses %s as a message id with `invalid message id`, running nothing', async (_what, id) => {
    const { member, calls } = await server();
    const ada = await member('ada');
    const reply = await requestWith(ada.client, 'ids:1', ada.joinRef, 'm', {}, { id });
    expect(reply.payload).toEqual({ status: 'error', response: { reason: 'invalid message id' } });
    expect(calls.all).toEqual([]);
  });

  it('accepts a message id of 128 characters', async () => {
    const { member } = await server();
    const ada = await member('ada');
    const reply = await requestWith(ada.client, 'ids:1', ada.joinRef, 'm', {}, { id: 'y'.repeat(128) });
    expect(reply.payload.status).toBe('ok');
  });

  it('tags the broadcasts a message causes with `id`, `id#2`, `id#3`, and reports the first one\'s seq', async () => {
    const { member, server: plume } = await server();
    const ada = await member('ada');
    const bob = await member('bob');
    const reply = await requestWith(ada.client, 'ids:1', ada.joinRef, 'three', {}, { id: 'multi' });
    expect(reply.meta).toEqual({ epoch: ada.epoch, seq: 1 });
    await requestWith(ada.client, 'ids:1', ada.joinRef, 'twice', {});
    plume.broadcast('ids:1', 'm', { from: 'server' });
    const frames = await bob.client.take(6, isMsg);
    expect(frames.map((f) => f.meta)).toEqual([
      { epoch: ada.epoch, seq: 1, id: 'multi' },
      { epoch: ada.epoch, seq: 2, id: 'multi#2' },
      { epoch: ada.epoch, seq: 3, id: 'multi#3' },
      { epoch: ada.epoch, seq: 4 },
      { epoch: ada.epoch, seq: 5 },
      { epoch: ada.epoch, seq: 6 },
    ]);
  });

  it('keeps the id in history, for replays and history pages', async () => {
    const { member, connect } = await server();
    const ada = await member('ada');
    await requestWith(ada.client, 'ids:1', ada.joinRef, 'twice', {}, { id: 'kept' });
    const page = await requestWith(ada.client, 'ids:1', ada.joinRef, 'plume:history', { epoch: ada.epoch, from: 1, to: 2 });
    expect((page.payload.response as { entries: Array<{ id?: string }> }).entries.map((e) => e.id)).toEqual(['kept', 'kept#2']);
    const late = await connect({ name: 'late', params: PLUME });
    await joinOkWith(late, 'ids:1', { since: { epoch: ada.epoch, seq: 0 } });
    expect((await late.take(2, isMsg)).map((f) => f.meta?.id)).toEqual(['kept', 'kept#2']);
  });
});
