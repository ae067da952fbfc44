/**
 * Binary frames (PROTOCOL.md §2): byte for byte what the official phoenix
 * client's serializer writes and reads, plus Plume's two kinds with meta.
 */
// @ts-expect-error phoenix's types do not declare its Serializer, which the package exports.
import { Serializer } from 'phoenix';
import { describe, expect, it } from 'vitest';
import { BinaryFrameError, decodeClientFrame, decodeServerFrame, encodeBroadcast, encodePush, encodeReply, encodeServerPush } from './binary';

interface PhoenixMessage { join_ref: string | null; ref: string | null; topic: string; event: string; payload: unknown }
const phoenix = Serializer as {
  encode(msg: PhoenixMessage, callback: (encoded: ArrayBuffer | string) => void): void;
  decode(raw: ArrayBuffer | string, callback: (msg: PhoenixMessage) => void): void;
};
const bytes = (...values: number[]) => new Uint8Array(values);
const buffer = (view: Uint8Array): ArrayBuffer => view.slice().buffer;

describe('binary frames, as phoenix.js writes and reads them', () => {
  it('decodes a phoenix.js binary push with unicode names and every byte value in the payload', () => {
    const payload = new Uint8Array(256).map((_, i) => i);
    let encoded!: ArrayBuffer;
    phoenix.encode({ join_ref: '3', ref: '17', topic: 'room:ünï', event: 'blöb', payload: payload.buffer }, (e) => (encoded = e as ArrayBuffer));
    const result = decodeClientFrame(new Uint8Array(encoded), false);
    if (!result.ok) throw new Error(result.reason);
    expect(result.message).toMatchObject({ joinRef: '3', ref: '17', topic: 'room:ünï', event: 'blöb', payload: {} });
    expect([...result.message.binary!]).toEqual([...payload]);
    // Plume's encoder writes the same bytes.
    expect([...encodePush('3', '17', 'room:ünï', 'blöb', payload)]).toEqual([...new Uint8Array(encoded)]);
  });

  it('writes broadcasts, replies and server pushes that phoenix.js decodes to the same bytes', () => {
    const payload = bytes(0, 1, 254, 255);
    const read = (frame: Uint8Array): PhoenixMessage => {
      let message!: PhoenixMessage;
      phoenix.decode(buffer(frame), (m) => (message = m));
      return message;
    };
    const broadcast = read(encodeBroadcast('room:a', 'blob', payload));
    expect(broadcast).toMatchObject({ join_ref: null, ref: null, topic: 'room:a', event: 'blob' });
    expect([...new Uint8Array(broadcast.payload as ArrayBuffer)]).toEqual([...payload]);
    const reply = read(encodeReply('1', '9', 'room:a', 'ok', payload));
    expect(reply).toMatchObject({ join_ref: '1', ref: '9', topic: 'room:a', event: 'phx_reply', payload: { status: 'ok' } });
    expect([...new Uint8Array((reply.payload as { response: ArrayBuffer }).response)]).toEqual([...payload]);
    const push = read(encodeServerPush('1', 'room:a', 'blob', payload));
    expect(push).toMatchObject({ join_ref: '1', ref: null, topic: 'room:a', event: 'blob' });
  });
});

describe("Plume's kinds", () => {
  it('carries meta on a push (kind 4) and on a broadcast (kind 3), only where meta is allowed', () => {
    const payload = bytes(9, 8, 7);
    const push = encodePush('1', '2', 'room:a', 'blob', payload, { id: 'm-1' });
    expect(push[0]).toBe(4);
    const decoded = decodeClientFrame(push, true);
    expect(decoded.ok && decoded.message.meta).toEqual({ id: 'm-1' });
    expect(decodeClientFrame(push, false)).toMatchObject({ ok: false, code: 4400 });
    const broadcast = decodeServerFrame(encodeBroadcast('room:a', 'blob', payload, '{"epoch":"e","seq":3}'));
    expect(broadcast).toMatchObject({ topic: 'room:a', event: 'blob', meta: { epoch: 'e', seq: 3 } });
    expect([...broadcast!.binary!]).toEqual([9, 8, 7]);
  });

  it('refuses names longer than 255 bytes when encoding, saying which', () => {
    expect(() => encodePush('1', '2', 'r'.repeat(256), 'e', bytes())).toThrow(BinaryFrameError);
    expect(() => encodePush('1', '2', 'room', 'é'.repeat(128), bytes())).toThrow(/event takes 256 bytes/);
  });

  it.each([
    ['an empty frame', bytes()],
    ['an unknown kind', bytes(9, 0, 0, 0, 0)],
    ['a reply sent by a client', encodeReply('1', '2', 't', 'ok', bytes())],
    ['a header cut short', bytes(0, 1, 1)],
    ['a field running past the end', bytes(0, 0, 1, 5, 1, 0x31, 0x74)],
    ['an empty topic', encodePush('1', '2', 'x', 'e', bytes()).map((b, i) => (i === 3 ? 0 : b))],
    ['invalid UTF-8 in a name', bytes(0, 0, 1, 1, 1, 0x31, 0xff, 0x65)],
    ['meta that is not JSON', bytes(4, 0, 1, 1, 1, 0, 1, 0x31, 0x74, 0x65, 0x7b)],
    ['meta that is an array', bytes(4, 0, 1, 1, 1, 0, 2, 0x31, 0x74, 0x65, 0x5b, 0x5d)],
  ])('answers %s from a client with close 4400', (_what, frame) => {
    expect(decodeClientFrame(frame, true)).toMatchObject({ ok: false, code: 4400 });
  });

  it('reads nothing from a malformed server frame', () => {
    expect(decodeServerFrame(bytes(7))).toBeNull();
    expect(decodeServerFrame(bytes(2, 200, 1))).toBeNull();
  });
});
