/**
 * Durable sends as people live them, in the demo chat: messages written
 * offline, across reloads and from two tabs arrive once each, in order, and
 * the app says honestly where each one is. The server crash is in
 * outbox-crash.spec.ts (it needs the server in a child process).
 *
 * Each test uses a room of its own, so the server's history (kept for the
 * whole worker) never leaks between tests. A network drop is simulated as
 * ENVIRONMENT.md says: `context.setOffline(true)` does not close an open
 * WebSocket, so the server also drops the person's sockets (or, for a drop
 * the browser does not notice, `routeWebSocket` holds the reconnects).
 * A message sent last by the other side is the barrier after which nothing
 * more may arrive (one topic's messages arrive in order).
 */
import { ok, refuse } from '../server/index.ts';
import { test, expect } from './fixtures';
import { APP_SOCKET, bodies, expectConnection, goOffline, launchWithoutLocalNetworkChecks, say, serveAppWhileOffline, signIn, tag, texts, withStatus } from './people';

// The first test reloads a page served by serveAppWhileOffline (see launchWithoutLocalNetworkChecks).
test.use({ launchOptions: launchWithoutLocalNetworkChecks() });

test.describe('durable sends', () => {
  test('messages written offline survive a reload and arrive once, in order, when back online', async ({ openPages, stack }) => {
    const t = tag();
    const [alice, bob] = await openPages(2, `/#/offline-${t}`);
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');
    await say(bob!, `Before ${t}`);
    await expect(bodies(alice!)).toHaveText([`Before ${t}`]);

    await goOffline(alice!.context(), stack, 'Alice');
    await expectConnection(alice!, 'offline');
    await expect(alice!.getByTestId('connection-banner')).toContainText('You are offline');
    const offline = texts(`Offline ${t}`, 5);
    for (const text of offline) await say(alice!, text);
    // Shown at once, marked queued, and counted.
    await expect(withStatus(alice!, 'queued')).toHaveCount(5);
    await expect(bodies(alice!)).toHaveText([`Before ${t}`, ...offline]);
    await expect(alice!.getByTestId('outbox-count')).toHaveText('5 messages waiting to send');
    await expect(alice!.getByTestId('connection-banner')).toContainText('5 messages saved on this device');

    // Reloaded while still offline: the transcript and the queued messages come back.
    const stopServing = await serveAppWhileOffline(alice!.context(), stack.appUrl);
    await alice!.reload();
    await expectConnection(alice!, 'offline');
    await expect(bodies(alice!)).toHaveText([`Before ${t}`, ...offline]);
    await expect(withStatus(alice!, 'queued')).toHaveCount(5);
    await expect(alice!.getByTestId('outbox-count')).toHaveText('5 messages waiting to send');
    await stopServing();

    await alice!.context().setOffline(false);
    await expectConnection(alice!, 'connected', 15_000);
    await expect(bodies(bob!)).toHaveText([`Before ${t}`, ...offline], { timeout: 15_000 });
    await expect(withStatus(alice!, 'sent')).toHaveCount(5);
    await expect(alice!.getByTestId('outbox-count')).toBeHidden();

    await say(bob!, `After ${t}`);
    await expect(bodies(alice!)).toHaveText([`Before ${t}`, ...offline, `After ${t}`]);
    await expect(bodies(bob!)).toHaveText([`Before ${t}`, ...offline, `After ${t}`]);
  });

  test('someone cut off while another sends 20 gets all 20 when back, in order, once', async ({ openPages, stack }) => {
    test.setTimeout(90_000); // twenty messages typed one by one, and a reconnect with backoff
    const t = tag();
    const [alice, bob] = await openPages(2, `/#/cut-off-${t}`);
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');

    // A drop the browser does not notice: Bob's socket dies and reconnects fail until released.
    let holding = true;
    await bob!.routeWebSocket(APP_SOCKET, (ws) => {
      if (holding) ws.close({ code: 1011, reason: 'held by the test' });
      else ws.connectToServer();
    });
    expect(stack.server.disconnect((s) => s.assigns.name === 'Bob')).toBe(1);
    await expectConnection(bob!, 'reconnecting');
    await expect(bob!.getByTestId('connection-banner')).toContainText('Reconnecting');

    const sent = texts(`Burst ${t}`, 20);
    for (const text of sent) await say(alice!, text);
    await expect(withStatus(alice!, 'sent')).toHaveCount(20);
    await expect(bodies(bob!)).toHaveCount(0);

    holding = false;
    await expectConnection(bob!, 'connected', 15_000);
    await expect(bodies(bob!)).toHaveText(sent);
    await say(alice!, `Barrier ${t}`);
    await expect(bodies(bob!)).toHaveText([...sent, `Barrier ${t}`]);

    // A newcomer's first visit shows the recent history.
    const [carol] = await openPages(1, `/#/cut-off-${t}`);
    await signIn(carol!, 'Carol');
    await expect(bodies(carol!)).toHaveText([...sent, `Barrier ${t}`]);
  });

  test('two tabs of one person with queued messages: each message is delivered once', async ({ openPages, stack }) => {
    const t = tag();
    const path = `/#/two-tabs-${t}`;
    const [alice, bob] = await openPages(2, path);
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');
    // Same browser context: same storage, so the same person and the same outbox.
    const alice2 = await alice!.context().newPage();
    await alice2.goto(path);
    await expectConnection(alice2, 'connected');
    await expect(alice2.getByTestId('current-name')).toHaveText('Alice');

    await goOffline(alice!.context(), stack, 'Alice');
    await expectConnection(alice!, 'offline');
    await expectConnection(alice2, 'offline');
    const written: string[] = [];
    for (let i = 1; i <= 3; i++) {
      written.push(`Tab one ${i} ${t}`);
      await say(alice!, written.at(-1)!);
      written.push(`Tab two ${i} ${t}`);
      await say(alice2, written.at(-1)!);
    }
    // The outbox is shared: both tabs show all six, queued, in the order written.
    for (const tab of [alice!, alice2]) {
      await expect(bodies(tab)).toHaveText(written);
      await expect(withStatus(tab, 'queued')).toHaveCount(6);
      await expect(tab.getByTestId('outbox-count')).toHaveText('6 messages waiting to send');
    }

    await alice!.context().setOffline(false);
    await expect(bodies(bob!)).toHaveText(written, { timeout: 15_000 });
    for (const tab of [alice!, alice2]) await expect(withStatus(tab, 'sent')).toHaveCount(6);
    await say(bob!, `Barrier ${t}`);
    for (const page of [alice!, alice2, bob!]) await expect(bodies(page)).toHaveText([...written, `Barrier ${t}`]);
  });

  test('a message the server refuses shows why, stays across a reload, and Discard removes it', async ({ openPages, stack }) => {
    const t = tag();
    const room = `strict-${t}`;
    stack.server.channel(`room:${room}`, { handleIn: () => refuse('this room is read-only right now') });
    const [alice, bob] = await openPages(2, `/#/${room}`);
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');

    await say(alice!, `Discard me ${t}`);
    await say(alice!, `Keep me ${t}`);
    await expect(withStatus(alice!, 'failed')).toHaveCount(2);
    const refused = alice!.getByTestId('message').filter({ hasText: `Discard me ${t}` });
    await expect(refused.getByTestId('message-status')).toHaveText('Not sent');
    await expect(refused.getByTestId('failure-reason')).toHaveText('this room is read-only right now');
    await expect(refused.getByTestId('retry')).toBeVisible();
    await expect(alice!.getByTestId('outbox-count')).toBeHidden();

    // Refused messages stay in the outbox until the person decides: a reload shows them again.
    await alice!.reload();
    await expectConnection(alice!, 'connected');
    await expect(withStatus(alice!, 'failed')).toHaveCount(2);
    await expect(bodies(alice!)).toHaveText([`Discard me ${t}`, `Keep me ${t}`]);

    await refused.getByTestId('discard').click();
    await expect(bodies(alice!)).toHaveText([`Keep me ${t}`]);
    await alice!.reload();
    await expect(bodies(alice!)).toHaveText([`Keep me ${t}`]);
    await expect(bodies(bob!)).toHaveCount(0);
  });

  test('Retry sends a refused message again once the server accepts it', async ({ openPages, stack }) => {
    const t = tag();
    const room = `gated-${t}`;
    let open = false;
    stack.server.channel(`room:${room}`, {
      handleIn(event, payload, socket) {
        if (!open) return refuse('this room is read-only right now');
        socket.broadcast(event, payload);
        return ok();
      },
    });
    const [alice, bob] = await openPages(2, `/#/${room}`);
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');
    await say(alice!, `Retry me ${t}`);
    await expect(withStatus(alice!, 'failed')).toHaveCount(1);

    open = true;
    await alice!.getByTestId('retry').click();
    await expect(bodies(bob!)).toHaveText([`Retry me ${t}`]);
    await expect(withStatus(alice!, 'sent')).toHaveCount(1);
  });
});
