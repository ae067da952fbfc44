/**
 * The Redis engine's batched publishes: grouping a turn's broadcasts into
 * script calls, decoding a topic's message, and (on the run's own
 * redis-server, test/global-redis.ts) one script call per turn that still
 * answers each broadcast on its own: its position, a duplicate's original
 * one, or a refusal over the sender's share.
 */
import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { QuotaExceeded, type SequencedBroadcast } from '../engine';
import { groupBySlot } from './batch';
import { decodeBroadcasts } from './log';
import { encodeCommand } from './resp';
import { broadcast, useRedisEngines } from '../../../test/redis-engines';

const start = useRedisEngines();

describe('groupBySlot', () => {
  it('makes one call on a single Redis, topics in order of their first broadcast, each topic\'s broadcasts in order', () => {
    const calls = groupBySlot('p', [['room:a', 1], ['room:b', 2], ['room:a', 3]], false);
    expect(calls).toHaveLength(1);
    expect([...calls[0]!].map(([topic, { keys, items }]) => [topic, keys[0], items])).toEqual([['room:a', 'p:{room:a}:m', [1, 3]], ['room:b', 'p:{room:b}:m', [2]]]);
  });

  it('makes one call per hash slot on a Cluster, each holding only its slot\'s keys', () => {
    const topics = Array.from({ length: 20 }, (_, i) => `room:${i}`);
    const calls = groupBySlot('p', topics.map((topic, i) => [topic, i]), true);
    expect(calls.length).toBe(new Set(topics.map((t) => calculateSlot(`{${t}}`))).size);
    for (const call of calls) expect(new Set([...call.values()].flatMap(({ keys }) => keys.map((k) => calculateSlot(k)))).size).toBe(1);
  });
});

describe('decodeBroadcasts', () => {
  it('reads every broadcast of a message, payload bytes as sent', () => {
    const field = (text: string | Buffer) => Buffer.concat([Buffer.from(`${Buffer.byteLength(text)}:`), Buffer.from(text)]);
    const message = Buffer.concat([Buffer.from('*'), field('ep'), field('7'), field('msg'), field('id1'), field(''), field(''), field('{"a":"é"}'), field('8'), field('bin'), field(''), field('s1'), field('b'), field(Buffer.from([0, 58, 255]))]);
    const got = decodeBroadcasts('room:a', message);
    expect(got.map((b: SequencedBroadcast) => [b.epoch, b.seq, b.event, b.id, b.exclude, b.binary, [...b.payloadBytes]])).toEqual([
      ['ep', 7, 'msg', 'id1', null, undefined, [...Buffer.from('{"a":"é"}')]],
      ['ep', 8, 'bin', undefined, 's1', true, [0, 58, 255]],
    ]);
  });

  it('skips what was delivered already, in that epoch only', () => {
    const field = (text: string) => `${Buffer.byteLength(text)}:${text}`;
    const entry = (seq: number, body: string) => [String(seq), 'msg', '', '', '', body].map(field).join('');
    const message = Buffer.from(`*${field('ep')}${entry(7, '{"n":7}')}${entry(8, '{"n":8}')}${entry(9, '{"n":9}')}`);
    expect(decodeBroadcasts('room:a', message, 'ep', 8).map((b) => [b.seq, b.payloadBytes.toString()])).toEqual([[9, '{"n":9}']]);
    expect(decodeBroadcasts('room:a', message, 'other', 8).map((b) => b.seq)).toEqual([7, 8, 9]);
  });

  it('refuses a malformed message instead of guessing', () => {
    expect(() => decodeBroadcasts('room:a', Buffer.from('2:ep'))).toThrow(/not a batch/);
    expect(() => decodeBroadcasts('room:a', Buffer.from('*2:ep9:x'))).toThrow(/past the end/);
    expect(() => decodeBroadcasts('room:a', Buffer.from('*x:ep'))).toThrow(/bad field length/);
  });
});

describe('encodeCommand', () => {
  it('writes RESP with byte lengths, strings as UTF-8 and buffers as they are', () => {
    expect(encodeCommand(['SET', 'clé', Buffer.from([0, 13, 10])]).toString('latin1')).toBe('*3\r\n$3\r\nSET\r\n$4\r\ncl\xc3\xa9\r\n$3\r\n\x00\r\n\r\n');
    expect(encodeCommand(['x'.repeat(1234), '']).toString()).toBe(`*2\r\n$1234\r\n${'x'.repeat(1234)}\r\n$0\r\n\r\n`);
  });
});

describe('batched publishes on Redis', () => {
  it('sends a turn\'s broadcasts of several topics in one script call, each answered on its own', async () => {
    const engine = await start({ historyMaxBytesPerUser: 1000 });
    const calls = engine.log.batches.calls;
    const results = await Promise.allSettled([
      engine.log.publish('room:a', broadcast('1', { id: 'm1', user: 'u' })),
      engine.log.publish('room:b', broadcast('2')),
      engine.log.publish('room:a', broadcast('1 again', { id: 'm1', user: 'u' })),
      engine.log.publish('room:a', broadcast('x'.repeat(2000), { user: 'u' })),
      engine.log.publish('room:a', broadcast('3')),
    ]);
    expect(engine.log.batches.calls - calls).toBe(1);
    const [first, other, duplicate, over, last] = results;
    expect(first).toMatchObject({ status: 'fulfilled', value: { seq: 1 } });
    expect(other).toMatchObject({ status: 'fulfilled', value: { seq: 1 } });
    expect(duplicate).toMatchObject({ status: 'fulfilled', value: { seq: 1 } });
    expect(over.status === 'rejected' && over.reason).toBeInstanceOf(QuotaExceeded);
    expect(last).toMatchObject({ status: 'fulfilled', value: { seq: 2 } });
    const read = await engine.log.read('room:a', 1, 10, 10);
    expect(read.entries.map((e) => [e.seq, e.payloadJson])).toEqual([[1, '1'], [2, '3']]);
  });

  it('sends the script again when Redis forgot it (SCRIPT FLUSH), applying each broadcast once', async () => {
    const engine = await start({ historyMaxBytesPerUser: 1000 });
    expect((await engine.log.publish('room:a', broadcast('1'))).seq).toBe(1);
    await engine.link.client.script('FLUSH');
    expect((await engine.log.publish('room:a', broadcast('2'))).seq).toBe(2);
    expect((await engine.log.publish('room:a', broadcast('3'))).seq).toBe(3);
    expect((await engine.log.window('room:a')).head).toBe(3);
  });
});
