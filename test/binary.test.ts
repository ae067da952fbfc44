/**
 * Binary payloads over the wire (PROTOCOL.md §2, binary frames): the
 * official phoenix client's binary pushes on the default relay channel are
 * acknowledged and reach every member — phoenix.js and Plume sockets — as
 * the same bytes; history, recovery, dedupe and server code carry bytes as
 * bytes, on the memory engine and on Redis.
 */
import { randomBytes } from 'node:crypto';
import { Socket as PhoenixSocket } from 'phoenix';
import { describe, expect, inject, it } from 'vitest';
import { ok } from '../server/channels/channel';
import { redisEngine } from '../server/engine/redis/engine';
import { encodePush } from '../src/protocol';
import { usePhoenixClients } from './clients';
import { useServers, type Frame, type RawClient } from './helpers';
import { PLUME, joinOkWith } from './plume-frames';
import { deadline } from './waiting';

const start = useServers();
const phoenix = usePhoenixClients();
const isBlob = (f: Frame) => f.event === 'blob';
const everyByte = new Uint8Array(256).map((_, i) => i);

function phoenixJoin(channel: ReturnType<PhoenixSocket['channel']>): Promise<unknown> {
  return deadline(2000, 'the phoenix join', new Promise((resolve, reject) => {
    channel.join().receive('ok', resolve).receive('error', reject);
  }));
}

/** Sends a binary push (kind 4 with meta when given) and resolves with the reply frame. */
async function pushBytes(client: RawClient, topic: string, joinRef: string, bytes: Uint8Array, meta?: Record<string, unknown>): Promise<Frame> {
  const ref = client.ref();
  client.send(Buffer.from(encodePush(joinRef, ref, topic, 'blob', bytes, meta)), { binary: true });
  return client.next((f) => f.event === 'phx_reply' && f.ref === ref);
}

describe.each([
  ['memory', () => ({})],
  ['redis', () => ({ engine: redisEngine({ url: inject('redisUrl'), prefix: `t${randomBytes(4).toString('hex')}` }) })],
] as const)('binary payloads on the %s engine', (_name, options) => {
  it('relays a phoenix.js binary push: acknowledged, and the same bytes reach phoenix.js and Plume members', async () => {
    const { url, connect } = await start(options());
    const phx = phoenix(url, { name: 'phoebe' });
    phx.connect();
    const room = phx.channel('room:bin', {});
    const got: ArrayBuffer[] = [];
    room.on('blob', (payload: ArrayBuffer) => {
      got.push(payload);
    });
    await phoenixJoin(room);
    const plume = await connect({ name: 'ada', params: PLUME });
    await joinOkWith(plume, 'room:bin');
    const reply = await deadline(2000, 'the binary push reply', new Promise((resolve, reject) => {
      room.push('blob', everyByte.buffer.slice(0)).receive('ok', resolve).receive('error', reject);
    }));
    expect(reply).toEqual({});
    const frame = await plume.next(isBlob);
    expect(frame.kind).toBe(3); // Plume's binary broadcast, with order metadata
    expect(frame.meta).toMatchObject({ seq: 1 });
    expect([...frame.binary!]).toEqual([...everyByte]);
    await deadline(2000, 'phoenix.js to receive its own bytes back', (async () => {
      while (got.length === 0) await new Promise((r) => setTimeout(r, 10));
    })());
    expect([...new Uint8Array(got[0]!)]).toEqual([...everyByte]);
  });

  it('replays bytes as bytes on a join that recovers, and in plume:history pages', async () => {
    const { connect, server } = await start(options());
    const reader = await connect({ name: 'reader', params: PLUME });
    await joinOkWith(reader, 'room:hist');
    await server.broadcast('room:hist', 'blob', new Uint8Array([1, 2, 3]));
    await server.broadcast('room:hist', 'note', { text: 'json between' });
    const first = await reader.next(isBlob);
    await reader.dispose();
    await server.broadcast('room:hist', 'blob', everyByte);
    const back = await connect({ name: 'reader', params: PLUME });
    const { joinRef, reply } = await joinOkWith(back, 'room:hist', { since: first.meta });
    expect(reply.meta).toMatchObject({ recovered: true, from: 2 });
    expect((await back.next((f) => f.event === 'note')).payload).toEqual({ text: 'json between' });
    expect([...(await back.next(isBlob)).binary!]).toEqual([...everyByte]);
    // A page holding bytes comes as a binary reply: JSON header, then the payloads.
    const ref = back.ref();
    back.send([joinRef, ref, 'room:hist', 'plume:history', { epoch: first.meta!.epoch, from: 1, to: 3 }]);
    const page = await back.next((f) => f.event === 'phx_reply' && f.ref === ref);
    expect(page.kind).toBe(1);
    const headerLength = page.binary!.readUInt32BE(0);
    const header = JSON.parse(page.binary!.toString('utf8', 4, 4 + headerLength)) as { complete: boolean; entries: Array<{ seq: number; bin?: [number, number]; payload?: unknown }> };
    expect(header.complete).toBe(true);
    const blobs = page.binary!.subarray(4 + headerLength);
    const [one, two, three] = header.entries;
    expect([...blobs.subarray(one!.bin![0], one!.bin![0] + one!.bin![1])]).toEqual([1, 2, 3]);
    expect(two).toEqual({ seq: 2, event: 'note', payload: { text: 'json between' } });
    expect([...blobs.subarray(three!.bin![0], three!.bin![0] + three!.bin![1])]).toEqual([...everyByte]);
  });

  it('applies a binary push with a message id once: the retry gets the original reply, and one broadcast', async () => {
    const { connect } = await start(options());
    const watcher = await connect({ name: 'watcher', params: PLUME });
    await joinOkWith(watcher, 'room:once');
    const ada = await connect({ name: 'ada', params: PLUME });
    const { joinRef } = await joinOkWith(ada, 'room:once');
    const first = await pushBytes(ada, 'room:once', joinRef, everyByte, { id: 'bin-1' });
    const retry = await pushBytes(ada, 'room:once', joinRef, everyByte, { id: 'bin-1' });
    expect(first.payload).toEqual({ status: 'ok', response: {} });
    expect(retry.meta).toEqual({ ...first.meta, dup: true });
    const frames = await watcher.take(1, isBlob);
    expect(frames[0]!.meta).toMatchObject({ id: 'bin-1' });
    expect(await watcher.drain(isBlob)).toEqual([]);
  });
});

describe('binary frames the server refuses', () => {
  it('answers a binary push on a channel without handleBinary, and to a reserved event, with a reason', async () => {
    const { connect } = await start({}, (server) => server.channel('json:*', { handleIn: () => ok() }));
    const client = await connect({ name: 'ada', params: PLUME });
    const { joinRef } = await joinOkWith(client, 'json:1');
    expect((await pushBytes(client, 'json:1', joinRef, new Uint8Array([1]))).payload).toEqual({ status: 'error', response: { reason: 'binary payloads are not accepted on this topic' } });
    const ref = client.ref();
    client.send(Buffer.from(encodePush(joinRef, ref, 'json:1', 'phx_leave', new Uint8Array())), { binary: true });
    expect((await client.next((f) => f.ref === ref)).payload).toEqual({ status: 'error', response: { reason: 'invalid payload' } });
  });

  it('answers a binary frame over maxPayloadBytes with "payload too large", and closes on a broken layout with 4400', async () => {
    const { connect } = await start({ maxPayloadBytes: 1024 });
    const client = await connect({ name: 'ada', params: PLUME });
    const { joinRef } = await joinOkWith(client, 'room:big');
    expect((await pushBytes(client, 'room:big', joinRef, new Uint8Array(2000))).payload).toEqual({ status: 'error', response: { reason: 'payload too large' } });
    client.send(Buffer.from([0, 5, 200, 1]), { binary: true });
    expect((await client.closeEvent()).code).toBe(4400);
  });

  it('closes a plain Phoenix socket that sends Plume\'s kind 4 with 4400', async () => {
    const { connect } = await start();
    const client = await connect({ name: 'ada' });
    const joinRef = await client.joinOk('room:k4');
    client.send(Buffer.from(encodePush(joinRef, '9', 'room:k4', 'blob', new Uint8Array([1]), { id: 'x' })), { binary: true });
    expect((await client.closeEvent()).code).toBe(4400);
  });
});

