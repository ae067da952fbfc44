/**
 * The demo chat app as people use it: each person is a page in their own
 * browser context (own storage, own socket), talking through the real Plume
 * server. Assertions are on what a person sees, with auto-waiting expects.
 */
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';

/** Matches only the app's socket, never Vite's hot-reload socket (closing that reloads the page). */
const APP_SOCKET = /\/socket\/websocket\?/;

/** A short random tag so texts and room names never collide with another test's. */
function tag(): string {
  return Math.random().toString(36).slice(2, 8);
}

/** Picks a display name in the welcome dialog and waits until the app is connected. */
async function signIn(page: Page, name: string): Promise<void> {
  await expect(page.getByTestId('name-dialog')).toBeVisible();
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('name-input').press('Enter');
  await expect(page.getByTestId('name-dialog')).toBeHidden();
  await expect(page.getByTestId('current-name')).toHaveText(name);
  await expectConnection(page, 'connected');
}

async function expectConnection(page: Page, state: 'connected' | 'connecting' | 'reconnecting' | 'offline', timeout?: number): Promise<void> {
  const label = { connected: 'Connected', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline' }[state];
  const status = page.getByTestId('connection-status');
  await expect(status).toHaveAttribute('data-state', state, { timeout });
  await expect(status).toHaveText(label);
}

/** Types a message and sends it with Enter, as a person would. */
async function say(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
  await expect(composer).toHaveValue('');
}

/** The message items showing `text`. */
function messagesWith(page: Page, text: string) {
  return page.getByTestId('message').filter({ hasText: text });
}

/** Waits until `page` shows `text` exactly once, from `sender`, with an HH:MM time. */
async function expectMessage(page: Page, text: string, sender: string): Promise<void> {
  const message = messagesWith(page, text);
  await expect(message).toHaveCount(1);
  await expect(message.getByTestId('message-name')).toHaveText(sender);
  await expect(message.getByTestId('message-body')).toHaveText(text);
  await expect(message.getByTestId('message-time')).toHaveText(/^\d{2}:\d{2}$/);
}

test.describe('chat', () => {
  test('two people chat in real time, each message shown once with its sender', async ({ openPages }) => {
    const [alice, bob] = await openPages(2, '/#/lobby');
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');
    const t = tag();

    await say(alice!, `Hi Bob, Alice here ${t}`);
    await expectMessage(bob!, `Hi Bob, Alice here ${t}`, 'Alice');
    await say(bob!, `Hello Alice! ${t}`);
    await expectMessage(alice!, `Hello Alice! ${t}`, 'Bob');
    // Frames of one topic arrive in order, so by now each sender has also had
    // its own message back from the broadcast: still shown once, as its own.
    await say(alice!, `Good to see you ${t}`);
    await expectMessage(bob!, `Good to see you ${t}`, 'Alice');

    await expectMessage(alice!, `Hi Bob, Alice here ${t}`, 'Alice');
    await expectMessage(bob!, `Hello Alice! ${t}`, 'Bob');
    await expect(messagesWith(alice!, `Hi Bob, Alice here ${t}`)).toHaveAttribute('data-mine', 'true');
    await expect(messagesWith(bob!, `Hi Bob, Alice here ${t}`)).not.toHaveAttribute('data-mine', 'true');
    await expect(alice!.getByTestId('message')).toHaveCount(3);
    await expect(bob!.getByTestId('message')).toHaveCount(3);
  });

  test('a person the server drops sees reconnecting, then connected, and keeps chatting both ways', async ({ openPages, stack }) => {
    const [alice, bob] = await openPages(2, '/#/lobby');
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');
    const t = tag();
    await say(bob!, `Before the drop ${t}`);
    await expectMessage(alice!, `Before the drop ${t}`, 'Bob');

    // Bob reconnects within a few hundred milliseconds, too fast to watch. Hold
    // his new sockets (closed before they open, like a server that is not back
    // yet) until we have seen him reconnecting; his open socket is untouched.
    let holding = true;
    await bob!.routeWebSocket(APP_SOCKET, (ws) => {
      if (holding) ws.close({ code: 1011, reason: 'held by the test' });
      else ws.connectToServer();
    });
    expect(stack.server.disconnect((s) => s.assigns.name === 'Bob')).toBe(1);

    await expectConnection(bob!, 'reconnecting');
    await expect(bob!.getByTestId('connection-banner')).toBeVisible();
    await expect(bob!.getByTestId('connection-banner')).toContainText('Reconnecting');
    await expectConnection(alice!, 'connected');
    // Written while disconnected: it waits, then goes out once Bob is back.
    await say(bob!, `Written while reconnecting ${t}`);
    await expect(messagesWith(bob!, `Written while reconnecting ${t}`)).toHaveAttribute('data-status', 'queued');

    holding = false;
    await expectConnection(bob!, 'connected', 15_000);
    await expect(bob!.getByTestId('connection-banner')).toBeHidden();
    await expectMessage(alice!, `Written while reconnecting ${t}`, 'Bob');
    await expect(messagesWith(bob!, `Written while reconnecting ${t}`)).toHaveAttribute('data-status', 'sent');

    await say(alice!, `Welcome back Bob ${t}`);
    await expectMessage(bob!, `Welcome back Bob ${t}`, 'Alice');
    await say(bob!, `Thanks, I am back ${t}`);
    await expectMessage(alice!, `Thanks, I am back ${t}`, 'Bob');
  });

  test('a room one person creates appears for the other, and both can chat there', async ({ openPages }) => {
    const [alice, bob] = await openPages(2, '/#/lobby');
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');
    const t = tag();
    const room = `book-club-${t}`;

    await alice!.getByTestId('new-room-input').fill(`Book Club ${t}`);
    await alice!.getByTestId('new-room-input').press('Enter');
    await expect(alice!).toHaveURL(new RegExp(`#/${room}$`));
    await expect(alice!.getByTestId('room-title')).toHaveText(room);
    await expect(alice!.getByTestId('empty-title')).toHaveText(`No messages in #${room} yet`);

    const bobsEntry = bob!.getByTestId('room-item').filter({ hasText: room });
    await expect(bobsEntry).toBeVisible();
    await bobsEntry.click();
    await expect(bob!).toHaveURL(new RegExp(`#/${room}$`));
    await expect(bob!.getByTestId('room-title')).toHaveText(room);
    await expect(bob!.getByTestId('empty-title')).toHaveText(`No messages in #${room} yet`);

    await say(bob!, `Bob in the new room ${t}`);
    await expectMessage(alice!, `Bob in the new room ${t}`, 'Bob');
    await say(alice!, `Alice in the new room ${t}`);
    await expectMessage(bob!, `Alice in the new room ${t}`, 'Alice');

    // The lobby did not get them.
    await bob!.getByTestId('room-item').filter({ hasText: 'lobby' }).click();
    await expect(bob!.getByTestId('room-title')).toHaveText('lobby');
    await expect(messagesWith(bob!, `Alice in the new room ${t}`)).toHaveCount(0);
  });
});
