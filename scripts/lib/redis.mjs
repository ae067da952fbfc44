/**
 * Finds `redis-server` for the tests that need a real Redis, in this order:
 * `REDIS_SERVER_PATH`, `/usr/bin/redis-server`, the PATH, and (only on CI,
 * as root) `apt-get install redis-server`. The tests start their own
 * servers on free ports with it; nothing depends on a Redis someone else
 * started on 6379.
 *
 * Responsible for resolving one executable path or failing with a message
 * that says how to get one. Only node built-ins.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { run } from './proc.mjs';

export const SYSTEM_REDIS = '/usr/bin/redis-server';

const HOW_TO_GET_ONE = [
  'Get one of these:',
  '  - install Debian/Ubuntu Redis:    sudo apt-get install -y redis-server   (found at /usr/bin/redis-server)',
  '  - or point at any redis-server:   REDIS_SERVER_PATH=/path/to/redis-server npm test',
  'On CI (CI=true, as root) it is installed automatically.',
].join('\n');

/** Thrown when no redis-server can be found or installed; `code` is stable. */
export class RedisNotFound extends Error {
  code = 'REDIS_NOT_FOUND';
}

/**
 * Resolves redis-server without installing anything, or returns `null`.
 * @example locateRedis() // => '/usr/bin/redis-server'
 */
export function locateRedis() {
  const fromEnv = process.env.REDIS_SERVER_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new RedisNotFound(`REDIS_SERVER_PATH is set to ${fromEnv}, but no file exists there.\n${HOW_TO_GET_ONE}`);
    return fromEnv;
  }
  if (existsSync(SYSTEM_REDIS)) return SYSTEM_REDIS;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'redis-server'))) return join(dir, 'redis-server');
  }
  return null;
}

/**
 * Resolves redis-server. With `install: true`, running as root and `CI=true`, installs Debian's
 * redis-server with apt-get when none is found.
 *
 * @example process.env.REDIS_SERVER_PATH = await findRedis({ install: true });
 */
export async function findRedis({ install = false } = {}) {
  const found = locateRedis();
  if (found) return found;
  if (install && process.getuid?.() === 0 && process.env.CI === 'true') {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const args = ['install', '-y', 'redis-server'];
    console.log('[redis] no redis-server found: running apt-get install -y redis-server (CI=true, running as root)');
    if ((await run('apt-get', args, { env })) !== 0) {
      console.log('[redis] apt-get install failed: running apt-get update, then trying again');
      if ((await run('apt-get', ['update'], { env })) !== 0 || (await run('apt-get', args, { env })) !== 0) throw new RedisNotFound(`apt-get install -y redis-server failed.\n${HOW_TO_GET_ONE}`);
    }
    const installed = locateRedis();
    if (installed) return installed;
  }
  throw new RedisNotFound(`No redis-server found (looked at REDIS_SERVER_PATH, ${SYSTEM_REDIS} and the PATH).\n${HOW_TO_GET_ONE}`);
}
