/**
 * vitest's global setup: one redis-server of the test run's own, on a free
 * port, shared by the test files that need one (each uses its own key
 * prefix), stopped when the run ends. Tests that stop or restart Redis
 * start their own with `RedisServer.start()`.
 */
import type { TestProject } from 'vitest/node';
import { RedisServer } from './redis-server';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `redis://127.0.0.1:<port>` of the run's shared redis-server. */
    redisUrl: string;
  }
}

let redis: RedisServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  redis = await RedisServer.start();
  project.provide('redisUrl', redis.url);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}
