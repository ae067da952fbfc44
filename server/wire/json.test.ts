/**
 * toJson must write exactly what JSON.stringify writes, and fail where and
 * as it fails: broadcasts are serialized with it, and clients parse the
 * result.
 */
import { describe, expect, it } from 'vitest';
import { toJson } from './json';

/** Characters that stress JSON escaping, mixed into long plain runs. */
const SPECIALS = ['"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '\u2028', '\ud83d\ude00', '\ud83d', '\ude00', '/', ' '];

describe('toJson', () => {
  it('equals JSON.stringify on random payloads with long strings, escapes anywhere in them', () => {
    let state = 7;
    const random = (n: number) => ((state = (state * 1103515245 + 12345) % 2 ** 31), state % n);
    const text = () => {
      let s = 'x'.repeat(random(600));
      for (let i = random(3); i > 0; i--) {
        const at = random(s.length + 1);
        s = s.slice(0, at) + SPECIALS[random(SPECIALS.length)] + s.slice(at);
      }
      return s;
    };
    const value = (depth: number): unknown => {
      switch (random(depth > 2 ? 7 : 9)) {
        case 0: return text();
        case 1: return random(2) === 0 ? random(1e6) / 7 : -random(100);
        case 2: return [Number.NaN, Infinity, -0, 1e21, 5e-7][random(5)];
        case 3: return random(2) === 0;
        case 4: return null;
        case 5: return [undefined, () => 1, Symbol('s')][random(3)];
        case 6: return 'short';
        case 7: return Array.from({ length: random(4) }, () => value(depth + 1));
        default: return object(depth + 1);
      }
    };
    const object = (depth: number): Record<string, unknown> => {
      const out: Record<string, unknown> = random(5) === 0 ? Object.create(null) : {};
      for (let i = random(6); i > 0; i--) out[random(4) === 0 ? text().slice(0, 300) : ['a', 'b', '2', '10', 'é"k'][random(5)]!] = value(depth);
      return out;
    };
    let long = 0;
    for (let i = 0; i < 3000; i++) {
      const payload = object(0);
      if (Object.values(payload).some((v) => typeof v === 'string' && v.length >= 256)) long++;
      expect(toJson(payload)).toBe(JSON.stringify(payload));
    }
    // The fast path (a long string at the top level) was taken often enough to mean something.
    expect(long).toBeGreaterThan(300);
  });

  it('writes a 2 KB text payload as JSON.stringify does, and it parses back', () => {
    const payload = { t: 1234.567, n: 5, p: 'x'.repeat(2000), u: undefined };
    expect(toJson(payload)).toBe('{"t":1234.567,"n":5,"p":"' + 'x'.repeat(2000) + '"}');
    expect(JSON.parse(toJson(payload))).toEqual({ t: 1234.567, n: 5, p: 'x'.repeat(2000) });
  });

  it('leaves toJSON, dates and class instances to the built-in, with the key it passes', () => {
    const long = 'y'.repeat(300);
    const keyed = { toJSON: (key: string) => `key=${key}` };
    const payload = { long, when: new Date(0), keyed, map: new Map([[1, 2]]) };
    expect(toJson(payload)).toBe(JSON.stringify(payload));
    expect(toJson(payload)).toContain('"keyed":"key=keyed"');
    const own = { long, toJSON: () => ({ replaced: true }) };
    expect(toJson(own)).toBe('{"replaced":true}');
    class Message { body = long; }
    expect(toJson(new Message())).toBe(JSON.stringify(new Message()));
  });

  it('throws what JSON.stringify throws: cycles and BigInts', () => {
    const cyclic: Record<string, unknown> = { long: 'z'.repeat(300) };
    cyclic.self = { back: cyclic };
    expect(() => toJson(cyclic)).toThrow(TypeError);
    expect(() => toJson({ long: 'z'.repeat(300), n: 1n })).toThrow(/BigInt/);
  });
});
