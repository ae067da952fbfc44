import { defineConfig } from '@playwright/test';
import type { StackOptions } from './e2e/fixtures.ts';
import { locateChromium } from './scripts/lib/browser.mjs';

// Run through `npm run test:e2e` (scripts/e2e.mjs), which resolves Chromium
// into CHROMIUM_PATH and builds demo/dist first. Running Playwright directly
// also works: the same lookup runs here, without the CI-only apt install.
const executablePath = locateChromium()?.path; // CHROMIUM_PATH first; throws if it names a missing file
if (!executablePath) {
  throw new Error('No Chromium found. Install one (apt-get install -y chromium) or set CHROMIUM_PATH; `npm run test:e2e` explains more.');
}

export default defineConfig<StackOptions>({
  testDir: 'e2e',
  // Two cores: one worker, so the browsers, Vite and the server do not starve each other.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: process.env.CI === 'true',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  globalTimeout: process.env.CI === 'true' ? 20 * 60_000 : undefined,
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // Plain IP candidates instead of .local names: deterministic WebRTC between contexts.
        '--disable-features=WebRtcHideLocalIpsWithMdns',
      ],
    },
    trace: 'retain-on-first-failure',
    screenshot: 'only-on-failure',
    actionTimeout: 10_000,
    navigationTimeout: 15_000,
  },
  projects: [
    // The app from the Vite dev server, /socket proxied to Plume.
    { name: 'dev', use: { mode: 'dev' } },
    // The production build (demo/dist) served by the Plume server itself.
    { name: 'prod', use: { mode: 'prod' } },
  ],
});
