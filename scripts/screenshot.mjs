#!/usr/bin/env node
/**
 * `npm run screenshot`: regenerates `docs/demo.png`, the README's picture of
 * the demo, from the real thing: builds the demo, starts the Plume server
 * serving it, opens four people in Chromium who chat in one room over the
 * peer relay and write its shared notes, and photographs one of them with
 * the relay panel open while another types a message and a third is in the
 * notes (their cursor and name show).
 *
 * Only node built-ins at top level: dependencies are installed first.
 */
import { join } from 'node:path';
import { ensureDeps } from './lib/deps.mjs';
import { findChromium } from './lib/browser.mjs';
import { ROOT, installCleanup, run, start, stopAll } from './lib/proc.mjs';

installCleanup();
await ensureDeps();
const chromium = await findChromium();
if ((await run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: ROOT })) !== 0) throw new Error('vite build failed');

// The mesh relays from a room's second member, as under `npm start`.
const server = start(process.execPath, [join(ROOT, 'scripts', 'server.mjs'), '--port', '0', '--mesh-min-relayed', '1', '--static', join(ROOT, 'demo', 'dist')], { stdout: 'pipe', stderr: 'inherit' });
const url = await new Promise((resolve, reject) => {
  let seen = '';
  server.stdout.on('data', (d) => {
    seen += d;
    const match = /listening on (http:\/\/\S+)/.exec(seen);
    if (match) resolve(match[1].replace(/\/$/, ''));
  });
  server.once('exit', (code) => reject(new Error(`server exited (${code})`)));
});

const { chromium: pw } = await import('@playwright/test');
const browser = await pw.launch({ executablePath: chromium, args: ['--no-sandbox', '--disable-gpu', '--disable-features=WebRtcHideLocalIpsWithMdns'] });
try {
  const people = ['Ada', 'Grace', 'Linus', 'Margaret'];
  const pages = [];
  for (const name of people) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 810 } });
    const page = await context.newPage();
    await page.goto(url);
    await page.getByTestId('name-input').fill(name);
    await page.getByTestId('name-input').press('Enter');
    await page.getByTestId('connection-status').and(page.locator('[data-state="connected"]')).waitFor();
    pages.push(page);
  }
  const lines = [
    [0, 'Morning! Is the deploy still on for ten?'],
    [1, 'Yes: the migration ran clean on staging.'],
    [2, 'I will keep an eye on the error rates.'],
    [3, 'Release notes are in the doc, have a look.'],
    [0, 'Great, I will watch the dashboards.'],
  ];
  for (const [who, text] of lines) {
    await pages[who].getByTestId('composer').fill(text);
    await pages[who].getByTestId('composer').press('Enter');
    await pages[0].getByTestId('message-body').filter({ hasText: text }).waitFor();
  }
  // The room's notes: Ada writes them, Grace adds a line and stays in them (her cursor shows to the others).
  const notes = (page) => page.getByTestId('notes-editor').locator('.cm-content');
  await notes(pages[0]).click();
  await pages[0].keyboard.type('Deploy at ten\n- Migration ran clean on staging\n- Watch the error rates for an hour\n- Release notes: ');
  await notes(pages[1]).getByText('Watch the error rates').waitFor();
  await notes(pages[1]).click();
  await pages[1].keyboard.press('Control+End');
  await pages[1].keyboard.type('see the doc');
  await notes(pages[0]).getByText('see the doc').waitFor();
  // Someone typing, and the peer relay panel open on a member who gets messages from a peer if there is one.
  await pages[2].getByTestId('composer').fill('One more thing');
  // Someone whose own messages are few, so the open panel hides little of the conversation (not Grace: she stays in the notes).
  let shot = pages[0];
  for (const page of [pages[3], pages[0]]) {
    await page.getByTestId('mesh-button').click();
    const route = await page.getByTestId('mesh-route').textContent().catch(() => '');
    if (/peer/i.test(route ?? '')) {
      shot = page;
      break;
    }
    await page.getByTestId('mesh-button').click();
  }
  if (shot === pages[0] && !(await shot.getByTestId('mesh-panel').isVisible())) await shot.getByTestId('mesh-button').click();
  // Wait until the senders' typing has cleared everywhere and only Linus shows as typing.
  await shot.getByTestId('typing-indicator').filter({ hasText: /^Linus is typing/ }).waitFor();
  await shot.waitForFunction(() => [...document.querySelectorAll('[data-testid="online-status"]')].filter((e) => /typing/.test(e.textContent ?? '')).length === 1);
  await shot.locator('.cm-ySelectionInfo').filter({ hasText: 'Grace' }).waitFor();
  await shot.screenshot({ path: join(ROOT, 'docs', 'demo.png') });
  console.log('wrote docs/demo.png');
} finally {
  await browser.close();
  await stopAll('SIGTERM');
}
