#!/usr/bin/env node
/**
 * `npm start`: the Plume server and the demo's Vite dev server, together.
 *
 * Installs dependencies if needed, starts `scripts/server.mjs` (port from
 * --port, else PORT, else 4000) and Vite (5173 or the next free port, with
 * `/socket` proxied to Plume via PLUME_SERVER_URL), waits until both answer,
 * then prints where to open the app and the live dashboard. Ctrl-C stops
 * both; if either dies, the other is stopped and this exits non-zero.
 *
 * The dashboard reads the HTTP API and /metrics: each run makes a random API
 * key, gives it to Plume (--api-key) and to Vite's proxy (PLUME_API_KEY),
 * which adds it to the dashboard's requests. Dev only; the key is printed nowhere.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { ensureDeps } from './lib/deps.mjs';
import { installCleanup, isStopping, start, stopAll } from './lib/proc.mjs';

const HOST = '127.0.0.1';
const HELP = `Usage: npm start -- [--port <n>] [--vite-port <n>]

  --port <n>        Plume server port (env PORT; default 4000)
  --vite-port <n>   first port Vite tries (default 5173; it moves on if taken)`;

/** A problem to report in one line, after stopping whatever was started. */
class StartError extends Error {
  code = 'START_FAILED';
}

function fail(message) {
  throw new StartError(message);
}

let shuttingDown = false;

/** Stops both children and exits with `code` (only once). */
async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  await stopAll('SIGTERM');
  process.exit(code);
}

function parsePort(value, what) {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${what} must be a port number from 1 to 65535, got "${value}"`);
  return port;
}

/** Resolves when `port` can be bound on HOST; says plainly when it cannot. */
function checkPortFree(port, hint) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => {
      if (err.code === 'EADDRINUSE') reject(new StartError(`port ${port} on ${HOST} is already in use (another \`npm start\`?). ${hint}`));
      else reject(new StartError(`cannot use port ${port} on ${HOST}: ${err.message}`));
    });
    probe.listen(port, HOST, () => probe.close(() => resolve()));
  });
}

/** Polls `url` until `ok(response)` or the deadline; no sleeping in hope. */
async function waitForHttp(url, what, child, ok = () => true, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (ok(response)) return true;
    } catch {
      // Not listening yet: the deadline below bounds the wait.
    }
    if (Date.now() > deadline) fail(`${what} did not answer at ${url} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Re-emits Vite's output with a prefix and resolves with the URL it prints (null if it exits first). */
function viteUrl(child, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new StartError(`Vite did not print its "Local:" URL within ${timeoutMs / 1000}s`)), timeoutMs);
    child.once('exit', () => clearTimeout(timer));
    let buffered = '';
    const onData = (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        if (line.trim()) process.stdout.write(`[vite] ${line}\n`);
        const match = line.replace(/\x1b\[[0-9;]*m/g, '').trim().match(/Local:\s+(http:\/\/\S+?)\/?$/);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.once('exit', () => resolve(null));
  });
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({ options: { port: { type: 'string' }, 'vite-port': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    fail(`${err.message}\n\n${HELP}`);
  }
  if (values.help) return console.log(HELP);
  const port = parsePort(values.port ?? process.env.PORT ?? '4000', '--port / PORT');
  const vitePort = parsePort(values['vite-port'] ?? '5173', '--vite-port');

  await ensureDeps();
  await checkPortFree(port, `Stop it, or pick another: PORT=${port + 1} npm start`);
  const serverUrl = `http://${HOST}:${port}`;
  const node = process.execPath;
  const apiKey = randomBytes(24).toString('hex');
  const children = {
    // Relaying from the second member on, so two windows show the mesh at work (by default a room relays once four members can be reached through peers).
    plume: start(node, ['scripts/server.mjs', '--port', String(port), '--host', HOST, '--mesh-min-relayed', '1'], { env: { ...process.env, PLUME_API_KEY: apiKey } }),
    vite: start(node, ['node_modules/vite/bin/vite.js', '--host', HOST, '--port', String(vitePort), '--strictPort=false', '--clearScreen=false'], {
      env: { ...process.env, PLUME_SERVER_URL: serverUrl, PLUME_API_KEY: apiKey },
      stdout: 'pipe',
    }),
  };
  for (const [name, child] of Object.entries(children)) {
    child.once('exit', (code, signal) => {
      if (isStopping() || shuttingDown) return;
      console.error(`[start] the ${name === 'plume' ? 'Plume server' : 'Vite dev server'} exited (${signal ?? `code ${code}`}); stopping the rest.`);
      void shutdown(code || 1);
    });
  }

  const appUrl = await viteUrl(children.vite);
  if (!appUrl) return; // Vite exited: its exit handler reports it and stops the server.
  const healthy = await waitForHttp(`${serverUrl}/health`, 'the Plume server', children.plume, (r) => r.ok);
  const served = await waitForHttp(appUrl, 'Vite', children.vite);
  if (healthy && served) console.log(`\n[start] Plume server ${serverUrl}, Vite ${appUrl}; Ctrl-C stops both.\nOpen ${appUrl} in two windows to chat, and ${appUrl}/dashboard.html for the live dashboard\n`);
}

installCleanup({ onSignal: () => 0 });
main().catch((err) => {
  console.error(`[start] ${err instanceof StartError ? err.message : err.stack}`);
  void shutdown(1);
});
