/**
 * For the Redis engine's own tests: engines on the run's redis-server
 * (test/global-redis.ts), each under a fresh key prefix and closed after
 * each test, and broadcasts to publish through them.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, inject } from 'vitest';
import { silentLogger } from '../server/log';
import type { EngineLimits, NewBroadcast } from '../server/engine/engine';
import { RedisEngine } from '../server/engine/redis/engine';

/** Limits large enough to stay out of a test's way; override what the test is about. */
export const TEST_LIMITS: EngineLimits = {
  historyLimit: 1000, historyMaxAgeMs: 3_600_000, historyMaxBytes: 256 * 2 ** 20, historyMaxBytesPerTopic: 16 * 2 ** 20, historyMaxBytesPerUser: 100_000,
  dedupeWindowMs: 86_400_000, dedupeMaxEntries: 200_000, dedupeMaxPerUser: 10_000,
};

/** A JSON broadcast of `text` by server code (no id, no sender), with `more` over it. */
export const broadcast = (text: string, more: Partial<NewBroadcast> = {}): NewBroadcast => ({ event: 'msg', payloadJson: text, payloadBytes: Buffer.from(text), exclude: null, user: '', ...more });

/**
 * Returns a function that starts an engine (closed after the test) with `limits` over `TEST_LIMITS`.
 * @example const start = useRedisEngines(); const engine = await start({ historyLimit: 3 });
 */
export function useRedisEngines(): (limits?: Partial<EngineLimits>, prefix?: string) => Promise<RedisEngine> {
  const engines: RedisEngine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
  });
  return async (limits = {}, prefix = `t${randomBytes(4).toString('hex')}`) => {
    const engine = new RedisEngine({ url: inject('redisUrl'), prefix }, { node: 'a', limits: { ...TEST_LIMITS, ...limits }, log: silentLogger });
    engines.push(engine);
    await engine.start();
    return engine;
  };
}
