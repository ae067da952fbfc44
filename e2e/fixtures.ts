/**
 * Playwright fixtures: the stack under test, started once per worker (so
 * once per project with `workers: 1`) and torn down after it.
 *
 * - `stack`: a Plume server started in this process on a free port, plus the
 *   app. In `dev` mode the app is a Vite dev server (repo vite.config.ts,
 *   `/socket` proxied to Plume); in `prod` mode the Plume server itself serves
 *   the production build in demo/dist, so app and socket share an origin.
 * - The server runs as `npm start` runs it: the defaults, but the mesh
 *   relays from a room's second member (`mesh: { minRelayed: 1 }`).
 * - `serverProcess` (option, default false): run the Plume server as a child
 *   process instead (`node scripts/server.mjs --port P --host 127.0.0.1
 *   --mesh-min-relayed 1 [--static demo/dist]`), so a test can kill it for real with
 *   `stack.kill()` (SIGKILL: no close frames, memory lost) and bring a fresh
 *   one up on the same port with `stack.start()`. Vite's proxy (dev) points
 *   at that port. There is no `stack.server` then, and `serverOptions` do
 *   not apply (the child takes only the CLI's flags). Opt in at the top of a
 *   spec file (a worker option: the file gets a worker of its own):
 *   `test.use({ serverProcess: true })`.
 * - `baseURL` is the app, so `page.goto('/')` opens it.
 * - `openPages(n)`: n pages, each in its own browser context (separate
 *   storage, like separate people), closed after the test.
 *
 * Not responsible for building the demo: scripts/e2e.mjs does that first.
 *
 * @example
 * import { test, expect } from './fixtures';
 * test('two people chat', async ({ openPages, stack }) => {
 *   const [alice, bob] = await openPages(2, '/?room=lobby');
 *   // ...
 *   stack.server.disconnect(() => true, 1001); // drop every socket server-side
 * });
 */
import { test as base, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ViteDevServer } from 'vite';
import { PlumeServer, type ServerOptions } from '../server/index.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'demo', 'dist');

/** Which app the tests run against: the Vite dev server or the production build. */
export type Mode = 'dev' | 'prod';

/** The running stack. `server` changes after `restart()`; the URLs do not. */
export interface Stack {
  readonly mode: Mode;
  /** Where the app is served (no trailing slash). */
  readonly appUrl: string;
  /** The Plume server's own URL, for `/health` (same as `appUrl` in prod). */
  readonly serverUrl: string;
  /** The Plume server's socket endpoint, `ws://…/socket/websocket`. */
  readonly socketUrl: string;
  /** The in-process server; throws with `serverProcess: true`. */
  readonly server: PlumeServer;
  /** False between `stop()` (or `kill()`) and `start()`. */
  readonly running: boolean;
  /** Stops the Plume server: clients see their sockets close (1001) and reconnects fail. */
  stop(): Promise<void>;
  /** Kills the server process with SIGKILL, as a crash would; needs `serverProcess: true`. */
  kill(): Promise<void>;
  /** Starts a fresh Plume server (empty state) on the same port. */
  start(): Promise<void>;
  /** `stop()` then `start()`. */
  restart(): Promise<void>;
}

/** Options a project or a test file (`test.use`) can set. */
export interface StackOptions {
  /** Default `'dev'`; the projects in playwright.config.ts set it. */
  mode: Mode;
  /** Extra options for the Plume server; `logger` defaults to false. */
  serverOptions: ServerOptions;
  /** Run the server as a child process that `stack.kill()` can SIGKILL. Default false. */
  serverProcess: boolean;
}

interface Fixtures {
  /** Opens `n` pages at `path` (default `/`), each in its own context. */
  openPages: (n: number, path?: string) => Promise<Page[]>;
  /** Restarts a server a test left stopped, so the next test gets a running one. */
  restoreServer: void;
}

export const test = base.extend<Fixtures, StackOptions & { stack: Stack }>({
  mode: ['dev', { scope: 'worker', option: true }],
  serverOptions: [{}, { scope: 'worker', option: true }],
  serverProcess: [false, { scope: 'worker', option: true }],

  stack: [
    async ({ mode, serverOptions, serverProcess }, use) => {
      const stack = serverProcess ? await startProcessStack(mode) : await startStack(mode, serverOptions);
      try {
        await use(stack.api);
      } finally {
        await stack.dispose();
      }
    },
    { scope: 'worker', timeout: 60_000 },
  ],

  baseURL: async ({ stack }, use) => use(stack.appUrl),

  restoreServer: [
    async ({ stack }, use) => {
      await use();
      if (!stack.running) await stack.start();
    },
    { auto: true },
  ],

  openPages: async ({ browser, stack }, use) => {
    const contexts: Awaited<ReturnType<typeof browser.newContext>>[] = [];
    await use(async (n, path = '/') => {
      const pages: Page[] = [];
      for (let i = 0; i < n; i++) {
        const context = await browser.newContext({ baseURL: stack.appUrl });
        contexts.push(context);
        const page = await context.newPage();
        page.on('pageerror', (err) => console.error(`[page ${i}] uncaught: ${err.message}`));
        await page.goto(path);
        pages.push(page);
      }
      return pages;
    });
    await Promise.all(contexts.map((c) => c.close()));
  },
});

export { expect } from '@playwright/test';

/** The API key `npm start` would make (one per run there), for the dashboard's requests through Vite's proxy. */
export const E2E_API_KEY = 'e2e-dashboard-api-key-0123456789';

/** What `npm start` sets beyond the server's defaults (scripts/start.mjs): the mesh relays from a room's second member; an API key. */
const DEMO_SERVER_OPTIONS: ServerOptions = { mesh: { minRelayed: 1 }, apiKey: E2E_API_KEY };

async function startStack(mode: Mode, serverOptions: ServerOptions) {
  const staticDir = mode === 'prod' ? prodStaticDir() : undefined;
  const options: ServerOptions = { logger: false, ...DEMO_SERVER_OPTIONS, ...serverOptions, ...(staticDir ? { staticDir } : {}) };
  let server: PlumeServer | undefined = new PlumeServer(options);
  const address = await server.listen(0, '127.0.0.1');
  let vite: ViteDevServer | undefined;
  let appUrl = address.url;
  if (mode === 'dev') {
    vite = await startVite(address.url);
    appUrl = vite.resolvedUrls!.local[0]!.replace(/\/$/, '');
  }

  const stop = async () => {
    const s = server;
    server = undefined;
    await s?.close();
  };
  const startAgain = async () => {
    if (server) throw new Error('stack.start(): the server is already running; call stack.stop() first');
    const fresh = new PlumeServer(options);
    await fresh.listen(address.port, '127.0.0.1');
    server = fresh;
  };
  const api: Stack = {
    mode,
    appUrl,
    serverUrl: address.url,
    socketUrl: address.socketUrl,
    get server() {
      if (!server) throw new Error('stack.server: the server is stopped; call stack.start() first');
      return server;
    },
    get running() {
      return server !== undefined;
    },
    stop,
    kill: () => Promise.reject(new Error('stack.kill() needs the server in a child process: test.use({ serverProcess: true })')),
    start: startAgain,
    restart: async () => {
      await stop();
      await startAgain();
    },
  };
  return {
    api,
    dispose: async () => {
      await vite?.close();
      await stop();
    },
  };
}

/** The stack with the server as a child process (`node scripts/server.mjs`), killable for real. */
async function startProcessStack(mode: Mode) {
  const staticArgs = mode === 'prod' ? ['--static', prodStaticDir() ?? DIST] : [];
  let child: ServerProcess | undefined = await spawnServer(0, staticArgs);
  const { port, url } = child;
  let vite: ViteDevServer | undefined;
  let appUrl = url;
  if (mode === 'dev') {
    vite = await startVite(url);
    appUrl = vite.resolvedUrls!.local[0]!.replace(/\/$/, '');
  }
  const end = async (signal: NodeJS.Signals) => {
    const c = child;
    child = undefined;
    await c?.end(signal);
  };
  const api: Stack = {
    mode,
    appUrl,
    serverUrl: url,
    socketUrl: `${url.replace(/^http/, 'ws')}/socket/websocket`,
    get server(): PlumeServer {
      throw new Error('stack.server: this stack runs the server as a child process (serverProcess: true); use stack.kill() / stack.start()');
    },
    get running() {
      return child !== undefined;
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    start: async () => {
      if (child) throw new Error('stack.start(): the server is already running; call stack.stop() or stack.kill() first');
      child = await spawnServer(port, staticArgs);
    },
    restart: async () => {
      await end('SIGTERM');
      child = await spawnServer(port, staticArgs);
    },
  };
  return {
    api,
    dispose: async () => {
      await vite?.close();
      await end('SIGKILL');
    },
  };
}

interface ServerProcess {
  port: number;
  url: string;
  /** Sends `signal` and resolves once the process has exited. */
  end(signal: NodeJS.Signals): Promise<void>;
}

/** Children still running, killed if this process exits without tearing them down. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts `node scripts/server.mjs` on `port` (0: any) and resolves once it prints where it listens. */
function spawnServer(port: number, extraArgs: string[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'server.mjs'), '--port', String(port), '--host', '127.0.0.1', '--mesh-min-relayed', '1', '--api-key', E2E_API_KEY, ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  let output = '';
  let started = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('did not print "listening on" within 15 s'), 15_000);
    function fail(why: string) {
      if (started) return;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`server process ${why}:\n${output}`));
    }
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+:(\d+))/.exec(output);
      if (!match) return;
      started = true;
      clearTimeout(timer);
      child.stdout!.off('data', read);
      // Keep draining output so the child never blocks on a full pipe.
      child.stdout!.resume();
      resolve({
        port: Number(match[2]),
        url: match[1]!,
        end: async (signal) => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
        },
      });
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening`));
  });
}

/** Vite in this process with the repo's vite.config.ts, proxying `/socket` to Plume. */
export async function startVite(plumeUrl: string): Promise<ViteDevServer> {
  // vite.config.ts reads PLUME_SERVER_URL when it loads, i.e. in createServer.
  const previous = process.env.PLUME_SERVER_URL;
  const previousKey = process.env.PLUME_API_KEY;
  process.env.PLUME_SERVER_URL = plumeUrl;
  process.env.PLUME_API_KEY = E2E_API_KEY;
  try {
    const { createLogger, createServer } = await import('vite');
    // The proxy logs every socket a test drops, reloads away or points at a killed server
    // (ECONNRESET, ECONNREFUSED): expected here, and noise that hides real warnings.
    const logger = createLogger('warn');
    const logError = logger.error.bind(logger);
    logger.error = (msg, options) => {
      if (!/ws proxy (socket )?error/.test(msg)) logError(msg, options);
    };
    const vite = await createServer({
      configFile: join(ROOT, 'vite.config.ts'),
      // No file watching and no hot reload: an edit to the working tree during a run must not
      // reload the pages under test (a reload mid-test looks like an app bug). The run tests the
      // files as they were when each module was first served.
      server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false, watch: null },
      customLogger: logger,
      clearScreen: false,
    });
    await vite.listen();
    return vite;
  } finally {
    if (previous === undefined) delete process.env.PLUME_SERVER_URL;
    else process.env.PLUME_SERVER_URL = previous;
    if (previousKey === undefined) delete process.env.PLUME_API_KEY;
    else process.env.PLUME_API_KEY = previousKey;
  }
}

/** demo/dist when it exists; a clear error when the demo exists but is not built. */
function prodStaticDir(): string | undefined {
  if (existsSync(join(DIST, 'index.html'))) return DIST;
  if (existsSync(join(ROOT, 'demo', 'index.html'))) {
    throw new Error('demo/dist/index.html is missing: run the e2e tests with `npm run test:e2e`, which builds the demo first');
  }
  return undefined; // no demo yet: the prod stack serves only the socket and /health
}
