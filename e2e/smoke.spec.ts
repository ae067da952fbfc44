/**
 * Smoke tests of the e2e harness itself: Chromium launches, the in-process
 * Plume server answers, the app origin reaches the socket (through Vite's
 * proxy in dev, same origin in prod), and the app's page loads.
 */
import { existsSync } from 'node:fs';
import { WebSocket } from 'ws';
import { test, expect } from './fixtures';

test('the browser reaches the server health check', async ({ page, stack }) => {
  const response = await page.goto(`${stack.serverUrl}/health`);
  expect(response?.status()).toBe(200);
  expect(JSON.parse(await page.locator('body').innerText())).toMatchObject({ status: 'ok' });
});

// From Node rather than a page: without the demo there is no page on the app
// origin to open (Vite answers other navigations with an empty 404), and a
// page faked with page.route() counts as public, so Chromium's Local Network
// Access checks block its sockets to 127.0.0.1.
test('the app origin gets a heartbeat reply over /socket', async ({ stack }) => {
  const ws = new WebSocket(`${stack.appUrl.replace(/^http/, 'ws')}/socket/websocket?vsn=2.0.0&name=smoke`, { origin: stack.appUrl });
  const reply = await new Promise<unknown>((resolve, reject) => {
    ws.once('open', () => ws.send(JSON.stringify([null, '1', 'phoenix', 'heartbeat', {}])));
    ws.once('message', (data) => resolve(JSON.parse(String(data))));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  }).finally(() => ws.close());
  expect(reply).toEqual([null, '1', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
});

test('the app page loads and its origin reaches /socket from the browser', async ({ page }) => {
  test.skip(!existsSync(new URL('../demo/index.html', import.meta.url)), 'no demo/index.html yet');
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  const reply = await page.evaluate(
    () =>
      new Promise<unknown>((resolve, reject) => {
        const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/socket/websocket?vsn=2.0.0&name=smoke`);
        ws.onopen = () => ws.send(JSON.stringify([null, 'smoke', 'phoenix', 'heartbeat', {}]));
        ws.onmessage = (event) => {
          const frame = JSON.parse(String(event.data));
          if (frame[1] !== 'smoke') return;
          resolve(frame);
          ws.close();
        };
        ws.onclose = (event) => reject(new Error(`socket closed ${event.code} ${event.reason}`));
      }),
  );
  expect(reply).toEqual([null, 'smoke', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
});

test('restart() brings a fresh server up on the same URL', async ({ request, stack }) => {
  await stack.restart();
  const health = await request.get(`${stack.serverUrl}/health`);
  expect(await health.json()).toMatchObject({ status: 'ok', sockets: 0 });
});
