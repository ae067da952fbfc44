import { describe, expect, it } from 'vitest';
import { SIGNAL_OVERHEAD_BYTES, SignalGate } from './signals';

const limits = { maxSignalBytes: 1000, signalBurstBytes: 4000, signalBytesPerSecond: 1000, signalBacklogBytes: 10_000 };
const cost = 1000 - SIGNAL_OVERHEAD_BYTES; // a signal that costs exactly 1000

describe('SignalGate', () => {
  it('refuses a signal over maxSignalBytes whatever the buckets hold', () => {
    expect(new SignalGate(limits).admit('a', 'b', 1001, 0, 0)).toBe('signal too large');
  });

  it('limits each sender to its burst and rate', () => {
    const gate = new SignalGate(limits);
    const targets = ['t1', 't2', 't3', 't4', 't5'];
    expect(targets.map((t) => gate.admit('a', t, cost, 0, 0))).toEqual([null, null, null, null, 'rate limited']);
    expect(gate.admit('a', 't5', cost, 0, 1000)).toBeNull();
    expect(gate.admit('b', 't5', cost, 0, 1000)).toBeNull(); // another sender has its own bucket
  });

  it('limits what all senders together send one target, and charges nobody for a refused signal', () => {
    const gate = new SignalGate(limits);
    expect(['a', 'b', 'c', 'd', 'e'].map((s) => gate.admit(s, 't', cost, 0, 0))).toEqual([null, null, null, null, 'rate limited']);
    // e was refused: its own bucket is still full.
    expect(['x1', 'x2', 'x3', 'x4'].map((t) => gate.admit('e', t, cost, 0, 0))).toEqual([null, null, null, null]);
  });

  it('refuses while the target has more than the backlog bound waiting, without charging the buckets', () => {
    const gate = new SignalGate(limits);
    expect(gate.admit('a', 'b', cost, 9_001, 0)).toBe('peer busy');
    expect(gate.admit('a', 'b', cost, 9_000, 0)).toBeNull();
  });

  it('forgets a socket: it starts again with a full bucket', () => {
    const gate = new SignalGate({ ...limits, signalBytesPerSecond: 0 });
    for (let i = 0; i < 4; i++) gate.admit('a', `t${i}`, cost, 0, 0);
    expect(gate.admit('a', 'u', cost, 0, 0)).toBe('rate limited');
    gate.forget('a');
    expect(gate.admit('a', 'u', cost, 0, 0)).toBeNull();
  });
});
