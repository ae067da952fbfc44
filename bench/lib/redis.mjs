/**
 * A `redis-server` of the benchmark's own, one per measurement: on a free
 * port, with no persistence (`--save "" --appendonly no`), pinned to `core`
 * when the run is pinned, and stopped by its PID. Its CPU time
 * and command counts come from its own `INFO` (`cpu`, `commandstats`), read
 * over a client of the load generator only at the edges of a measurement.
 *
 * The same approach as the tests' helper (`test/redis-server.ts`), written
 * for the bench's process handling (`scripts/lib/proc.mjs`). Not a Redis
 * client for anything else.
 */
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { start, killGroup } from '../../scripts/lib/proc.mjs';
import { locateRedis } from '../../scripts/lib/redis.mjs';

/** Resolves with a port nothing listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** `INFO commandstats` as `{ command: calls }`. */
function parseCommandStats(text) {
  const calls = {};
  for (const line of text.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) calls[match[1]] = Number(match[2]);
  }
  return calls;
}

/** One `field:value` of an INFO reply, as a number. */
function infoField(text, field) {
  const match = new RegExp(`^${field}:([\\d.]+)`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

/**
 * @example
 * const redis = await startRedis({ pinned: true });
 * const cpu0 = await redis.cpu(); … ; const used = (await redis.cpu()) - cpu0;
 * await redis.stop();
 */
export async function startRedis({ pinned, core = 0, timeoutMs = 10_000 } = {}) {
  const binary = process.env.REDIS_SERVER_PATH || locateRedis();
  if (!binary) throw new Error('no redis-server found: install it (apt-get install -y redis-server) or set REDIS_SERVER_PATH');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no'];
  const [file, ...rest] = pinned ? ['taskset', '-c', String(core), binary, ...args] : [binary, ...args];
  const child = start(file, rest, { stdout: 'pipe', stderr: 'pipe' });
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const seen = (chunk) => {
      output += chunk;
      if (!/Ready to accept connections/.test(output)) return;
      clearTimeout(timer);
      child.stdout.off('data', seen);
      child.stdout.resume();
      resolve();
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`));
    });
  });
  // Only for INFO at the edges of a window: its own calls are left out of the command counts.
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return {
    port,
    pid: child.pid,
    url: `redis://127.0.0.1:${port}`,
    /** Redis's CPU time so far (every thread), split like a server's: `{ user, system }` in seconds. */
    async cpuSplit() {
      const text = await client.info('cpu');
      return { user: infoField(text, 'used_cpu_user'), system: infoField(text, 'used_cpu_sys'), faults: 0 };
    },
    /** Calls per command so far, every command run inside a script counted too, INFO left out. */
    async commands() {
      const calls = parseCommandStats(await client.info('commandstats'));
      delete calls.info;
      return calls;
    },
    /** Bytes Redis holds for data. */
    async usedMemory() {
      return infoField(await client.info('memory'), 'used_memory');
    },
    async stop() {
      client.disconnect();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      killGroup(child, 'SIGKILL');
      await exited;
    },
  };
}

/** What `commands()` counted between two readings: `{ total, scripts, byCommand }`. */
export function commandDelta(before, after) {
  const byCommand = {};
  let total = 0;
  for (const [name, calls] of Object.entries(after)) {
    const delta = calls - (before[name] ?? 0);
    if (delta <= 0) continue;
    byCommand[name] = delta;
    total += delta;
  }
  const scripts = (byCommand.evalsha ?? 0) + (byCommand.eval ?? 0) + (byCommand.fcall ?? 0);
  return { total, scripts, byCommand };
}
