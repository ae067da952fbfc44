import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, FakeEnvironment, FakeTransport, flushMicrotasks } from '../test/fakes';
import type { PlumeError } from './errors';
import { Socket, type StateChange } from './socket';
import type { SocketOptions } from './options';

let clock: FakeClock;
let transport: FakeTransport;
let env: FakeEnvironment;
let changes: StateChange[];

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
