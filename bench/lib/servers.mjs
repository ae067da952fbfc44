/**
 * Starting and stopping the servers under test: each is bundled once with
 * esbuild (dependencies stay external, as in a production build), started
 * pinned to its own core with `taskset` when there is one, and controlled
 * over the line protocol of `bench/servers/control.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { ROOT, killGroup, start } from '../../scripts/lib/proc.mjs';

const OUT_DIR = join(ROOT, 'node_modules', '.cache', 'plume', 'bench');

/**
 * Bundles every server entry (relative to `dir`, by default bench/servers); returns a map entry ->
 * bundled file.
 */
export async function bundleServers(entries, dir = join('bench', 'servers')) {
  const outDir = dir === join('bench', 'servers') ? OUT_DIR : join(OUT_DIR, dir.replace(/[\\/]/g, '-'));
  mkdirSync(outDir, { recursive: true });
  const files = {};
  for (const entry of entries) {
    const outfile = join(outDir, entry.replace(/\.ts$/, '.mjs'));
    await build({
      entryPoints: [join(ROOT, dir, entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
    });
    files[entry] = outfile;
  }
  return files;
}

/**
 * How to pin processes: `taskset` with the server on core 0 and the load
 * generator (this process) on core 1, when both exist.
 */
export function pinning() {
  const cores = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1;
  const taskset = spawnSync('taskset', ['--version'], { encoding: 'utf8' }).status === 0;
  if (!taskset) return { pinned: false, cores, note: 'taskset not found: server and load generator share all cores (install util-linux to pin)' };
  if (cores < 2) return { pinned: false, cores, note: 'one core only: server and load generator share it' };
  // -a: every thread of this process (libuv's pool, V8's GC helpers), not only the main one.
  const self = spawnSync('taskset', ['-a', '-cp', '1', String(process.pid)], { encoding: 'utf8' });
  if (self.status !== 0) return { pinned: false, cores, note: `taskset failed: ${self.stderr.trim()}` };
  return { pinned: true, cores, note: 'server on core 0, load generator on core 1' };
}

/**
 * A running server under test.
 * @example const s = await startServer(file, pin); const cpu = await s.cpu(); await s.stop();
 */
export async function startServer(command, args, { pinned, timeoutMs = 15_000, ready = /^listening (\d+)$/ } = {}) {
  // PLUME_BENCH_NODE_ARGS (for example `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to every Node server, to profile one.
  const nodeArgs = command === process.execPath ? (process.env.PLUME_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean) : [];
  const [file, ...rest] = pinned ? ['taskset', '-c', '0', command, ...nodeArgs, ...args] : [command, ...nodeArgs, ...args];
  const child = start(file, rest, { stdout: 'pipe', stderr: 'pipe' });
  const lines = createInterface({ input: child.stdout });
  const waiting = new Map();
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  let nextId = 0;
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
    lines.on('line', (line) => {
      const match = ready.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
        return;
      }
      if (!line.startsWith('{')) return;
      const body = JSON.parse(line);
      waiting.get(body.id)?.(body);
      waiting.delete(body.id);
    });
  });
  const ask = (command) =>
    new Promise((resolve) => {
      const id = String(++nextId);
      waiting.set(id, resolve);
      child.stdin.write(`${command} ${id}\n`);
    });
  return {
    port,
    pid: child.pid,
    /** Sends a control line (`<command> <id>`) and resolves with the JSON line that answers its id. */
    ask,
    /** Server CPU time so far, in seconds (user + system). */
    cpu: async () => {
      const { user, system } = await ask('cpu');
      return (user + system) / 1e6;
    },
    /**
     * Server CPU time so far, in seconds, split into user (JavaScript, V8) and system (the kernel,
     * mostly socket writes), and the minor page faults so far (first touches of fresh memory).
     */
    cpuSplit: async () => {
      const { user, system, faults } = await ask('cpu');
      return { user: user / 1e6, system: system / 1e6, faults };
    },
    /** RSS and heap after two full GCs, in bytes. */
    memory: () => ask('mem'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (nodeArgs.length > 0) {
        // A profiled server must exit by itself to write its profile: it does when stdin ends.
        child.stdin.end();
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      }
      killGroup(child, 'SIGKILL');
      await exited;
    },
  };
}
