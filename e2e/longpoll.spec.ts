/**
 * A network that blocks WebSockets: the demo connects over long-poll, chats
 * both ways with a person on WebSockets, and moves to a WebSocket once
 * they get through again, without losing or repeating a message.
 */
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';

/** Matches only the app's socket, never Vite's hot-reload socket. */
const APP_SOCKET = /\/socket\/websocket\?/;

function tag(): string {
  return Math.random().toString(36).slice(2, 8);
}

async function signIn(page: Page, name: string): Promise<void> {
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('name-input').press('Enter');
  await expect(page.getByTestId('current-name')).toHaveText(name);
}

async function say(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
  await expect(composer).toHaveValue('');
}

async function expectOnce(page: Page, text: string, sender: string): Promise<void> {
  const message = page.getByTestId('message').filter({ hasText: text });
  await expect(message).toHaveCount(1);
  await expect(message.getByTestId('message-name')).toHaveText(sender);
}

test('with WebSockets blocked the demo chats over long-poll, then upgrades when they come back', async ({ openPages }) => {
  // Probes refused while blocked wait 5, 10, then 20 s before the next: the move back can take half a minute.
  test.setTimeout(120_000);
  const [alice, bob] = await openPages(2, '/#/lobby');
  // Refused upgrades, as a proxy that blocks WebSockets: the page sees each one close (1006) without opening.
  let blocked = true;
  const upgrades: string[] = [];
  await alice!.routeWebSocket(APP_SOCKET, (ws) => {
    upgrades.push(blocked ? 'refused' : 'passed');
    if (blocked) ws.close({ code: 1006, reason: 'blocked by the network' });
    else ws.connectToServer();
  });
  const polls: string[] = [];
  alice!.on('request', (request) => {
    if (request.url().includes('/socket/longpoll')) polls.push(request.method());
  });

  await signIn(alice!, 'Alice');
  await signIn(bob!, 'Bob');
  const status = alice!.getByTestId('connection-status');
  await expect(status).toHaveAttribute('data-state', 'connected', { timeout: 15_000 });
  await expect(status).toHaveAttribute('data-transport', 'longpoll');
  await expect(status).toHaveText('Connected · long-poll');
  expect(upgrades.filter((u) => u === 'refused').length).toBeGreaterThanOrEqual(2);
  expect(polls).toContain('GET');

  const t = tag();
  await say(alice!, `Over long-poll ${t}`);
  await expectOnce(bob!, `Over long-poll ${t}`, 'Alice');
  await expect(alice!.getByTestId('message').filter({ hasText: `Over long-poll ${t}` })).toHaveAttribute('data-status', 'sent');
  expect(polls).toContain('POST');
  await say(bob!, `To the long-poller ${t}`);
  await expectOnce(alice!, `To the long-poller ${t}`, 'Bob');
  // Presence works over long-poll too: Bob sees Alice in the room.
  await expect(bob!.getByTestId('online-name').filter({ hasText: 'Alice' })).toHaveCount(1);

  blocked = false;
  // Probes come 5 s after the fallback, then 10 and 20 s apart: the next one gets through.
  await expect(status).toHaveAttribute('data-transport', 'websocket', { timeout: 60_000 });
  await expect(status).toHaveAttribute('data-state', 'connected');
  await expect(status).toHaveText('Connected');
  expect(upgrades).toContain('passed');

  await say(alice!, `Over a WebSocket ${t}`);
  await expectOnce(bob!, `Over a WebSocket ${t}`, 'Alice');
  await say(bob!, `Back on WebSockets ${t}`);
  await expectOnce(alice!, `Back on WebSockets ${t}`, 'Bob');
  // Nothing lost or repeated across the move.
  for (const text of [`Over long-poll ${t}`, `To the long-poller ${t}`]) {
    await expectOnce(alice!, text, text.startsWith('Over') ? 'Alice' : 'Bob');
    await expectOnce(bob!, text, text.startsWith('Over') ? 'Alice' : 'Bob');
  }
});
