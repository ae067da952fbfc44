import { describe, expect, it } from 'vitest';
import { MESH_MAX_MESSAGE } from '../protocol';
import { ChunkError, MAX_CHUNK, MAX_HELD, Reassembler, split } from './chunks';

describe('chunks', () => {
  it('leaves small messages whole', () => {
    expect(split('["m","hi"]', 'k')).toEqual(['["m","hi"]']);
  });

  it('splits large messages into parts of at most 16 KiB and reassembles them in any order', () => {
    const text = JSON.stringify(['m', 'é'.repeat(30_000), 'x'.repeat(70_000)]);
    const parts = split(text, 'key1')!;
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(new TextEncoder().encode(p).length).toBeLessThanOrEqual(MAX_CHUNK);
    const r = new Reassembler(() => 0);
    const shuffled = [...parts].reverse();
    const results = shuffled.map((p) => r.accept(p));
    expect(results.slice(0, -1).every((x) => x === null)).toBe(true);
    expect(results.at(-1)).toBe(text);
  });

  it('drops incomplete messages after the timeout and caps open messages', () => {
    let now = 0;
    const r = new Reassembler(() => now, 1_000, 2);
    const parts = split('x'.repeat(40_000), 'a')!;
    r.accept(parts[0]!);
    now = 2_000;
    r.accept(split('y'.repeat(40_000), 'b')![0]!);
    for (const p of parts.slice(1)) expect(r.accept(p)).toBeNull(); // 'a' expired: its first part is gone
  });

  it('throws on malformed chunks so the peer can be cut off', () => {
    const r = new Reassembler(() => 0);
    expect(() => r.accept('["c","k",5,2,"x"]')).toThrow();
    expect(() => r.accept('["c","k",0,100000,"x"]')).toThrow();
    expect(() => r.accept('["c",1,0,2,"x"]')).toThrow();
  });

  it('throws on a data channel message over 16 KiB, chunk or not: a part has no other size cap', () => {
    const r = new Reassembler(() => 0);
    expect(() => r.accept(JSON.stringify(['c', 'k', 0, 2, 'x'.repeat(100_000)]))).toThrow(ChunkError);
    expect(() => r.accept(JSON.stringify(['m', 'x'.repeat(MAX_CHUNK)]))).toThrow(ChunkError);
    expect(r.held).toBe(0);
  });

  it('throws once one message passes MESH_MAX_MESSAGE characters, whatever its declared parts', () => {
    const r = new Reassembler(() => 0);
    const part = 'x'.repeat(MAX_CHUNK - 100);
    let sent = 0;
    expect(() => {
      for (let i = 0; i < 256; i++, sent += part.length) r.accept(JSON.stringify(['c', 'k', i, 256, part]));
    }).toThrow(/over 1048576 characters/);
    expect(sent).toBeLessThanOrEqual(MESH_MAX_MESSAGE);
  });

  it('throws once a peer holds more than maxHeld characters in incomplete messages, and gives back what completes, expires or is evicted', () => {
    let now = 0;
    const r = new Reassembler(() => now, 1_000, 2, 256, 20_000);
    const part = 'x'.repeat(8_000);
    r.accept(JSON.stringify(['c', 'a', 0, 3, part]));
    r.accept(JSON.stringify(['c', 'b', 0, 3, part]));
    expect(r.held).toBe(16_000);
    r.accept(JSON.stringify(['c', 'c', 0, 3, part])); // a third open message evicts the oldest
    expect(r.held).toBe(16_000);
    expect(() => r.accept(JSON.stringify(['c', 'c', 1, 3, part]))).toThrow(/over 20000 characters/);
    now = 2_000;
    r.accept(JSON.stringify(['c', 'd', 0, 2, 'y'])); // the others expired
    expect(r.held).toBe(1);
    expect(r.accept(JSON.stringify(['c', 'd', 1, 2, 'z']))).toBe('yz');
    expect(r.held).toBe(0);
    expect(MAX_HELD).toBe(2 * MESH_MAX_MESSAGE);
  });

  it('will not split a message longer than peers accept', () => {
    expect(split('x'.repeat(MESH_MAX_MESSAGE + 1), 'k')).toBeNull();
    expect(split('x'.repeat(MESH_MAX_MESSAGE), 'k')!.length).toBeLessThanOrEqual(256);
  });
});
