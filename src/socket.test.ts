import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, FakeEnvironment, FakeTransport, flushMicrotasks } from '../test/fakes';
import type { PlumeError } from './errors';
import { Socket, type SocketStateChange } from './socket';
import type { SocketOptions } from './options';

let clock: FakeClock;
let transport: FakeTransport;
let env: FakeEnvironment;
let changes: SocketStateChange[];

function makeSocket(options: SocketOptions = {}): Socket {
  const socket = new Socket('ws://example.test/socket', {
    clock,
    transport: transport.factory,
    environment: env,
    random: () => 1,
    heartbeatIntervalMs: 30_000,
    ...options,
  });
  socket.onStateChange((change) => changes.push(change));
  return socket;
}

async function connected(options: SocketOptions = {}): Promise<Socket> {
  const socket = makeSocket(options);
  socket.connect();
  await flushMicrotasks();
  transport.last.open();
  return socket;
}

beforeEach(() => {
  clock = new FakeClock();
  transport = new FakeTransport();
  env = new FakeEnvironment();
  changes = [];
});

describe('Socket', () => {
  it('connects to the websocket endpoint with vsn, plume and connect params', async () => {
    const socket = makeSocket({ params: { name: 'Ada' } });
    socket.connect();
    await flushMicrotasks();
    const url = new URL(transport.last.url);
    expect(url.pathname).toBe('/socket/websocket');
    expect(url.searchParams.get('vsn')).toBe('2.0.0');
    expect(url.searchParams.get('plume')).toBe('1');
    expect(url.searchParams.get('name')).toBe('Ada');
    transport.last.open();
    expect(socket.state).toBe('open');
    expect(changes.map((c) => `${c.from}>${c.to}:${c.reason}`)).toEqual(['closed>connecting:connect', 'connecting>open:connected']);
  });

  it('sends the token as a base64url subprotocol, never in the URL', async () => {
    makeSocket({ token: 'a.b+/c' }).connect();
    await flushMicrotasks();
    expect(transport.last.url).not.toContain('token');
    expect(transport.last.protocols?.[0]).toBe('phoenix');
    const encoded = transport.last.protocols?.[1]?.replace('base64url.bearer.phx.', '') ?? '';
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(encoded, 'base64url').toString()).toBe('a.b+/c');
  });

  it('reconnects with growing jittered backoff and resets it after a successful open', async () => {
    const socket = await connected({ reconnect: { baseMs: 100, maxMs: 1_000 } });
    transport.last.drop(1006);
    expect(socket.state).toBe('reconnecting');
    expect(clock.nextDelay()).toBe(100); // random() = 1 gives the top of [50, 100]
    clock.advance(100);
    await flushMicrotasks();
    expect(socket.state).toBe('connecting');
    transport.last.drop(1006);
    expect(clock.nextDelay()).toBe(200);
    clock.advance(200);
    await flushMicrotasks();
    transport.last.drop(1006);
    expect(clock.nextDelay()).toBe(400);
    clock.advance(400);
    await flushMicrotasks();
    transport.last.open();
    transport.last.drop(1006);
    expect(clock.nextDelay()).toBe(100);
    expect(transport.sockets).toHaveLength(4);
  });

  it('caps the reconnect delay at maxMs', async () => {
    const socket = await connected({ reconnect: { baseMs: 100, maxMs: 300 } });
    for (let i = 0; i < 6; i++) {
      transport.last.drop(1006);
      expect(clock.nextDelay()).toBeLessThanOrEqual(300);
      clock.advance(clock.nextDelay() ?? 0);
      await flushMicrotasks();
    }
    expect(socket.state).toBe('connecting');
  });

  it('sends heartbeats and drops a connection whose heartbeat goes unanswered', async () => {
    const socket = await connected();
    const first = transport.last;
    clock.advance(30_000);
    const heartbeat = first.lastSent('heartbeat');
    expect(heartbeat).toEqual([null, expect.any(String), 'phoenix', 'heartbeat', {}]);
    first.deliver([null, heartbeat?.[1], 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
    clock.advance(30_000);
    expect(first.sent.filter((f) => f[3] === 'heartbeat')).toHaveLength(2);
    clock.advance(30_000); // unanswered
    expect(socket.state).toBe('reconnecting');
    expect(changes.at(-1)?.reason).toBe('heartbeat timeout');
    expect(first.closedWith).not.toBeNull();
  });

  it('gives up on a connection attempt that does not open within timeoutMs', async () => {
    const socket = makeSocket({ timeoutMs: 5_000 });
    socket.connect();
    await flushMicrotasks();
    clock.advance(5_000);
    expect(socket.state).toBe('reconnecting');
    expect(changes.at(-1)?.reason).toBe('connect timeout');
  });

  it('goes offline on the offline event and reconnects at once when back online', async () => {
    const socket = await connected();
    const first = transport.last;
    env.emit('offline');
    expect(socket.state).toBe('offline');
    expect(first.closedWith).not.toBeNull();
    env.emit('online');
    await flushMicrotasks();
    expect(socket.state).toBe('connecting');
    expect(transport.sockets).toHaveLength(2);
  });

  it('while offline, waits for the online event and only probes every 30 s', async () => {
    const socket = await connected({ reconnect: { baseMs: 100, maxMs: 100 } });
    env.emit('offline');
    expect(clock.nextDelay()).toBe(30_000);
    clock.advance(29_999);
    expect(transport.sockets).toHaveLength(1);
    clock.advance(1);
    await flushMicrotasks();
    expect(transport.sockets).toHaveLength(2); // the probe
    transport.last.drop(1006);
    expect(socket.state).toBe('offline');
    expect(clock.nextDelay()).toBe(30_000);
  });

  it('waits in offline when connect() is called without a network', async () => {
    env.isOnline = false;
    const socket = makeSocket();
    socket.connect();
    expect(socket.state).toBe('offline');
    expect(transport.sockets).toHaveLength(0);
    env.emit('online');
    await flushMicrotasks();
    expect(transport.sockets).toHaveLength(1);
  });

  it('reconnects at once when the page becomes visible, and probes an open socket', async () => {
    const socket = await connected({ reconnect: { baseMs: 5_000, maxMs: 10_000 } });
    env.emit('visible');
    expect(transport.last.lastSent('heartbeat')).toBeDefined();
    clock.advance(5_000); // the probe is unanswered
    expect(socket.state).toBe('reconnecting');
    env.emit('visible');
    await flushMicrotasks();
    expect(socket.state).toBe('connecting');
  });

  it('stays closed after 4401 with a static token and reports unauthorized', async () => {
    const errors: PlumeError[] = [];
    const socket = await connected({ token: 'expired' });
    socket.onError((e) => errors.push(e));
    transport.last.drop(4401, 'token expired');
    expect(socket.state).toBe('closed');
    expect(errors[0]?.code).toBe('unauthorized');
    expect(errors[0]?.closeCode).toBe(4401);
    clock.advance(60_000);
    expect(transport.sockets).toHaveLength(1);
  });

  it('fetches a fresh token and reconnects after 4401 when the token is a function', async () => {
    let calls = 0;
    const socket = await connected({ token: () => `t${++calls}` });
    transport.last.drop(4401, 'token expired');
    expect(socket.state).toBe('reconnecting');
    clock.advance(clock.nextDelay() ?? 0);
    await flushMicrotasks();
    expect(calls).toBe(2);
    expect(Buffer.from(transport.last.protocols?.[1]?.split('.').pop() ?? '', 'base64url').toString()).toBe('t2');
  });

  it('after 4420 (flooding) reports rate_limited and waits as if five more attempts had failed, then keeps reconnecting', async () => {
    const errors: PlumeError[] = [];
    const socket = await connected({ reconnect: { baseMs: 250, maxMs: 10_000 } });
    socket.onError((e) => errors.push(e));
    transport.last.drop(4420, 'flooding: frames past the rate limit');
    expect(errors.map((e) => [e.code, e.closeCode])).toEqual([['rate_limited', 4420]]);
    expect(socket.state).toBe('reconnecting');
    expect(clock.nextDelay()).toBe(4000); // backoff(5): the top of [2000, 4000] with random() = 1, not 250
    clock.advance(4000);
    await flushMicrotasks();
    expect(socket.state).toBe('connecting');
    transport.last.open();
    expect(socket.state).toBe('open');
  });

  it('stops reconnecting after disconnect()', async () => {
    const socket = await connected();
    socket.disconnect();
    expect(socket.state).toBe('closed');
    clock.advance(60_000);
    expect(transport.sockets).toHaveLength(1);
  });

  it('ignores events from a transport it has abandoned', async () => {
    const socket = await connected();
    const old = transport.last;
    env.emit('offline');
    env.emit('online');
    await flushMicrotasks();
    transport.last.open();
    old.drop(1006); // late close of the abandoned socket
    expect(socket.state).toBe('open');
  });

  it('survives a listener that throws', async () => {
    const socket = makeSocket();
    socket.onStateChange(() => {
      throw new Error('app bug');
    });
    const original = console.error;
    console.error = () => {};
    try {
      socket.connect();
      await flushMicrotasks();
      transport.last.open();
    } finally {
      console.error = original;
    }
    expect(socket.state).toBe('open');
  });

  it('reports a malformed server frame as a protocol error and keeps going', async () => {
    const socket = await connected();
    const errors: PlumeError[] = [];
    socket.onError((e) => errors.push(e));
    transport.last.onmessage?.({ data: 'not json' });
    expect(errors[0]?.code).toBe('protocol');
    expect(socket.state).toBe('open');
  });
});

describe('Socket transport choice (long-poll fallback)', () => {
  let polls: FakeTransport;
  beforeEach(() => {
    polls = new FakeTransport();
  });
  function fallbackSocket(): Socket {
    return makeSocket({ longPollFallbackMs: 4_000, webSocketRetryMs: 30_000, longPoll: polls.factory, reconnect: { baseMs: 100, maxMs: 100 } });
  }
  /** Runs the reconnect timer and lets the token promise settle. */
  async function retry(): Promise<void> {
    clock.advance(100);
    await flushMicrotasks();
  }

  it('falls back after two WebSockets fail to open (1006), and says so in state changes', async () => {
    const socket = fallbackSocket();
    socket.connect();
    await flushMicrotasks();
    transport.last.drop(1006);
    await retry();
    expect(polls.sockets).toHaveLength(0);
    transport.last.drop(1006);
    await retry();
    expect(transport.sockets).toHaveLength(2);
    expect(polls.sockets).toHaveLength(1);
    expect(socket.transport).toBe('longpoll');
    polls.last.open();
    expect(changes.at(-1)).toMatchObject({ to: 'open', transport: 'longpoll' });
  });

  it('does not count closes with a code (the server answered) as failures to open', async () => {
    const socket = fallbackSocket();
    socket.connect();
    await flushMicrotasks();
    for (let i = 0; i < 4; i++) {
      transport.last.drop(1011, 'held');
      await retry();
    }
    expect(polls.sockets).toHaveLength(0);
    expect(socket.transport).toBe('websocket');
  });

  it('falls back when a WebSocket hangs for longPollFallbackMs', async () => {
    const socket = fallbackSocket();
    socket.connect();
    await flushMicrotasks();
    clock.advance(4_000);
    await flushMicrotasks();
    expect(socket.transport).toBe('longpoll');
    expect(polls.sockets).toHaveLength(1);
    expect(transport.last.closedWith).not.toBeNull();
  });

  it('after a WebSocket has worked, takes five failures (a restarting server), and no hanging timer', async () => {
    const socket = fallbackSocket();
    socket.connect();
    await flushMicrotasks();
    transport.last.open();
    clock.advance(6_000);
    transport.last.drop(1006);
    for (let i = 0; i < 4; i++) {
      await retry();
      transport.last.drop(1006);
    }
    expect(polls.sockets).toHaveLength(0);
    await retry();
    clock.advance(5_000); // past the hanging timer, which is off now
    transport.last.drop(1006);
    await retry();
    expect(polls.sockets).toHaveLength(1);
    expect(socket.transport).toBe('longpoll');
  });

  it('goes back to a WebSocket when long-poll fails to open too (whichever gets through first wins)', async () => {
    const socket = fallbackSocket();
    socket.connect();
    await flushMicrotasks();
    transport.last.drop(1006);
    await retry();
    transport.last.drop(1006);
    await retry();
    polls.last.drop(1006);
    await retry();
    expect(socket.transport).toBe('websocket');
    expect(transport.sockets).toHaveLength(3);
    transport.last.drop(1006);
    await retry();
    expect(socket.transport).toBe('longpoll');
  });

  it('on long-poll, probes a WebSocket after 5 s, then at doubling waits, and moves to it once one opens', async () => {
    const socket = fallbackSocket();
    socket.connect();
    await flushMicrotasks();
    clock.advance(4_000);
    await flushMicrotasks();
    polls.last.open();
    const before = transport.sockets.length;
    clock.advance(5_000);
    await flushMicrotasks();
    expect(transport.sockets).toHaveLength(before + 1);
    transport.last.drop(1006); // the probe fails: stay
    expect(socket.state).toBe('open');
    clock.advance(9_999);
    await flushMicrotasks();
    expect(transport.sockets).toHaveLength(before + 1);
    clock.advance(1);
    await flushMicrotasks();
    expect(transport.sockets).toHaveLength(before + 2);
    const probe = transport.last;
    probe.open();
    expect(probe.closedWith?.code).toBe(1000);
    expect(polls.last.closedWith).not.toBeNull();
    await flushMicrotasks();
    expect(socket.transport).toBe('websocket');
    transport.last.open();
    expect(changes.slice(-3).map((c) => `${c.to}:${c.transport}`)).toEqual(['reconnecting:websocket', 'connecting:websocket', 'open:websocket']);
  });
});
