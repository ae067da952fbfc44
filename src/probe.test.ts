import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, FakeTransport, flushMicrotasks } from '../test/fakes';
import { WebSocketProbe } from './probe';

let clock: FakeClock;
let transport: FakeTransport;
let results: boolean[];

beforeEach(() => {
  clock = new FakeClock();
  transport = new FakeTransport();
  results = [];
});

const open = () => Promise.resolve(transport.factory('ws://example.test/socket/websocket'));

describe('WebSocketProbe', () => {
  it('opens a WebSocket after the delay, reports that it opened and closes it at once', async () => {
    const probe = new WebSocketProbe(clock, 10_000);
    probe.schedule(5_000, open, (opened) => results.push(opened));
    clock.advance(4_999);
    expect(transport.sockets).toHaveLength(0);
    clock.advance(1);
    await flushMicrotasks();
    transport.last.open();
    expect(results).toEqual([true]);
    expect(transport.last.closedWith?.code).toBe(1000);
  });

  it('reports a probe that closes, or does not open within the timeout, as not opened', async () => {
    const probe = new WebSocketProbe(clock, 10_000);
    probe.schedule(0, open, (opened) => results.push(opened));
    clock.advance(0);
    await flushMicrotasks();
    transport.last.drop(1006);
    probe.schedule(0, open, (opened) => results.push(opened));
    clock.advance(0);
    await flushMicrotasks();
    clock.advance(10_000);
    expect(results).toEqual([false, false]);
    expect(transport.last.closedWith?.code).toBe(1000);
  });

  it('reports a failed open as not opened, and nothing when open declines', async () => {
    const probe = new WebSocketProbe(clock, 10_000);
    probe.schedule(0, () => Promise.reject(new Error('no token')), (opened) => results.push(opened));
    clock.advance(0);
    await flushMicrotasks();
    probe.schedule(0, () => null, (opened) => results.push(opened));
    clock.advance(0);
    await flushMicrotasks();
    expect(results).toEqual([false]);
  });

  it('after cancel reports nothing: a scheduled probe never opens, a running one is closed, a late one is closed unused', async () => {
    const probe = new WebSocketProbe(clock, 10_000);
    probe.schedule(5_000, open, (opened) => results.push(opened));
    probe.cancel();
    clock.advance(5_000);
    expect(transport.sockets).toHaveLength(0);

    probe.schedule(0, open, (opened) => results.push(opened));
    clock.advance(0);
    await flushMicrotasks();
    const running = transport.last;
    probe.cancel();
    expect(running.closedWith?.code).toBe(1000);
    running.open();

    let resolve!: (value?: unknown) => void;
    probe.schedule(0, () => new Promise((r) => (resolve = r)).then(open), (opened) => results.push(opened));
    clock.advance(0);
    probe.cancel();
    resolve();
    await flushMicrotasks();
    expect(transport.last.closedWith?.code).toBe(1000);
    transport.last.open();
    expect(results).toEqual([]);
  });
});
