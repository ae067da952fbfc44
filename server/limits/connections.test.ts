import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConnectionGate } from './connections';

/** A TCP socket as far as the gate cares: it closes once. */
function tcp(): Duplex & { close(): void } {
  const socket = Object.assign(new EventEmitter(), { destroyed: false, close: () => socket.emit('close') });
  return socket as unknown as Duplex & { close(): void };
}

describe('ConnectionGate', () => {
  it('refuses with 503 once the server holds maxConnections sockets, and admits again when it holds fewer', () => {
    let held = 0;
    const gate = new ConnectionGate({ maxConnections: 2, maxConnectionsPerIp: 0 }, () => held);
    expect(gate.admit(tcp(), '10.0.0.1')).toBeNull();
    held = 2;
    expect(gate.admit(tcp(), '10.0.0.3')).toMatchObject({ status: 503, body: expect.stringContaining('maxConnections') });
    held = 1;
    expect(gate.admit(tcp(), '10.0.0.3')).toBeNull();
  });

  it('refuses with 429 past maxConnectionsPerIp, counting an IPv4-mapped address as the same client', () => {
    const gate = new ConnectionGate({ maxConnections: 100, maxConnectionsPerIp: 2 }, () => 0);
    const first = tcp();
    expect(gate.admit(first, '10.0.0.1')).toBeNull();
    expect(gate.admit(tcp(), '::ffff:10.0.0.1')).toBeNull();
    expect(gate.admit(tcp(), '10.0.0.1')).toMatchObject({ status: 429, body: expect.stringContaining('maxConnectionsPerIp') });
    expect(gate.admit(tcp(), '10.0.0.2')).toBeNull();
    first.close();
    expect(gate.admit(tcp(), '10.0.0.1')).toBeNull();
  });

  it('counts no address, and adds no listener, when maxConnectionsPerIp is 0; counts nothing for a socket already gone', () => {
    const off = new ConnectionGate({ maxConnections: 10_000, maxConnectionsPerIp: 0 }, () => 0);
    const socket = tcp();
    for (let i = 0; i < 5000; i++) expect(off.admit(socket, '127.0.0.1')).toBeNull();
    expect(socket.listenerCount('close')).toBe(0);
    expect(off.heldBy('127.0.0.1')).toBe(0);
    const on = new ConnectionGate({ maxConnections: 10_000, maxConnectionsPerIp: 5 }, () => 0);
    expect(on.admit(Object.assign(tcp(), { destroyed: true }), '127.0.0.1')).toBeNull();
    expect(on.heldBy('127.0.0.1')).toBe(0);
  });
});
