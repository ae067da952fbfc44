import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TRANSCRIPT_LIMIT, loadNotice, loadTranscript, remember, saveNotice } from './transcript';

/** A Map-backed localStorage; `quota` is the most characters it holds before refusing a write. */
function fakeStorage(quota = Infinity) {
  const items = new Map<string, string>();
  const size = () => [...items].reduce((n, [k, v]) => n + k.length + v.length, 0);
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem(key: string, value: string) {
      const before = items.get(key);
      items.set(key, value);
      if (size() > quota) {
        if (before === undefined) items.delete(key);
        else items.set(key, before);
        throw new DOMException('quota exceeded', 'QuotaExceededError');
      }
    },
    removeItem: (key: string) => void items.delete(key),
  };
}

const msg = (n: number) => ({ id: `m${n}`, body: `hello ${n}`, name: 'Ada', sentAt: n, mine: n % 2 === 0 });

describe('transcript', () => {
  beforeEach(() => vi.stubGlobal('localStorage', fakeStorage()));
  afterEach(() => vi.unstubAllGlobals());

  it('remembers delivered messages per room, each once, oldest first', () => {
    remember('lobby', msg(1));
    remember('lobby', msg(2));
    remember('lobby', msg(1));
    remember('random', msg(3));
    expect(loadTranscript('lobby')).toEqual([msg(1), msg(2)]);
    expect(loadTranscript('random')).toEqual([msg(3)]);
  });

  it(`keeps the latest ${TRANSCRIPT_LIMIT} messages of a room`, () => {
    for (let n = 1; n <= TRANSCRIPT_LIMIT + 5; n++) remember('lobby', msg(n));
    const kept = loadTranscript('lobby');
    expect(kept).toHaveLength(TRANSCRIPT_LIMIT);
    expect(kept[0]?.id).toBe('m6');
  });

  it('drops stored entries that do not parse, and survives a corrupt value', () => {
    localStorage.setItem('plume-demo:transcript:lobby', JSON.stringify([msg(1), { id: 7 }, null, 'x']));
    expect(loadTranscript('lobby')).toEqual([msg(1)]);
    localStorage.setItem('plume-demo:transcript:lobby', '{not json');
    expect(loadTranscript('lobby')).toEqual([]);
  });

  it('keeps fewer messages rather than none when storage is nearly full', () => {
    vi.stubGlobal('localStorage', fakeStorage(12_000));
    for (let n = 1; n <= TRANSCRIPT_LIMIT; n++) remember('lobby', msg(n));
    const kept = loadTranscript('lobby');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.at(-1)?.id).toBe(`m${TRANSCRIPT_LIMIT}`);
  });

  it('stores a notice until it is cleared', () => {
    saveNotice('lobby', 'Some messages may be missing');
    expect(loadNotice('lobby')).toBe('Some messages may be missing');
    saveNotice('lobby', null);
    expect(loadNotice('lobby')).toBeNull();
  });

  it('works without storage: nothing is remembered, nothing throws', () => {
    vi.stubGlobal('localStorage', undefined);
    expect(() => remember('lobby', msg(1))).not.toThrow();
    expect(loadTranscript('lobby')).toEqual([]);
  });
});
