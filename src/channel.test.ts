import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, FakeEnvironment, FakeTransport, flushMicrotasks, type FakeWebSocket } from '../test/fakes';
import { Socket } from './socket';
import type { ChannelState } from './channel';
import type { PushResult } from './push';

let clock: FakeClock;
let transport: FakeTransport;
let socket: Socket;

async function open(): Promise<FakeWebSocket> {
  await flushMicrotasks();
  transport.last.open();
  return transport.last;
}

function reply(ws: FakeWebSocket, frame: unknown[] | undefined, status: 'ok' | 'error', response: object = {}): void {
  if (!frame) throw new Error('no frame to reply to');
  ws.deliver([frame[0], frame[1], frame[2], 'phx_reply', { status, response }]);
}

beforeEach(() => {
  clock = new FakeClock();
  transport = new FakeTransport();
  socket = new Socket('ws://example.test/socket', {
    clock,
    transport: transport.factory,
    environment: new FakeEnvironment(),
    random: () => 1,
    timeoutMs: 10_000,
    rejoin: { baseMs: 1_000, maxMs: 8_000 },
    reconnect: { baseMs: 100, maxMs: 100 },
  });
  socket.connect();
});

describe('Channel', () => {
  it('joins with join_ref equal to the join ref and becomes joined on ok', async () => {
    const ws = await open();
    const room = socket.channel('room:a', { since: 1 });
    const states: ChannelState[] = [];
    room.onStateChange(({ to }) => states.push(to));
    const join = room.join();
    const frame = ws.lastSent('phx_join');
    expect(frame?.[0]).toBe(frame?.[1]);
    expect(frame?.slice(2)).toEqual(['room:a', 'phx_join', { since: 1 }]);
    reply(ws, frame, 'ok', { hello: 1 });
    expect(await join).toEqual({ status: 'ok', response: { hello: 1 } });
    expect(states).toEqual(['joining', 'joined']);
  });

  it('throws when pushing before join, with the fix in the message', () => {
    expect(() => socket.channel('room:a').push('x', {})).toThrow(/call channel.join\(\) first/);
  });

  it('throws when join is called twice', async () => {
    const room = socket.channel('room:a');
    room.join();
    expect(() => room.join()).toThrow(/once per channel/);
  });

  it('waits for the socket before joining, and buffers pushes until joined', async () => {
    const room = socket.channel('room:a');
    room.join();
    const push = room.push('msg', { n: 1 });
    const ws = await open();
    const join = ws.lastSent('phx_join');
    expect(ws.lastSent('msg')).toBeUndefined();
    reply(ws, join, 'ok');
    const msg = ws.lastSent('msg');
    expect(msg?.[0]).toBe(join?.[1]);
    reply(ws, msg, 'ok', { id: 7 });
    expect(await push).toEqual({ status: 'ok', response: { id: 7 } });
  });

  it('resolves a push with error and with timeout', async () => {
    const ws = await open();
    const room = socket.channel('room:a');
    room.join();
    reply(ws, ws.lastSent('phx_join'), 'ok');
    const failing = room.push('bad', {});
    reply(ws, ws.lastSent('bad'), 'error', { reason: 'nope' });
    expect(await failing).toEqual({ status: 'error', response: { reason: 'nope' } });
    const seen: string[] = [];
    const slow = room.push('slow', {}, 2_000).receive('timeout', () => seen.push('timeout'));
    clock.advance(2_000);
    expect(seen).toEqual(['timeout']);
    expect((await slow).status).toBe('timeout');
    // A late reply to a timed-out push is ignored.
    reply(ws, ws.lastSent('slow'), 'ok');
    expect((slow.result as PushResult).status).toBe('timeout');
  });

  it('delivers events to listeners until unsubscribed, with order metadata', async () => {
    const ws = await open();
    const room = socket.channel('room:a');
    room.join();
    reply(ws, ws.lastSent('phx_join'), 'ok');
    const got: unknown[] = [];
    const off = room.on('new_msg', (payload, info) => got.push([payload, info.meta?.seq]));
    ws.deliver([null, null, 'room:a', 'new_msg', { body: 'hi' }, { epoch: 'e', seq: 3 }]);
    ws.deliver([null, null, 'room:b', 'new_msg', { body: 'other topic' }]);
    off();
    ws.deliver([null, null, 'room:a', 'new_msg', { body: 'after off' }]);
    expect(got).toEqual([[{ body: 'hi' }, 3]]);
  });

  it('rejoins under a fresh join_ref after a reconnect and drops frames of the old join', async () => {
    let ws = await open();
    const room = socket.channel('room:a');
    room.join();
    const firstJoin = ws.lastSent('phx_join');
    reply(ws, firstJoin, 'ok');
    ws.drop(1006);
    expect(room.state).toBe('errored');
    clock.advance(100);
    ws = await open();
    const secondJoin = ws.lastSent('phx_join');
    expect(secondJoin?.[0]).not.toBe(firstJoin?.[0]);
    reply(ws, secondJoin, 'ok');
    expect(room.state).toBe('joined');
    const got: unknown[] = [];
    room.on('ping', (p) => got.push(p));
    ws.deliver([firstJoin?.[0], null, 'room:a', 'ping', { old: true }]);
    ws.deliver([firstJoin?.[0], firstJoin?.[0], 'room:a', 'phx_close', {}]);
    ws.deliver([secondJoin?.[0], null, 'room:a', 'ping', { current: true }]);
    expect(got).toEqual([{ current: true }]);
    expect(room.state).toBe('joined');
  });

  it('rejoins with backoff after a refused join, and reports the reason', async () => {
    const ws = await open();
    const room = socket.channel('room:a');
    const reasons: string[] = [];
    room.onStateChange(({ reason }) => reasons.push(reason));
    room.join();
    reply(ws, ws.lastSent('phx_join'), 'error', { reason: 'unauthorized' });
    expect(room.state).toBe('errored');
    expect(reasons).toContain('join refused: unauthorized');
    expect(clock.nextDelay()).toBe(1_000);
    clock.advance(1_000);
    expect(room.state).toBe('joining');
    reply(ws, ws.lastSent('phx_join'), 'error', { reason: 'unauthorized' });
    expect(clock.nextDelay()).toBe(2_000);
  });

  it('leaves the timed-out join on the server and retries', async () => {
    const ws = await open();
    const room = socket.channel('room:a');
    room.join(3_000);
    const join = ws.lastSent('phx_join');
    clock.advance(3_000);
    expect(room.state).toBe('errored');
    const leave = ws.lastSent('phx_leave');
    expect(leave?.[0]).toBe(join?.[0]);
    clock.advance(1_000);
    expect(room.state).toBe('joining');
  });

  it('rejoins after the server reports phx_error, and closes on phx_close', async () => {
    const ws = await open();
    const room = socket.channel('room:a');
    room.join();
    const join = ws.lastSent('phx_join');
    reply(ws, join, 'ok');
    ws.deliver([join?.[0], join?.[0], 'room:a', 'phx_error', {}]);
    expect(room.state).toBe('errored');
    clock.advance(1_000);
    const rejoin = ws.lastSent('phx_join');
    reply(ws, rejoin, 'ok');
    expect(room.state).toBe('joined');
    ws.deliver([rejoin?.[0], rejoin?.[0], 'room:a', 'phx_close', {}]);
    expect(room.state).toBe('closed');
  });

  it('leaves: sends phx_leave with the join ref and closes on ok', async () => {
    const ws = await open();
    const room = socket.channel('room:a');
    room.join();
    const join = ws.lastSent('phx_join');
    reply(ws, join, 'ok');
    const left = room.leave();
    const leave = ws.lastSent('phx_leave');
    expect(leave?.[0]).toBe(join?.[0]);
    expect(room.state).toBe('leaving');
    reply(ws, leave, 'ok');
    expect((await left).status).toBe('ok');
    expect(room.state).toBe('closed');
    clock.advance(60_000);
    expect(ws.sent.filter((f) => f[3] === 'phx_join')).toHaveLength(1);
  });

  it('does not let a throwing listener stop other listeners', async () => {
    const ws = await open();
    const room = socket.channel('room:a');
    room.join();
    reply(ws, ws.lastSent('phx_join'), 'ok');
    const got: number[] = [];
    room.on('x', () => {
      throw new Error('app bug');
    });
    room.on('x', () => got.push(1));
    const original = console.error;
    console.error = () => {};
    try {
      ws.deliver([null, null, 'room:a', 'x', {}]);
    } finally {
      console.error = original;
    }
    expect(got).toEqual([1]);
  });
});
