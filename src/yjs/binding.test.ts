/**
 * DocBinding's answer to folded updates (PROTOCOL.md §7, §11), over a fake
 * channel whose server the test plays: a skip naming `plume:doc` makes the
 * document sync by state vector, once per burst, and once more after a
 * sync that was under way when it came.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { FakeClock } from '../../test/fakes';
import type { Channel } from '../channel';
import { Listeners } from '../listeners';
import type { PushResult } from '../push';
import { DocBinding } from './binding';
import { DOC_EVENT, DOC_OPS } from './sync';

/** A channel already joined; every `plume:doc` sync it is asked waits for the test to answer it. */
class FakeChannel {
  readonly topic = 'room:doc';
  state = 'joined';
  readonly socket = { options: { clock: new FakeClock() } };
  readonly syncs: Array<{ stateVector: Uint8Array; answer: (server: Y.Doc) => void }> = [];
  private readonly folded = new Listeners<[string, { epoch: string; seq: number }]>();

  on(): () => void {
    return () => {};
  }
  onStateChange(): () => void {
    return () => {};
  }
  onRecover(): () => void {
    return () => {};
  }
  onFolded(callback: (event: string, position: { epoch: string; seq: number }) => void): () => void {
    return this.folded.on(callback);
  }
  fold(event: string, seq: number): void {
    this.folded.emit(event, { epoch: 'e1', seq });
  }
  push(event: string, bytes: Uint8Array): Promise<PushResult> {
    if (event !== DOC_EVENT || bytes[0] !== DOC_OPS.sync) return Promise.resolve({ status: 'ok', response: {} } as PushResult);
    return new Promise((resolve) => {
      this.syncs.push({
        stateVector: bytes.subarray(1),
        answer: (server) => {
          const vector = Y.encodeStateVector(server);
          const missing = Y.encodeStateAsUpdate(server, bytes.subarray(1));
          const reply = new Uint8Array(5 + vector.length + missing.length);
          reply[0] = DOC_OPS.synced;
          new DataView(reply.buffer).setUint32(1, vector.length);
          reply.set(vector, 5);
          reply.set(missing, 5 + vector.length);
          resolve({ status: 'ok', response: {}, binary: reply } as PushResult);
        },
      });
    });
  }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};

async function bound(): Promise<{ channel: FakeChannel; binding: DocBinding; server: Y.Doc }> {
  const channel = new FakeChannel();
  const binding = new DocBinding(channel as unknown as Channel, new Y.Doc(), { persist: false, awareness: false });
  const server = new Y.Doc();
  await settle();
  channel.syncs.shift()!.answer(server);
  await binding.synced;
  return { channel, binding, server };
}

describe('a bound document told of folded updates', () => {
  it('syncs once for a burst of them and gets what it missed; other events are not its business', async () => {
    const { channel, binding, server } = await bound();
    server.getText('body').insert(0, 'missed');
    channel.fold('plume:doc', 1);
    channel.fold('plume:doc', 2);
    channel.fold('app:thing', 3);
    await settle();
    expect(channel.syncs).toHaveLength(1);
    channel.syncs.shift()!.answer(server);
    await settle();
    expect(binding.doc.getText('body').toString()).toBe('missed');
    expect(binding.status).toBe('synced');
    channel.fold('app:thing', 4);
    await settle();
    expect(channel.syncs).toHaveLength(0);
  });

  it('syncs again after a sync that was under way when one came (its answer may predate that update)', async () => {
    const { channel, binding, server } = await bound();
    channel.fold('plume:doc', 1);
    await settle();
    const first = channel.syncs.shift()!;
    channel.fold('plume:doc', 2);
    await settle();
    expect(channel.syncs).toHaveLength(0);
    // Answered before update 2 was stored; it is stored right after.
    first.answer(server);
    server.getText('body').insert(0, 'late');
    await settle();
    expect(channel.syncs).toHaveLength(1);
    channel.syncs.shift()!.answer(server);
    await settle();
    expect(binding.doc.getText('body').toString()).toBe('late');
  });
});
