import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Signer, leafHash } from '../../server/mesh/signer';
import { FakeClock } from '../../test/fakes';
import { signedContent, type Message, type Payload } from '../protocol';
import type { MeshHost } from '../sync';
import { ChannelMesh } from './mesh';
import type { Signature } from './verify';
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
  readonly sent: unknown[] = [];
  send(data: unknown): void {
    this.sent.push(data);
  }
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

describe('forwarding a signed broadcast from the server', () => {
  const signer = new Signer();
  /** The server's signature over `payloadText` as broadcast `seq` of room:a. */
  const signature = (seq: number, payloadText: string): Signature => {
    const out: Signature[] = [];
    signer.sign(leafHash(signedContent('room:a', 'ep', seq, 'msg', null, payloadText, null)), out, (list, s) => list.push(s));
    signer.flush();
    return out[0]!;
  };
  /** A broadcast as the socket hands it over: decoded, with the frame's text, signed over `signedText`. */
  const signed = (seq: number, payloadText: string, signedText = payloadText): Message => {
    const meta = { epoch: 'ep', seq, sig: signature(seq, signedText) };
    const frame = `[null,null,"room:a","msg",${payloadText},${JSON.stringify(meta)}]`;
    return { joinRef: null, ref: null, topic: 'room:a', event: 'msg', payload: JSON.parse(payloadText) as Payload, meta, frame };
  };

  function forwarder() {
    const context = setup('a');
    context.push('plume:keys', { keys: signer.keys() });
    context.push('plume:mesh', { links: ['b'], forward: ['b'], direct: true });
    FakePeer.made[0]!.emit('connect');
    return { ...context, child: FakePeer.made[0]! };
  }

  afterEach(() => vi.restoreAllMocks());

  it('forwards at once when its re-encoded payload is the text the server framed (and signed)', () => {
    const { mesh, child } = forwarder();
    mesh.fromServer(signed(1, '{"body":"hé \\"quoted\\"","n":[1,2.5]}'));
    // Synchronously: no signature check stands between the server's frame and the children.
    expect(child.sent).toHaveLength(1);
    expect(String(child.sent[0])).toContain('"{\\"body\\":\\"hé \\\\\\"quoted');
    expect(mesh.stats().forwarded).toBe(1);
  });

  it('checks a re-encoding that differs from the framed text against the signature: forwarded only if it verifies', async () => {
    const { mesh, child } = forwarder();
    const verify = vi.spyOn(globalThis.crypto.subtle, 'verify');
    // 1.0 re-encodes as 1. The server signed "1.0", so what this member would forward does not verify.
    mesh.fromServer(signed(2, '{"n":1.0}'));
    expect(child.sent).toEqual([]);
    await vi.waitFor(() => expect(verify).toHaveBeenCalledTimes(1));
    expect(await verify.mock.results[0]!.value).toBe(false);
    // Here the server signed the re-encoding ("2"), so the check passes and it goes on, after the check.
    // (Seq 2's remaining steps are microtasks: they are done before this WebCrypto call returns.)
    mesh.fromServer(signed(3, '{"n":2.0}', '{"n":2}'));
    expect(child.sent).toEqual([]);
    await vi.waitFor(() => expect(child.sent).toHaveLength(1));
    expect(String(child.sent[0])).toMatch(/^\["m","room:a","ep",3,/);
    expect(mesh.stats().forwarded).toBe(1);
  });
});
