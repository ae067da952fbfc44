// Types for redis.mjs, so test helpers can import it under tsc.
export declare const SYSTEM_REDIS: string;
export declare class RedisNotFound extends Error {
  code: 'REDIS_NOT_FOUND';
}
export declare function locateRedis(): string | null;
export declare function findRedis(options?: { install?: boolean }): Promise<string>;
