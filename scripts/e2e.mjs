#!/usr/bin/env node
/**
 * `npm run test:e2e -- [playwright args]`: the end-to-end tests in real Chromium.
 *
 * Installs dependencies if needed, resolves Chromium (exported as
 * CHROMIUM_PATH for playwright.config.ts), builds the demo for production
 * (the `prod` project serves demo/dist from the Plume server), then runs
 * Playwright with the given arguments, e.g. `--project=prod -g chat`.
 *
 * Also imported by scripts/test.mjs, which runs `e2e()` in-process so that
 * every child belongs to one supervisor.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureDeps } from './lib/deps.mjs';
import { findChromium } from './lib/browser.mjs';
import { installCleanup, ROOT, run } from './lib/proc.mjs';

const node = process.execPath;

/**
 * Runs the e2e suite and resolves with its exit code.
 * @example const code = await e2e(['--project=dev']);
 */
export async function e2e(args = []) {
  await ensureDeps();
  const chromium = await findChromium({ install: true });
  console.log(`[e2e] Chromium: ${chromium}`);
  const env = { ...process.env, CHROMIUM_PATH: chromium };

  if (existsSync(join(ROOT, 'demo', 'index.html'))) {
    console.log('[e2e] building the demo for production: vite build -> demo/dist');
    const built = await run(node, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { env });
    if (built !== 0) {
      console.error(`[e2e] vite build failed (exit ${built}); the prod project cannot run without demo/dist.`);
      return built;
    }
  } else {
    console.warn('[e2e] demo/index.html does not exist yet: skipping the production build (prod tests get no app).');
  }

  return run(node, ['node_modules/@playwright/test/cli.js', 'test', ...args], { env });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  installCleanup();
  e2e(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`[e2e] ${err.message}`);
      process.exit(1);
    },
  );
}
