import { describe, expect, it } from 'vitest';
import { ChannelTable } from './table';

const channel = (topic: string, n = 0) => ({ topic, n });

describe('ChannelTable', () => {
  it('keeps one channel per topic, from one to many and back', () => {
    const table = new ChannelTable<ReturnType<typeof channel>>();
    expect(table.size).toBe(0);
    expect(table.get('a')).toBeUndefined();
    table.set(channel('a'));
    table.set(channel('a', 1)); // a newer join of the same topic replaces the old
    expect(table.size).toBe(1);
    expect(table.get('a')).toEqual(channel('a', 1));
    expect(table.get('b')).toBeUndefined();
    table.set(channel('b'));
    table.set(channel('c'));
    expect(table.size).toBe(3);
    expect(table.values().map((c) => c.topic)).toEqual(['a', 'b', 'c']);
    expect(table.get('a')).toEqual(channel('a', 1));
    table.delete('a');
    table.delete('x');
    expect(table.size).toBe(2);
    expect(table.get('a')).toBeUndefined();
    expect(table.get('c')).toEqual(channel('c'));
    table.clear();
    expect(table.size).toBe(0);
    expect(table.values()).toEqual([]);
  });

  it('deletes its only channel by topic and ignores other topics', () => {
    const table = new ChannelTable<ReturnType<typeof channel>>();
    table.set(channel('a'));
    table.delete('b');
    expect(table.get('a')).toEqual(channel('a'));
    table.delete('a');
    expect(table.size).toBe(0);
    expect(table.values()).toEqual([]);
  });

  it('gives a snapshot to iterate while channels are removed', () => {
    const table = new ChannelTable<ReturnType<typeof channel>>();
    for (const topic of ['a', 'b', 'c']) table.set(channel(topic));
    const seen: string[] = [];
    for (const c of table.values()) {
      seen.push(c.topic);
      table.delete(c.topic);
    }
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(table.size).toBe(0);
  });
});
