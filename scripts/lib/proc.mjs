/**
 * Child processes for the dev scripts: each child is started as the leader
 * of its own process group, so stopping it stops everything it started
 * (vitest's forks, Playwright's browsers, npm's lifecycle shells).
 *
 * Responsible for: starting children, waiting for them, and making sure none
 * survives this process (on normal exit, on SIGINT/SIGTERM, and by sweeping
 * a finished child's group for stragglers). Not responsible for deciding what
 * to run. Only node built-ins: this runs before dependencies are installed.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Children whose process group may still be alive. */
const live = new Set();
let stopping = false;

/**
 * Starts `command` in its own process group.
 *
 * stdin defaults to an open pipe that is never written: programs that stop
 * when stdin ends (the Vite CLI does, see `setupSIGTERMListener` in vite)
 * keep running, and they also end if this process dies without cleanup.
 * A detached child must never read the terminal (it would get SIGTTIN).
 *
 * @example
 * const child = start('node', ['node_modules/vite/bin/vite.js'], { stdout: 'pipe' });
 */
export function start(command, args, { env, stdout = 'inherit', stderr = 'inherit', cwd = ROOT } = {}) {
  const child = spawn(command, args, {
    cwd,
    env: env ?? process.env,
    stdio: ['pipe', stdout, stderr],
    detached: true,
  });
  live.add(child);
  child.once('exit', () => {
    live.delete(child);
    // The leader is gone; anything it left behind in its group is an orphan.
    killGroup(child, 'SIGKILL');
  });
  child.once('error', () => live.delete(child));
  return child;
}

/**
 * Runs `command` to completion with output streamed to this terminal.
 * Resolves with the exit code (128 + n when killed by a signal); rejects only
 * when the command cannot be started at all. With `timeoutMs`, a command
 * still running then is stopped (its whole group) and the result is 124, as
 * with timeout(1): a hung child fails the run instead of holding it forever.
 *
 * @example
 * const code = await run(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit']);
 */
export function run(command, args, { timeoutMs, ...options } = {}) {
  return new Promise((resolve, reject) => {
    const child = start(command, args, options);
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            console.error(`\n[proc] ${[command, ...args].join(' ')} still running after ${Math.round(timeoutMs / 1000)} s: stopping it (a hung process; the output above shows how far it got)`);
            killGroup(child, 'SIGTERM');
            setTimeout(() => killGroup(child, 'SIGKILL'), 5000).unref();
          }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${command}: ${err.message}`, { cause: err }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(timedOut ? 124 : (code ?? 128 + signalNumber(signal)));
    });
  });
}

/** Sends `signal` to a child's whole process group; a group already gone is fine. */
export function killGroup(child, signal = 'SIGTERM') {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    // ESRCH: the group is already empty, which is what we wanted.
    if (err.code !== 'ESRCH') throw err;
  }
}

/**
 * Stops every live child: `signal` first, SIGKILL for whatever is still alive
 * after `graceMs`. Resolves when all leaders have exited.
 */
export async function stopAll(signal = 'SIGTERM', graceMs = 5000) {
  const children = [...live];
  if (children.length === 0) return;
  const exited = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r))));
  for (const child of children) killGroup(child, signal);
  let timer;
  const grace = new Promise((r) => (timer = setTimeout(r, graceMs)));
  await Promise.race([Promise.all(exited), grace]);
  clearTimeout(timer);
  for (const child of children) killGroup(child, 'SIGKILL');
}

/**
 * Installs the process-wide cleanup once: on SIGINT/SIGTERM children get the
 * same signal, then `onSignal(signal)` may return the exit code (default 128+n);
 * on any exit, surviving groups are killed.
 */
export function installCleanup({ onSignal } = {}) {
  if (installCleanup.done) return;
  installCleanup.done = true;
  const handle = async (signal) => {
    if (stopping) return;
    stopping = true;
    await stopAll(signal);
    const code = onSignal ? await onSignal(signal) : undefined;
    process.exit(code ?? 128 + signalNumber(signal));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  process.on('SIGHUP', handle);
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

/** True once a stop signal has been received. */
export function isStopping() {
  return stopping;
}

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal] ?? 1;
}
