/**
 * The online list while this person is not connected, as they see it: it
 * must not pass off the last list it had as live. Offline, reconnecting and
 * after a reload while offline it shows the people last seen, greyed, with
 * the time, and says why; once connected again it is live.
 */
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { APP_SOCKET, expectConnection, goOffline, launchWithoutLocalNetworkChecks, serveAppWhileOffline } from './people';
import { expectNotLive, expectOnline, freshRoom, signIn } from './presence-page';

// The offline reload is served by serveAppWhileOffline (see launchWithoutLocalNetworkChecks).
test.use({ launchOptions: launchWithoutLocalNetworkChecks() });

async function expectLive(page: Page, names: string[]): Promise<void> {
  await expectOnline(page, names);
  await expect(page.getByTestId('online-panel')).toHaveAttribute('data-live', 'true');
  await expect(page.getByTestId('online-stale')).toBeHidden();
}

test.describe('presence while not connected', () => {
  test('offline, the online list says it is not live, the same after a reload, and is live again once back', async ({ openPages, stack }) => {
    test.setTimeout(60_000); // a reload, and a reconnect with backoff
    const room = freshRoom();
    const [alice, bob] = await openPages(2, `/#/${room}`);
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');
    await expectLive(alice!, ['Alice', 'Bob']);

    await goOffline(alice!.context(), stack, 'Alice');
    await expectConnection(alice!, 'offline');
    await expectNotLive(alice!, ['Alice', 'Bob'], /offline/i);

    const stopServing = await serveAppWhileOffline(alice!.context(), stack.appUrl);
    await alice!.reload();
    await expectConnection(alice!, 'offline');
    await expectNotLive(alice!, ['Alice', 'Bob'], /offline/i);
    await stopServing();

    await alice!.context().setOffline(false);
    await expectConnection(alice!, 'connected', 15_000);
    await expectLive(alice!, ['Alice', 'Bob']);
    await expectLive(bob!, ['Alice', 'Bob']);
  });

  test('while reconnecting, the list says so instead of showing green dots', async ({ openPages, stack }) => {
    const room = freshRoom();
    const [alice, bob] = await openPages(2, `/#/${room}`);
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');
    await expectLive(bob!, ['Alice', 'Bob']);

    // A drop the browser does not notice: reconnects fail until released.
    let holding = true;
    await bob!.routeWebSocket(APP_SOCKET, (ws) => {
      if (holding) ws.close({ code: 1011, reason: 'held by the test' });
      else ws.connectToServer();
    });
    expect(stack.server.disconnect((s) => s.assigns.name === 'Bob')).toBe(1);
    await expectConnection(bob!, 'reconnecting');
    await expectNotLive(bob!, ['Alice', 'Bob'], /reconnecting/i);

    holding = false;
    await expectConnection(bob!, 'connected', 15_000);
    await expectLive(bob!, ['Alice', 'Bob']);
  });
});
