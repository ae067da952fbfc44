import { describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CLOSE } from '../../src/protocol';
import { frameAround, reframe, reframeAscii, textBytes, textFrame, type WireFrame } from '../wire/frame';
import { Outbound, WriteScheduler } from './outbound';
import { webSocketBytes } from './websocket-frame';

/** Every Outbound here shares one server's scheduler. */
const scheduler = new WriteScheduler();
/** The WebSocket bytes of a frame, or of a text's frame. */
const ws = (frame: WireFrame | string): Buffer => webSocketBytes(typeof frame === 'string' ? textFrame(frame) : frame);

/** Lets the end-of-turn flush run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A socket that records what reaches the OS, one entry per system call (the
 * writes between cork and uncork are one vectored write); `writableLength`
 * plays what the OS has not taken yet.
 */
class FakeSocket {
  readonly writes: Buffer[] = [];
  writableLength = 0;
  destroyed = false;
  private corked = 0;
  private held: Buffer[] = [];
  write(chunk: Buffer): boolean {
    if (this.corked > 0) this.held.push(chunk);
    else this.writes.push(chunk);
    return true;
  }
  cork(): void {
    this.corked++;
  }
  uncork(): void {
    if (--this.corked > 0 || this.held.length === 0) return;
    this.writes.push(Buffer.concat(this.held));
    this.held = [];
  }
}

function fakeSocket(): FakeSocket & Duplex {
  return new FakeSocket() as FakeSocket & Duplex;
}

function fakeWs(): WebSocket & { readyState: number } {
  return { readyState: 1, OPEN: 1 } as unknown as WebSocket & { readyState: number };
}

function owner(): { closes: Array<[number, string]>; close(code: number, reason: string): void } {
  return { closes: [], close(code, reason) { this.closes.push([code, reason]); } };
}

/** Splits a buffer of unmasked server frames into their texts. */
function texts(buffer: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < buffer.length) {
    expect(buffer[at]).toBe(0x81);
    let length = (buffer[at + 1] as number) & 0x7f;
    let start = at + 2;
    if (length === 126) [length, start] = [buffer.readUInt16BE(at + 2), at + 4];
    else if (length === 127) [length, start] = [Number(buffer.readBigUInt64BE(at + 2)), at + 10];
    out.push(buffer.toString('utf8', start, start + length));
    at = start + length;
  }
  return out;
}

describe('reframe', () => {
  it('replaces the end of a frame across every header size, keeping multi-byte text intact', () => {
    for (const size of [10, 120, 125, 126, 200, 65530, 65535, 65536, 70000]) {
      const body = `["é${'x'.repeat(size)}",`;
      const base = textFrame(`${body}{"seq":1}]`);
      for (const tail of ['{"seq":1,"sig":{"k":"ü","p":["R' + 'y'.repeat(300) + '"]}}]', '0]', '{"é":1}]']) {
        expect(texts(ws(reframe(base, Buffer.byteLength('{"seq":1}]'), tail)))).toEqual([body + tail]);
      }
      // A tail in parts, an empty one among them, is written as their concatenation.
      expect(texts(ws(reframe(base, 2, ',"sig":', '{"k":"ü"}', '', '}]')))).toEqual([`${body}{"seq":1,"sig":{"k":"ü"}}]`]);
      // An ASCII tail written byte per character gives the same frame, the length in its header included.
      const ascii = [',"sig":', '{"k":"a","s":"b"', ',"p":["R' + 'y'.repeat(200) + '"]', '}}]'];
      expect(reframeAscii(base, 2, ...ascii).data).toEqual(reframe(base, 2, ...ascii).data);
    }
  });
});

describe('textBytes and frameAround', () => {
  it('frames head, payload bytes and tail as one text frame, at every header size, multi-byte text included', () => {
    for (const size of [0, 10, 100, 120, 126, 2000, 2730, 2731, 8000, 65530, 70000]) {
      const payload = JSON.stringify({ s: `é日🎉${'x'.repeat(size)}` });
      const bytes = textBytes(payload);
      expect(bytes.toString('utf8')).toBe(payload);
      for (const [head, tail] of [['[null,null,"room:ü","msg",', ']'], ['[null,null,"a","b",', ',{"epoch":"e","seq":7}]']]) {
        expect(texts(ws(frameAround(head!, bytes, tail!)))).toEqual([head + payload + tail]);
      }
    }
  });

  it('never hands out bytes that a later call overwrites', () => {
    // Consecutive payloads share slabs: each must keep its own bytes, across a slab change too.
    const payloads = Array.from({ length: 400 }, (_, i) => JSON.stringify({ i, pad: 'ü'.repeat(i * 7 % 1500) }));
    const bytes = payloads.map(textBytes);
    payloads.forEach((payload, i) => expect(bytes[i]!.toString('utf8')).toBe(payload));
  });
});

describe('textFrame', () => {
  it('frames short, 16-bit and 64-bit lengths as final unmasked text frames', () => {
    for (const size of [0, 1, 125, 126, 65535, 65536, 70000]) {
      const text = 'é'.repeat(Math.floor(size / 2)) + 'x'.repeat(size % 2);
      expect(texts(ws(text))).toEqual([text]);
    }
  });

  it('returns the same frame for the same text asked in a row, and the right frame for any other', () => {
    const a = JSON.stringify(['x', 1]);
    const b = JSON.stringify(['y', 2]);
    expect(textFrame(a)).toBe(textFrame(a));
    expect(ws(a)).toBe(ws(a));
    expect(texts(ws(b))).toEqual([b]);
    expect(texts(ws(a))).toEqual([a]);
    // Equal text built separately (another string object) still maps to equal bytes.
    expect(texts(ws(['["y"', '2]'].join(',')))).toEqual([b]);
  });
});

describe('Outbound', () => {
  it('writes a turn\'s frames once, in order, at the end of the turn', async () => {
    const socket = fakeSocket();
    const out = new Outbound(fakeWs(), socket, 1 << 20, owner(), scheduler);
    out.send(textFrame('one'));
    out.send(textFrame('two'));
    out.send(textFrame('three'));
    expect(socket.writes).toEqual([]);
    await turn();
    expect(socket.writes).toHaveLength(1);
    expect(texts(socket.writes[0] as Buffer)).toEqual(['one', 'two', 'three']);
    out.send(textFrame('four'));
    await turn();
    expect(socket.writes.map((w) => texts(w))).toEqual([['one', 'two', 'three'], ['four']]);
  });

  it('with a write delay, frames of later turns join the first one\'s write, which leaves within the delay', async () => {
    const delayed = new WriteScheduler(40);
    const socket = fakeSocket();
    const out = new Outbound(fakeWs(), socket, 1 << 20, owner(), delayed);
    const started = performance.now();
    out.send(textFrame('one'));
    await turn();
    out.send(textFrame('two'));
    await turn();
    expect(socket.writes).toEqual([]);
    while (socket.writes.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    expect(socket.writes.map((w) => texts(w))).toEqual([['one', 'two']]);
  });

  it('runs end-of-turn tasks before the writes, so what they send leaves in the same write, even when one throws', async () => {
    const socket = fakeSocket();
    const out = new Outbound(fakeWs(), socket, 1 << 20, owner(), scheduler);
    let held: string[] = [];
    const removeThrower = scheduler.beforeWrite(() => {
      throw new Error('task failed');
    });
    const removeRelease = scheduler.beforeWrite(() => {
      for (const text of held) out.send(textFrame(text));
      held = [];
    });
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    process.on('uncaughtException', onError);
    try {
      out.send(textFrame('direct'));
      held = ['signed 1', 'signed 2'];
      await turn();
      expect(socket.writes.map((w) => texts(w))).toEqual([['direct', 'signed 1', 'signed 2']]);
      expect(errors).toEqual([new Error('task failed')]);
    } finally {
      removeThrower();
      removeRelease();
      process.off('uncaughtException', onError);
    }
  });

  it('writes large frames of a turn in one vectored write', async () => {
    const socket = fakeSocket();
    const out = new Outbound(fakeWs(), socket, 1 << 20, owner(), scheduler);
    const large = ['l'.repeat(3000), 'm'.repeat(3000), 'n'.repeat(3000)];
    for (const text of large) out.send(textFrame(text));
    await turn();
    expect(socket.writes).toHaveLength(1);
    expect(texts(socket.writes[0] as Buffer)).toEqual(large);
  });

  it('writes the sockets carrying a reply after the others of the turn, so an acknowledgement never leaves before the broadcast it acknowledges', async () => {
    const order: string[] = [];
    const logged = (name: string) => {
      const socket = fakeSocket();
      const write = socket.write.bind(socket);
      socket.write = (chunk: Buffer) => (order.push(name), write(chunk));
      return socket;
    };
    const sender = new Outbound(fakeWs(), logged('sender'), 1 << 20, owner(), scheduler);
    const member = new Outbound(fakeWs(), logged('member'), 1 << 20, owner(), scheduler);
    // The sender's own copy is queued first, then the other member's, then the sender's acknowledgement.
    sender.send(textFrame('["broadcast"]'));
    member.send(textFrame('["broadcast"]'));
    sender.send(textFrame('["ack"]'), true);
    await turn();
    expect(order).toEqual(['member', 'sender']);
    // The next turn, without a reply, keeps the order of queueing.
    sender.send(textFrame('["next"]'));
    member.send(textFrame('["next"]'));
    await turn();
    expect(order.slice(2)).toEqual(['sender', 'member']);
  });

  it('hands a keeping-up socket the shared frame itself, and a socket that is behind a copy of its own', async () => {
    const text = 'k'.repeat(2000);
    const keepingUp = fakeSocket();
    new Outbound(fakeWs(), keepingUp, 1 << 20, owner(), scheduler).send(textFrame(text));
    const behind = fakeSocket();
    behind.writableLength = 10_000;
    new Outbound(fakeWs(), behind, 1 << 20, owner(), scheduler).send(textFrame(text));
    await turn();
    const shared = ws(text);
    expect(keepingUp.writes[0]).toBe(shared);
    // A stalled reader must not keep the slab its frames were cut from alive.
    expect(texts(behind.writes[0] as Buffer)).toEqual([text]);
    expect((behind.writes[0] as Buffer).buffer).not.toBe(shared.buffer);
  });

  it('writes at once when a turn queues more than 64 KiB, keeping the order', async () => {
    const socket = fakeSocket();
    const out = new Outbound(fakeWs(), socket, 1 << 24, owner(), scheduler);
    const big = 'b'.repeat(40 * 1024);
    out.send(textFrame(big));
    out.send(textFrame(big));
    expect(socket.writes).toHaveLength(1);
    out.send(textFrame('tail'));
    await turn();
    expect(socket.writes.flatMap((w) => texts(w))).toEqual([big, big, 'tail']);
  });

  it('closes its owner with 4429 after the turn in which it went over the limit, once, and drops frames from then on', async () => {
    const socket = fakeSocket();
    const closer = owner();
    const out = new Outbound(fakeWs(), socket, 1000, closer, scheduler);
    out.send(textFrame('a'.repeat(400)));
    await turn();
    socket.writableLength = 800; // the peer stopped reading: the OS took nothing more
    out.send(textFrame('b'.repeat(300))); // 800 + 302 > 1000
    expect(closer.closes).toEqual([]); // never from inside a send: that may be in the middle of a fan-out
    out.send(textFrame('c'));
    await turn();
    expect(closer.closes).toEqual([[CLOSE.slowConsumer, 'slow consumer']]);
    expect(socket.writes.flatMap((w) => texts(w))).toEqual(['a'.repeat(400)]);
    out.send(textFrame('d'));
    out.flush();
    await turn();
    expect(closer.closes).toHaveLength(1);
    expect(socket.writes).toHaveLength(1);
  });

  it('sends a frame larger than the limit when nothing else waits', async () => {
    const socket = fakeSocket();
    const closer = owner();
    const out = new Outbound(fakeWs(), socket, 1000, closer, scheduler);
    out.send(textFrame('z'.repeat(5000)));
    await turn();
    expect(closer.closes).toEqual([]);
    expect(socket.writes.flatMap((w) => texts(w))).toEqual(['z'.repeat(5000)]);
  });

  it('counts what the OS has not taken against the limit', () => {
    const socket = fakeSocket();
    const out = new Outbound(fakeWs(), socket, 1000, owner(), scheduler);
    socket.writableLength = 900;
    out.send(textFrame('x'.repeat(50)));
    expect(out.pendingBytes).toBe(952);
  });

  it('writes nothing once the close handshake began, and flush() writes what is queued now', async () => {
    const socket = fakeSocket();
    const ws = fakeWs();
    const out = new Outbound(ws, socket, 1 << 20, owner(), scheduler);
    out.send(textFrame('before close'));
    out.flush();
    expect(socket.writes.flatMap((w) => texts(w))).toEqual(['before close']);
    out.send(textFrame('after'));
    ws.readyState = 2;
    await turn();
    expect(socket.writes).toHaveLength(1);
  });
});
