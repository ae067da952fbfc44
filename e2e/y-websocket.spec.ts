/**
 * y-websocket interop in real Chromium (issue 19, PROTOCOL.md §11): a page
 * with the Plume client and a document bound (`plume/yjs`), and a page with
 * an unmodified y-websocket `WebsocketProvider` (server URL `<origin>/yjs`,
 * room name = the Plume room), edit the same text at once and converge,
 * and see each other's awareness. A third y-websocket client in Node (over
 * `ws`, straight to the Plume server) joins late and gets the whole text.
 *
 * The pages are the app's own page with a small harness injected
 * (`yjs-harness.ts`, bundled here with esbuild), so this does not depend on
 * the demo's notes pane.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';
import type { Harness } from './yjs-harness';

let bundle: Promise<string> | undefined;

/** The harness as one script (built once per worker). */
function harnessScript(): Promise<string> {
  bundle ??= build({
    entryPoints: [fileURLToPath(new URL('./yjs-harness.ts', import.meta.url))],
    bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, logLevel: 'error',
  }).then((result) => result.outputFiles[0]!.text);
  return bundle;
}

/** Opens the app page and injects the harness. */
async function withHarness(page: Page): Promise<void> {
  await page.goto('/');
  await page.addScriptTag({ content: await harnessScript() });
}

const call = <K extends keyof Harness>(page: Page, method: K, ...args: Parameters<Harness[K]>) =>
  page.evaluate(([m, a]) => (window as unknown as { harness: Record<string, (...x: unknown[]) => unknown> }).harness[m]!(...a), [method, args] as const) as Promise<Awaited<ReturnType<Harness[K]>>>;

test('a Plume page and a y-websocket page edit the same note at once and converge, with awareness both ways', async ({ openPages, stack }) => {
  const room = `yws-${test.info().project.name}-${Date.now().toString(36)}`;
  const [plume, ywebsocket] = await openPages(2, '/');
  await withHarness(plume!);
  await withHarness(ywebsocket!);
  await call(plume!, 'plume', room, 'Ada');
  await call(plume!, 'insert', 0, 'Hello from Plume.');
  await call(ywebsocket!, 'yWebsocket', room, 'Yuki');
  await expect.poll(() => call(ywebsocket!, 'text')).toBe('Hello from Plume.');

  // Both type into the same sentence at once. Where the Plume edit goes is found when it is made: the
  // y-websocket edit may already have arrived and moved "Hello" along (the two calls are not simultaneous).
  await Promise.all([
    call(plume!, 'insertAfter', 'Hello', ' (plume)'),
    call(ywebsocket!, 'insert', 0, '[y-websocket] '),
  ]);
  await expect.poll(async () => (await call(plume!, 'text')) === (await call(ywebsocket!, 'text'))).toBe(true);
  const merged = await call(plume!, 'text');
  expect(merged).toContain('(plume)');
  expect(merged).toContain('[y-websocket] ');
  expect(merged.length).toBe('Hello from Plume.'.length + ' (plume)'.length + '[y-websocket] '.length);

  await expect.poll(() => call(plume!, 'others')).toContain('Yuki');
  await expect.poll(() => call(ywebsocket!, 'others')).toContain('Ada');

  // A late y-websocket client (in Node, straight to the server) gets the whole note.
  const doc = new Y.Doc();
  const late = new WebsocketProvider(`${stack.serverUrl.replace(/^http/, 'ws')}/yjs`, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket, disableBc: true, params: { name: 'late' },
  });
  try {
    await expect.poll(() => doc.getText('body').toString()).toBe(merged);
  } finally {
    late.destroy();
  }
  // The y-websocket page goes: its cursor leaves the Plume page.
  await ywebsocket!.close();
  await expect.poll(() => call(plume!, 'others')).not.toContain('Yuki');
});
