/**
 * What a person does and sees in the demo chat, for the e2e specs: sign in,
 * write, read the conversation and its status markers, and lose the network.
 * Every check is an auto-waiting expect on what is on screen.
 */
import type { BrowserContext, LaunchOptions, Page } from '@playwright/test';
import config from '../playwright.config';
import { expect, type Stack } from './fixtures';

/** Matches only the app's socket, never Vite's hot-reload socket (closing that reloads the page). */
export const APP_SOCKET = /\/socket\/websocket\?/;

/** The start of the notice in a room whose history the server lost in a restart. */
export const RESTARTED = 'Some messages may be missing: the server restarted';

/** A short random tag so texts and room names never collide with another test's. */
export function tag(): string {
  return Math.random().toString(36).slice(2, 8);
}

/** Picks a display name in the welcome dialog and waits until the app is connected. */
export async function signIn(page: Page, name: string): Promise<void> {
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('name-input').press('Enter');
  await expect(page.getByTestId('current-name')).toHaveText(name);
  await expectConnection(page, 'connected');
}

export async function expectConnection(page: Page, state: 'connected' | 'reconnecting' | 'offline', timeout?: number): Promise<void> {
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', state, { timeout });
}

/** Types a message and sends it with Enter, as a person would. */
export async function say(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
  await expect(composer).toHaveValue('');
}

/** The bodies of the messages on screen, in order. */
export function bodies(page: Page) {
  return page.getByTestId('message-body');
}

/** The person's own messages on screen with a given status marker (others' messages are always `sent`). */
export function withStatus(page: Page, status: 'queued' | 'sending' | 'sent' | 'failed') {
  return page.locator(`[data-testid="message"][data-mine="true"][data-status="${status}"]`);
}

/** `count` texts tagged with `label`. */
export function texts(label: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${label} ${i + 1}`);
}

/**
 * Cuts a browser context off the network: offline for the page, and its
 * people's sockets dropped by the server (setOffline alone leaves an open
 * WebSocket alive, its frames held until the network is back). The client
 * may already have closed its socket on the `offline` event, so the server
 * may find none left to drop.
 */
export async function goOffline(context: BrowserContext, stack: Stack, name: string): Promise<void> {
  await context.setOffline(true);
  stack.server.disconnect((s) => s.assigns.name === name);
}

/**
 * The demo has no service worker, so a page reloaded while offline would get
 * the browser's error page. Stand in for a cache of the app's files: fetch
 * them from the test process (not subject to the page's emulated offline
 * state). The app's WebSocket is not routed: it still fails while offline.
 */
export async function serveAppWhileOffline(context: BrowserContext, appUrl: string): Promise<() => Promise<void>> {
  const matcher = (url: URL) => url.href.startsWith(appUrl) && !APP_SOCKET.test(url.href);
  const handler = async (route: Parameters<Parameters<BrowserContext['route']>[1]>[0]) => route.fulfill({ response: await route.fetch() });
  await context.route(matcher, handler);
  return () => context.unroute(matcher, handler);
}

/**
 * The launch options of playwright.config.ts with Chromium's Local Network
 * Access checks off, for a spec that reloads pages with serveAppWhileOffline:
 * a page whose document the test served counts as public to those checks,
 * which then block its socket to 127.0.0.1 once back online
 * (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS). That is an artefact of
 * the stand-in, not of the app. Chromium honours only the last
 * --disable-features, so the flag joins the one already there.
 * @example test.use({ launchOptions: launchWithoutLocalNetworkChecks() });
 */
export function launchWithoutLocalNetworkChecks(): LaunchOptions {
  const launch = config.use!.launchOptions!;
  const disabled = (launch.args ?? []).find((arg) => arg.startsWith('--disable-features='));
  return { ...launch, args: [...(launch.args ?? []).filter((arg) => arg !== disabled), `${disabled ?? '--disable-features='}${disabled ? ',' : ''}LocalNetworkAccessChecks`] };
}

/**
 * Waits until every page shows the same messages, exactly `expected` (in
 * whatever order the server gave them), and returns that order.
 */
export async function expectSameConversation(pages: readonly Page[], expected: readonly string[]): Promise<string[]> {
  let shown: string[][] = [];
  await expect
    .poll(async () => {
      shown = await Promise.all(pages.map((page) => bodies(page).allTextContents()));
      return { same: shown.every((list) => JSON.stringify(list) === JSON.stringify(shown[0])), sorted: [...(shown[0] ?? [])].sort() };
    }, { message: 'every page to show the same messages' })
    .toEqual({ same: true, sorted: [...expected].sort() });
  return shown[0]!;
}

/** Each sender's messages appear in the order that sender wrote them. */
export function expectEachSendersOrder(order: readonly string[], bySender: ReadonlyArray<readonly string[]>): void {
  for (const sent of bySender) expect(order.filter((text) => sent.includes(text))).toEqual(sent);
}
