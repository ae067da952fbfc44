import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes';
import type { Message, Payload } from '../protocol';
import type { MeshHost } from '../sync';
import { ChannelMesh } from './mesh';
import type { SimplePeerConstructor } from './peer';

/** A simple-peer that never touches the network: the test says when it connects. */
class FakePeer extends EventEmitter {
  static made: FakePeer[] = [];
  readonly signals: unknown[] = [];
  destroyed = false;
  constructor(readonly options: { initiator?: boolean }) {
    super();
    FakePeer.made.push(this);
  }
  signal(data: unknown): void {
    this.signals.push(data);
  }
  send(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}

function setup(self: string) {
  FakePeer.made = [];
  const clock = new FakeClock();
  const requests: Array<{ event: string; payload: Payload }> = [];
  const host: MeshHost = {
    topic: 'room:a',
    clock,
    deliver: () => {},
    dispatch: () => {},
    request: (event, payload) => {
      requests.push({ event, payload });
      return Promise.resolve({ status: 'ok', response: {} });
    },
  };
  const mesh = new ChannelMesh(host, { SimplePeer: FakePeer as unknown as SimplePeerConstructor, iceServers: [], connectTimeoutMs: 5_000 });
  mesh.joined({ member: self, keys: [] });
  const push = (event: string, payload: Payload) => mesh.handle({ joinRef: '1', ref: null, topic: 'room:a', event, payload } as Message);
  return { clock, requests, mesh, push };
}

describe('mesh links', () => {
  it('tries again when a link never comes up, instead of keeping the dead one', () => {
    const { clock, requests, mesh, push } = setup('a');
    push('plume:mesh', { links: ['b'], forward: [], direct: true });
    expect(FakePeer.made).toHaveLength(1);
    expect(FakePeer.made[0]!.options.initiator).toBe(true);
    clock.advance(5_000); // the connect deadline passes
    expect(FakePeer.made[0]!.destroyed).toBe(true);
    expect(mesh.stats().peers).toEqual([]);
    expect(requests).toContainEqual({ event: 'plume:link', payload: { peer: 'b', up: false } });
    clock.advance(1_000);
    expect(FakePeer.made).toHaveLength(2); // a fresh offer
    FakePeer.made[1]!.emit('connect');
    expect(mesh.stats().peers).toEqual([{ id: 'b', up: true }]);
  });

  it('answers a new offer from the peer with a fresh link when the old one already negotiated', () => {
    const { push, mesh } = setup('b'); // 'a' < 'b': a offers, b answers
    push('plume:mesh', { links: ['a'], forward: [], direct: true });
    push('plume:signal', { from: 'a', signal: { type: 'offer', sdp: 'first' } });
    const first = FakePeer.made[0]!;
    expect(first.signals).toEqual([{ type: 'offer', sdp: 'first' }]);
    push('plume:signal', { from: 'a', signal: { type: 'candidate', candidate: {} } });
    push('plume:signal', { from: 'a', signal: { type: 'offer', sdp: 'second' } }); // a gave up on the first attempt
    expect(first.destroyed).toBe(true);
    expect(FakePeer.made).toHaveLength(2);
    expect(FakePeer.made[1]!.options.initiator).toBe(false);
    expect(FakePeer.made[1]!.signals).toEqual([{ type: 'offer', sdp: 'second' }]);
    FakePeer.made[1]!.emit('connect');
    expect(mesh.stats().peers).toEqual([{ id: 'a', up: true }]);
  });
});
