#!/usr/bin/env node
/**
 * `npm run test:consumer` (a step of `npm test`): Plume used the way an
 * app uses it, from the packed tarball, in a folder outside the repository.
 *
 * 1. `npm pack` (which builds dist/ through `prepack`) into a temporary folder.
 * 2. A fresh app there: `npm install <tarball>`. Plume's own dependencies come
 *    from the npm registry (through npm's cache), as they would for anyone;
 *    the tools the app builds and checks with (vite, typescript, @types/node,
 *    Playwright) are linked from this repository's node_modules, so the step
 *    needs no download of its own beyond Plume's runtime dependencies.
 * 3. The app (scripts/consumer/app, importing `plume`, `plume/durable`,
 *    `plume/mesh`) is built with Vite; a plain Node server (server.mjs, no
 *    TypeScript loader) serves it with `import { PlumeServer } from 'plume/server'`;
 *    two Chromium pages chat through it.
 * 4. `tsc --noEmit` checks check.ts and the app against the emitted types:
 *    with `moduleResolution: bundler` and `skipLibCheck: false` (every
 *    declaration file Plume ships must check), and check.ts with NodeNext
 *    (the `exports` map and the `.js` extensions in the declarations).
 * 5. `npx plume serve --port 0` from the installed package answers /health and
 *    the HTTP API, then stops on SIGTERM.
 *
 * Prints each phase's time; the temporary folder is removed afterwards
 * (kept with --keep).
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findChromium } from './lib/browser.mjs';
import { installCleanup, killGroup, ROOT, run, start } from './lib/proc.mjs';

const node = process.execPath;
/** Tools linked from the repository into the app's node_modules. */
const LINKED = ['vite', 'typescript', '@types/node', '@playwright/test', 'playwright', 'playwright-core'];

function npm(args, cwd) {
  const cli = process.env.npm_execpath;
  return /npm-cli\.js$/.test(cli ?? '') ? run(node, [cli, ...args], { cwd }) : run('npm', args, { cwd });
}

async function phase(name, body) {
  const t0 = performance.now();
  const result = await body();
  console.log(`[consumer] ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

async function must(code, what) {
  if ((await code) !== 0) throw new Error(`${what} failed`);
}

/** Starts `command` and resolves with the child and the first match of `pattern` in its output. */
function startAndWait(command, args, { cwd, env, pattern, timeoutMs = 30_000 }) {
  const child = start(command, args, { cwd, env, stdout: 'pipe', stderr: 'pipe' });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')} printed nothing matching ${pattern} in ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
    const read = (chunk) => {
      output += chunk;
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => output });
      }
    };
    child.stdout.setEncoding('utf8').on('data', read);
    child.stderr.setEncoding('utf8').on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${code}) before it was ready:\n${output}`));
    });
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    killGroup(child, 'SIGTERM');
  });
}

async function chat(appUrl) {
  const { chromium } = await import(pathToFileURL(join(ROOT, 'node_modules', '@playwright', 'test', 'index.mjs')).href);
  const browser = await chromium.launch({ executablePath: await findChromium({ install: true }), args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const pages = [];
    for (const name of ['ada', 'bob']) {
      const page = await (await browser.newContext()).newPage();
      page.on('pageerror', (err) => console.error(`[consumer] ${name}'s page: ${err.message}`));
      await page.goto(`${appUrl}/?name=${name}`);
      await page.locator('#state').filter({ hasText: 'open' }).waitFor({ timeout: 10_000 });
      pages.push(page);
    }
    const [ada, bob] = pages;
    await bob.waitForFunction(() => document.body.dataset.online === '2', undefined, { timeout: 10_000 });
    await ada.fill('#text', 'hello from the packed package');
    await ada.click('button');
    await bob.locator('#messages li', { hasText: 'ada: hello from the packed package' }).waitFor({ timeout: 10_000 });
  } finally {
    await browser.close();
  }
}

async function main() {
  const keep = process.argv.includes('--keep');
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'plume-consumer-'));
  const app = join(dir, 'app');
  try {
    await phase('npm pack (build included)', () => must(npm(['pack', '--silent', '--pack-destination', dir], ROOT), 'npm pack'));
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    cpSync(join(ROOT, 'scripts', 'consumer'), app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'plume-consumer', private: true, type: 'module' }, null, 2));
    await phase('npm install <tarball>', () => must(npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', join(dir, tarball)], app), 'npm install of the tarball'));
    for (const name of LINKED) {
      mkdirSync(join(app, 'node_modules', name, '..'), { recursive: true });
      rmSync(join(app, 'node_modules', name), { recursive: true, force: true });
      symlinkSync(join(ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir');
    }
    await phase('vite build', () => must(run(node, [join(app, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'app', '--outDir', '../dist', '--emptyOutDir', '--logLevel', 'warn'], { cwd: app }), 'vite build of the consumer app'));
    await phase('tsc --noEmit (bundler, NodeNext)', async () => {
      const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
      await must(run(node, [tsc, '--noEmit', '-p', 'tsconfig.json'], { cwd: app }), 'tsc (moduleResolution bundler)');
      await must(run(node, [tsc, '--noEmit', '-p', 'tsconfig.node.json'], { cwd: app }), 'tsc (moduleResolution NodeNext)');
    });
    await phase('server.mjs + two Chromium pages chat', async () => {
      const { child, match } = await startAndWait(node, ['server.mjs'], { cwd: app, pattern: /consumer server on (http:\/\/\S+)/ });
      try {
        await chat(match[1]);
      } finally {
        await stop(child);
      }
    });
    await phase('npx plume serve --port 0', async () => {
      const key = 'consumer-cli-key-0123456789';
      const env = { ...process.env, PLUME_LOG_FORMAT: 'json' };
      const { child, match, output } = await startAndWait('npx', ['--no', 'plume', 'serve', '--port', '0', '--api-key', key], { cwd: app, env, pattern: /listening on (http:\/\/[^\s"]+)/ });
      const health = await fetch(`${match[1]}/health`);
      const topics = await fetch(`${match[1]}/api/topics`, { headers: { authorization: `Bearer ${key}` } });
      // npx itself dies of the signal; the server's own graceful stop shows in its log, and its port then refuses.
      await stop(child);
      const refused = await fetch(`${match[1]}/health`).then(() => false, () => true);
      if (health.status !== 200 || topics.status !== 200 || !/SIGTERM: no new connections/.test(output()) || !refused) {
        throw new Error(`plume serve: /health ${health.status}, /api/topics ${topics.status}, port refused after SIGTERM: ${refused}\n${output()}`);
      }
    });
    console.log(`[consumer] PASS in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } finally {
    if (keep) console.log(`[consumer] kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  installCleanup();
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`[consumer] FAIL: ${err.message}`);
      process.exit(1);
    },
  );
}

export { main as consumer };
