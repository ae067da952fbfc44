/**
 * Playwright fixtures: the stack under test, started once per worker (so
 * once per project with `workers: 1`) and torn down after it.
 *
 * - `stack`: a Plume server started in this process on a free port, plus the
 *   app. In `dev` mode the app is a Vite dev server (repo vite.config.ts,
 *   `/socket` proxied to Plume); in `prod` mode the Plume server itself serves
 *   the production build in demo/dist, so app and socket share an origin.
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
  readonly server: PlumeServer;
  /** False between `stop()` and `start()`. */
  readonly running: boolean;
  /** Stops the Plume server: clients see their sockets close (1001) and reconnects fail. */
  stop(): Promise<void>;
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

  stack: [
    async ({ mode, serverOptions }, use) => {
      const stack = await startStack(mode, serverOptions);
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

async function startStack(mode: Mode, serverOptions: ServerOptions) {
  const staticDir = mode === 'prod' ? prodStaticDir() : undefined;
  const options: ServerOptions = { logger: false, ...serverOptions, ...(staticDir ? { staticDir } : {}) };
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

/** Vite in this process with the repo's vite.config.ts, proxying `/socket` to Plume. */
async function startVite(plumeUrl: string): Promise<ViteDevServer> {
  // vite.config.ts reads PLUME_SERVER_URL when it loads, i.e. in createServer.
  const previous = process.env.PLUME_SERVER_URL;
  process.env.PLUME_SERVER_URL = plumeUrl;
  try {
    const { createServer } = await import('vite');
    const vite = await createServer({
      configFile: join(ROOT, 'vite.config.ts'),
      server: { host: '127.0.0.1', port: 0, strictPort: true },
      logLevel: 'warn',
      clearScreen: false,
    });
    await vite.listen();
    return vite;
  } finally {
    if (previous === undefined) delete process.env.PLUME_SERVER_URL;
    else process.env.PLUME_SERVER_URL = previous;
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
