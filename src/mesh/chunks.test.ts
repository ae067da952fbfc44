import { describe, expect, it } from 'vitest';
import { MAX_CHUNK, Reassembler, split } from './chunks';

describe('chunks', () => {
  it('leaves small messages whole', () => {
    expect(split('["m","hi"]', 'k')).toEqual(['["m","hi"]']);
  });

  it('splits large messages into parts of at most 16 KiB and reassembles them in any order', () => {
    const text = JSON.stringify(['m', 'é'.repeat(30_000), 'x'.repeat(70_000)]);
    const parts = split(text, 'key1');
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
    const parts = split('x'.repeat(40_000), 'a');
    r.accept(parts[0]!);
    now = 2_000;
    r.accept(split('y'.repeat(40_000), 'b')[0]!);
    for (const p of parts.slice(1)) expect(r.accept(p)).toBeNull(); // 'a' expired: its first part is gone
  });

  it('throws on malformed chunks so the peer can be cut off', () => {
    const r = new Reassembler(() => 0);
    expect(() => r.accept('["c","k",5,2,"x"]')).toThrow();
    expect(() => r.accept('["c","k",0,100000,"x"]')).toThrow();
    expect(() => r.accept('["c",1,0,2,"x"]')).toThrow();
  });
});
