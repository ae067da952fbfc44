/**
 * Channels through a real server: the default relay on `room:*`, and
 * application handlers registered with `server.channel(pattern, handler)`.
 */
import { describe, expect, it } from 'vitest';
import { error, ok, refuse } from '../server/channels/channel';
import type { EngineFactory } from '../server/engine/engine';
import { memoryEngine } from '../server/engine/memory/engine';
import { deferred, useServers, type Frame } from './helpers';

const start = useServers();

const isEvent = (topic: string, event: string) => (f: Frame): boolean => f.topic === topic && f.event === event;

describe('the default relay channel on room:*', () => {
  it('joins, replies ok to a push and broadcasts it to every member, the sender included', async () => {
    const { connect } = await start();
    const ada = await connect({ name: 'ada' });
    const bob = await connect({ name: 'bob' });
    const { joinRef, reply } = await ada.join('room:lobby');
    expect(reply).toEqual({ status: 'ok', response: {} });
    await bob.joinOk('room:lobby');

    const ref = ada.push('room:lobby', 'new_msg', { body: 'hi' }, joinRef);
    const replyFrame = await ada.next((f) => f.event === 'phx_reply' && f.ref === ref);
    expect(replyFrame.raw).toBe(`["${joinRef}","${ref}","room:lobby","phx_reply",{"status":"ok","response":{}}]`);
    const expected = '[null,null,"room:lobby","new_msg",{"body":"hi"}]';
    expect((await ada.next(isEvent('room:lobby', 'new_msg'))).raw).toBe(expected);
    expect((await bob.next(isEvent('room:lobby', 'new_msg'))).raw).toBe(expected);
  });

  it('answers the join with the join ref as join_ref and ref', async () => {
    const { connect } = await start();
    const ada = await connect();
    ada.send(['7', '7', 'room:x', 'phx_join', {}]);
    const frame = await ada.next((f) => f.ref === '7');
    expect(frame.raw).toBe('["7","7","room:x","phx_reply",{"status":"ok","response":{}}]');
  });

  it('does not deliver a room\'s broadcasts to members of another room', async () => {
    const { connect } = await start();
    const ada = await connect();
    const bob = await connect();
    const joinRef = await ada.joinOk('room:a');
    await bob.joinOk('room:b');
    expect(await ada.request('room:a', 'msg', {}, joinRef)).toEqual({ status: 'ok', response: {} });
    expect(await bob.drain((f) => f.event === 'msg')).toEqual([]);
  });

  it('ends the channel on phx_leave with an ok reply and no phx_close', async () => {
    const { connect } = await start();
    const ada = await connect();
    const bob = await connect();
    const joinRef = await ada.joinOk('room:a');
    const bobRef = await bob.joinOk('room:a');
    expect(await ada.request('room:a', 'phx_leave', {}, joinRef)).toEqual({ status: 'ok', response: {} });
    await bob.request('room:a', 'msg', { n: 1 }, bobRef);
    expect(await ada.drain((f) => f.topic === 'room:a')).toEqual([]);
  });
});

/** A memory engine whose publishes are applied only once `gate` opens (as a slow Redis would), counted as they are asked for. */
function gatedEngine(gate: Promise<void>): { engine: EngineFactory; asked: () => number } {
  let asked = 0;
  const engine: EngineFactory = (context) => {
    const made = memoryEngine()(context);
    const publish = made.log.publish.bind(made.log);
    made.log.publish = (topic, broadcast) => {
      asked++;
      return gate.then(() => publish(topic, broadcast));
    };
    return made;
  };
  return { engine, asked: () => asked };
}

describe('a channel whose broadcasts take time to apply', () => {
  it('handles the pushes behind one while its broadcast is being applied, and answers them in order, each after its broadcast', async () => {
    const gate = deferred();
    const { engine, asked } = gatedEngine(gate.promise);
    const { connect } = await start({ engine });
    const ada = await connect();
    const joinRef = await ada.joinOk('room:a');
    const refs = [1, 2, 3].map((n) => ada.push('room:a', 'msg', { n }, joinRef));
    await expect.poll(asked).toBe(3);
    expect(await ada.drain((f) => f.event === 'phx_reply' || f.event === 'msg')).toEqual([]);
    gate.resolve();
    const frames = await ada.take(6, (f) => f.event === 'phx_reply' || f.event === 'msg');
    expect(frames.filter((f) => f.event === 'phx_reply').map((f) => f.ref)).toEqual(refs);
    expect(frames.filter((f) => f.event === 'msg').map((f) => f.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('handles the pushes with message ids behind one while its broadcast is being applied, answers them in order, and a retry once', async () => {
    const gate = deferred();
    const { engine, asked } = gatedEngine(gate.promise);
    const { connect } = await start({ engine });
    const ada = await connect({ params: { plume: '1' } });
    const joinRef = await ada.joinOk('room:a');
    for (const n of [1, 2, 3]) ada.send([joinRef, `d${n}`, 'room:a', 'msg', { n }, { id: `m${n}` }]);
    ada.send([joinRef, 'retry', 'room:a', 'msg', { n: 2 }, { id: 'm2' }]);
    await expect.poll(asked).toBe(3);
    expect(await ada.drain((f) => f.event === 'phx_reply')).toEqual([]);
    gate.resolve();
    const replies = await ada.take(4, (f) => f.event === 'phx_reply');
    expect(replies.map((f) => [f.ref, f.meta])).toEqual([['d1', { epoch: expect.any(String), seq: 1 }], ['d2', { epoch: expect.any(String), seq: 2 }], ['d3', { epoch: expect.any(String), seq: 3 }], ['retry', { epoch: expect.any(String), seq: 2, dup: true }]]);
    expect(asked()).toBe(3);
  });

  it('sends phx_error after the replies to the pushes before the crash, and a leave\'s reply after the pushes before it', async () => {
    const gate = deferred();
    const { engine } = gatedEngine(gate.promise);
    const { connect } = await start({ engine }, (server) => server.channel('c:*', {
      join: () => ok(),
      handleIn(event, payload, socket) {
        if (event === 'boom') throw new Error('boom');
        socket.broadcast(event, payload);
        return ok();
      },
    }));
    const ada = await connect();
    const crashRef = await ada.joinOk('c:1');
    const before = ada.push('c:1', 'msg', { n: 1 }, crashRef);
    ada.push('c:1', 'boom', {}, crashRef);
    const leaveRef = await ada.joinOk('room:a');
    const pending = ada.push('room:a', 'msg', { n: 2 }, leaveRef);
    const leave = ada.push('room:a', 'phx_leave', {}, leaveRef);
    const answers = (f: Frame) => f.event === 'phx_reply' || f.event === 'phx_error';
    expect(await ada.drain(answers)).toEqual([]);
    gate.resolve();
    const frames = await ada.take(4, answers);
    const order = (topic: string) => frames.filter((f) => f.topic === topic).map((f) => (f.event === 'phx_error' ? 'phx_error' : f.ref));
    expect(order('c:1')).toEqual([before, 'phx_error']);
    expect(order('room:a')).toEqual([pending, leave]);
  });

  it('reads history for a request behind a push only once the push is answered, so the read finds it; the frames behind it follow', async () => {
    const gate = deferred();
    const { engine } = gatedEngine(gate.promise);
    const { connect } = await start({ engine });
    const ada = await connect({ params: { plume: '1' } });
    const joinRef = await ada.joinOk('room:a');
    const epoch = String((await ada.request('room:a', 'plume:history', { epoch: '?', from: 1, to: 1 }, joinRef)).response.epoch);
    const push = ada.push('room:a', 'msg', { n: 1 }, joinRef);
    const read = ada.push('room:a', 'plume:history', { epoch, from: 1, to: 10 }, joinRef);
    const after = ada.push('room:a', 'msg', { n: 2 }, joinRef);
    ada.send(['1', 'd1', 'room:a', 'msg', { n: 3 }, { id: 'm3' }]);
    expect(await ada.drain((f) => f.event === 'phx_reply')).toEqual([]);
    gate.resolve();
    const replies = await ada.take(4, (f) => f.event === 'phx_reply');
    expect(replies.map((f) => f.ref)).toEqual([push, read, after, 'd1']);
    expect(replies[1]?.payload).toMatchObject({ status: 'ok', response: { epoch, entries: [{ seq: 1, payload: { n: 1 } }] } });
  });
});

describe('application channel handlers', () => {
  it('refuses a join with the handler\'s reason, and accepts with its response', async () => {
    const { connect } = await start({}, (server) => server.channel('vault:*', {
      join: (_topic, params) => (params.key === 'sesame' ? ok({ welcome: true }) : refuse('wrong key', { hint: 'sesame' })),
    }));
    const ada = await connect();
    const refused = await ada.join('vault:1', { key: 'nope' });
    expect(refused.reply).toEqual({ status: 'error', response: { hint: 'sesame', reason: 'wrong key' } });
    expect(await ada.request('vault:1', 'peek', {}, refused.joinRef)).toEqual({ status: 'error', response: { reason: 'unmatched topic' } });
    expect((await ada.join('vault:1', { key: 'sesame' })).reply).toEqual({ status: 'ok', response: { welcome: true } });
  });

  it('sends a handler\'s ok and error replies, and no reply when it returns nothing', async () => {
    const { connect } = await start({}, (server) => server.channel('calc:*', {
      handleIn(event, payload) {
        if (event === 'double') return ok({ result: Number(payload.n) * 2 });
        if (event === 'fail') return error({ reason: 'bad input', field: 'n' });
        return undefined;
      },
    }));
    const ada = await connect();
    const joinRef = await ada.joinOk('calc:1');
    expect(await ada.request('calc:1', 'double', { n: 21 }, joinRef)).toEqual({ status: 'ok', response: { result: 42 } });
    expect(await ada.request('calc:1', 'fail', {}, joinRef)).toEqual({ status: 'error', response: { reason: 'bad input', field: 'n' } });
    const silent = ada.push('calc:1', 'ignore', {}, joinRef);
    expect(await ada.drain((f) => f.ref === silent)).toEqual([]);
  });

  it('answers "unknown event" when the handler has no handleIn', async () => {
    const { connect } = await start({}, (server) => server.channel('quiet', {}));
    const ada = await connect();
    const joinRef = await ada.joinOk('quiet');
    expect(await ada.request('quiet', 'hello', {}, joinRef)).toEqual({ status: 'error', response: { reason: 'unknown event' } });
  });

  it('answers an async handler\'s pushes in the order received', async () => {
    const gate = deferred();
    const { connect } = await start({}, (server) => server.channel('slow:*', {
      async handleIn(event) {
        if (event === 'wait') await gate.promise;
        return ok({ event });
      },
    }));
    const ada = await connect();
    const joinRef = await ada.joinOk('slow:1');
    const first = ada.push('slow:1', 'wait', {}, joinRef);
    const second = ada.push('slow:1', 'now', {}, joinRef);
    expect(await ada.drain((f) => f.event === 'phx_reply' && f.topic === 'slow:1')).toEqual([]);
    gate.resolve();
    const replies = await ada.take(2, (f) => f.event === 'phx_reply' && f.topic === 'slow:1');
    expect(replies.map((f) => f.ref)).toEqual([first, second]);
    expect(replies.map((f) => f.payload)).toEqual([{ status: 'ok', response: { event: 'wait' } }, { status: 'ok', response: { event: 'now' } }]);
  });

  it('holds pushes that arrive while an async join is pending until the join is answered', async () => {
    const gate = deferred();
    const { connect } = await start({}, (server) => server.channel('slow:*', {
      join: async () => {
        await gate.promise;
        return ok();
      },
      handleIn: (event) => ok({ event }),
    }));
    const ada = await connect();
    ada.send(['1', '1', 'slow:1', 'phx_join', {}]);
    const push = ada.push('slow:1', 'hello', {}, '1');
    gate.resolve();
    const [joinReply, pushReply] = await ada.take(2, (f) => f.event === 'phx_reply');
    expect(joinReply?.ref).toBe('1');
    expect(pushReply?.ref).toBe(push);
    expect(pushReply?.payload).toEqual({ status: 'ok', response: { event: 'hello' } });
  });

  it('broadcastFrom reaches every member but the sender', async () => {
    const { connect } = await start({}, (server) => server.channel('room:*', {
      handleIn(event, payload, socket) {
        socket.broadcastFrom(event, payload);
        return ok();
      },
    }));
    const ada = await connect({ name: 'ada' });
    const bob = await connect({ name: 'bob' });
    const joinRef = await ada.joinOk('room:a');
    await bob.joinOk('room:a');
    expect(await ada.request('room:a', 'shout', { x: 1 }, joinRef)).toEqual({ status: 'ok', response: {} });
    expect((await bob.next(isEvent('room:a', 'shout'))).raw).toBe('[null,null,"room:a","shout",{"x":1}]');
    expect(await ada.drain((f) => f.event === 'shout')).toEqual([]);
  });

  it('push sends to this socket only, with the channel\'s join_ref and no ref', async () => {
    const { connect } = await start({}, (server) => server.channel('room:*', {
      handleIn(_event, _payload, socket) {
        socket.push('secret', { for: socket.assigns.name });
        return ok();
      },
    }));
    const ada = await connect({ name: 'ada' });
    const bob = await connect({ name: 'bob' });
    const joinRef = await ada.joinOk('room:a');
    await bob.joinOk('room:a');
    await ada.request('room:a', 'whisper', {}, joinRef);
    expect((await ada.next(isEvent('room:a', 'secret'))).raw).toBe(`["${joinRef}",null,"room:a","secret",{"for":"ada"}]`);
    expect(await bob.drain((f) => f.event === 'secret')).toEqual([]);
  });

  it('intercepts broadcasts through handleOut, rewriting or dropping them per member', async () => {
    const { connect } = await start({}, (server) => server.channel('room:*', {
      intercept: ['msg'],
      handleIn(event, payload, socket) {
        socket.broadcast(event, payload);
        return ok();
      },
      handleOut: (_event, payload, socket) => (socket.assigns.name === 'muted' ? null : { ...payload, to: socket.assigns.name }),
    }));
    const ada = await connect({ name: 'ada' });
    const bob = await connect({ name: 'bob' });
    const muted = await connect({ name: 'muted' });
    const joinRef = await ada.joinOk('room:a');
    await bob.joinOk('room:a');
    await muted.joinOk('room:a');

    await ada.request('room:a', 'msg', { body: 'hi' }, joinRef);
    expect((await ada.next(isEvent('room:a', 'msg'))).payload).toEqual({ body: 'hi', to: 'ada' });
    expect((await bob.next(isEvent('room:a', 'msg'))).payload).toEqual({ body: 'hi', to: 'bob' });
    expect(await muted.drain((f) => f.event === 'msg')).toEqual([]);

    // Events not intercepted pass unchanged to everyone.
    await ada.request('room:a', 'other', { body: 'x' }, joinRef);
    expect((await muted.next(isEvent('room:a', 'other'))).payload).toEqual({ body: 'x' });
  });

  it('stops a channel from the server side with phx_close', async () => {
    const { connect } = await start({}, (server) => server.channel('room:*', {
      handleIn(_event, _payload, socket) {
        socket.close();
      },
    }));
    const ada = await connect();
    const joinRef = await ada.joinOk('room:a');
    ada.push('room:a', 'bye', {}, joinRef);
    expect((await ada.next(isEvent('room:a', 'phx_close'))).raw).toBe(`["${joinRef}","${joinRef}","room:a","phx_close",{}]`);
    expect(await ada.request('room:a', 'again', {}, joinRef)).toEqual({ status: 'error', response: { reason: 'unmatched topic' } });
  });
});

describe('handler crashes', () => {
  it.each([
    ['throws', (): never => { throw new Error('handler bug'); }],
    ['rejects', (): Promise<never> => Promise.reject(new Error('async handler bug'))],
  ])('sends phx_error and ends the channel when handleIn %s', async (_how, fail) => {
    const { connect } = await start({}, (server) => server.channel('room:*', {
      handleIn: (event, payload, socket) => {
        if (event === 'boom') return fail();
        socket.broadcast(event, payload);
        return ok();
      },
    }));
    const ada = await connect();
    const bob = await connect();
    const joinRef = await ada.joinOk('room:a');
    const bobRef = await bob.joinOk('room:a');
    const boom = ada.push('room:a', 'boom', {}, joinRef);
    expect((await ada.next(isEvent('room:a', 'phx_error'))).raw).toBe(`["${joinRef}","${joinRef}","room:a","phx_error",{}]`);
    expect(await ada.drain((f) => f.ref === boom)).toEqual([]);
    expect(await ada.request('room:a', 'msg', {}, joinRef)).toEqual({ status: 'error', response: { reason: 'unmatched topic' } });
    // The crash ended ada's membership only: bob still broadcasts, and ada no longer receives.
    await bob.request('room:a', 'msg', { n: 1 }, bobRef);
    expect((await bob.next(isEvent('room:a', 'msg'))).payload).toEqual({ n: 1 });
    expect(await ada.drain((f) => f.event === 'msg')).toEqual([]);
    // Rejoining works.
    await ada.joinOk('room:a');
  });

  it.each([
    ['throws', (): never => { throw new Error('join bug'); }],
    ['rejects', (): Promise<never> => Promise.reject(new Error('async join bug'))],
  ])('answers "join crashed" when join %s, and keeps no channel', async (_how, fail) => {
    const { connect } = await start({}, (server) => server.channel('room:*', { join: fail, handleIn: () => ok() }));
    const ada = await connect();
    const { joinRef, reply } = await ada.join('room:a');
    expect(reply).toEqual({ status: 'error', response: { reason: 'join crashed' } });
    expect(await ada.request('room:a', 'msg', {}, joinRef)).toEqual({ status: 'error', response: { reason: 'unmatched topic' } });
    expect(ada.isOpen).toBe(true);
  });
});
