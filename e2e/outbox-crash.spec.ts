/**
 * Durable sends across a real server crash: the Plume server runs as a child
 * process (`serverProcess: true`), is killed with SIGKILL in the middle of a
 * stream of messages, and a fresh one (empty memory, new epoch) starts on
 * the same port. Queued and unacknowledged messages are sent again and arrive
 * once each, in order; both people are told that history was lost.
 */
import { test, expect } from './fixtures';
import { APP_SOCKET, RESTARTED, bodies, expectConnection, say, signIn, tag, texts, withStatus } from './people';

// A worker of its own: the stack's server is a child process that can be killed.
test.use({ serverProcess: true });

test('queued sends arrive once after the server is killed and restarted, and both sides are told history was lost', async ({ openPages, stack }) => {
  test.setTimeout(90_000); // twenty messages typed one by one, a server start, reconnects with backoff
  const t = tag();
  const [alice, bob] = await openPages(2, `/#/crash-${t}`);
  await signIn(alice!, 'Alice');
  await signIn(bob!, 'Bob');

  const sent = texts(`Stream ${t}`, 20);
  for (const [i, text] of sent.entries()) {
    await say(alice!, text);
    if (i === 3) await expect(bodies(bob!)).toHaveText(sent.slice(0, 4));
    // Mid-stream, once Bob has the 8th: its acknowledgement to Alice may still be on the wire (then it
    // is sent again and must still show once); the rest are written while the server is down. A kill
    // before Bob has it can land between the server's write of Alice's acknowledgement and its write
    // of Bob's copy, and with history in memory only Bob could not recover it (the notice tells him
    // history was lost).
    if (i === 7) {
      await expect(bodies(bob!)).toHaveText(sent.slice(0, 8));
      await stack.kill();
    }
  }
  await expectConnection(alice!, 'reconnecting');
  await expect(withStatus(alice!, 'sent')).not.toHaveCount(20);
  await expect(alice!.getByTestId('outbox-count')).toBeVisible();

  await stack.start();
  await expectConnection(alice!, 'connected', 20_000);
  await expectConnection(bob!, 'connected', 20_000);
  await expect(bodies(bob!)).toHaveText(sent, { timeout: 15_000 });
  await expect(withStatus(alice!, 'sent')).toHaveCount(20);
  await expect(alice!.getByTestId('outbox-count')).toBeHidden();
  // The new server has no history of the old one: neither side may assume it saw everything.
  for (const page of [alice!, bob!]) await expect(page.getByTestId('room-notice')).toHaveText(new RegExp(RESTARTED));

  await say(bob!, `Barrier ${t}`);
  for (const page of [alice!, bob!]) await expect(bodies(page)).toHaveText([...sent, `Barrier ${t}`]);
  await bob!.getByTestId('room-notice-dismiss').click();
  await expect(bob!.getByTestId('room-notice')).toBeHidden();
});

test('messages the crashed server applied but never acknowledged are sent again and still shown once', async ({ openPages, stack }) => {
  test.setTimeout(90_000);
  const t = tag();
  const path = `/#/unacked-${t}`;
  const [alice, bob] = await openPages(2, path);
  await signIn(alice!, 'Alice');
  await signIn(bob!, 'Bob');

  // Alice's socket through a proxy that can lose the server's acknowledgements of her messages.
  let loseAcks = false;
  await alice!.routeWebSocket(APP_SOCKET, (ws) => {
    const server = ws.connectToServer();
    const pushes = new Set<string>();
    // Binary frames (the room's shared notes syncing) pass through untouched: chat messages are text.
    ws.onMessage((frame) => {
      const [, ref, , event] = typeof frame === 'string' ? JSON.parse(frame) as [unknown, string | null, string, string] : [];
      if (event === 'new_msg' && ref) pushes.add(ref);
      server.send(frame);
    });
    server.onMessage((frame) => {
      const [, ref, , event] = typeof frame === 'string' ? JSON.parse(frame) as [unknown, string | null, string, string] : [];
      if (loseAcks && event === 'phx_reply' && ref && pushes.has(ref)) return;
      ws.send(frame);
    });
  });
  await alice!.reload(); // her socket now goes through the proxy
  await expectConnection(alice!, 'connected');

  const acked = texts(`Acked ${t}`, 3);
  for (const text of acked) await say(alice!, text);
  await expect(withStatus(alice!, 'sent')).toHaveCount(3);

  // Applied and broadcast, but Alice never hears that they were: they stay unacknowledged.
  loseAcks = true;
  const unacked = texts(`Unacked ${t}`, 3);
  for (const text of unacked) await say(alice!, text);
  await expect(bodies(bob!)).toHaveText([...acked, ...unacked]);
  await expect(withStatus(alice!, 'sending')).toHaveCount(3);

  await stack.kill();
  const queued = texts(`Queued ${t}`, 3);
  for (const text of queued) await say(alice!, text);
  await expectConnection(alice!, 'reconnecting');
  await expect(withStatus(alice!, 'queued')).toHaveCount(6);
  await expect(alice!.getByTestId('outbox-count')).toHaveText('6 messages waiting to send');

  // The fresh server remembers no ids: it applies the unacknowledged three again, and every
  // receiver must still show each message once.
  loseAcks = false;
  await stack.start();
  const all = [...acked, ...unacked, ...queued];
  await expect(withStatus(alice!, 'sent')).toHaveCount(9, { timeout: 20_000 });
  await say(bob!, `Barrier ${t}`);
  for (const page of [alice!, bob!]) {
    await expect(bodies(page)).toHaveText([...all, `Barrier ${t}`], { timeout: 15_000 });
    await expect(page.getByTestId('room-notice')).toHaveText(new RegExp(RESTARTED));
  }

  // A newcomer gets the new server's history: every message once, the re-applied ones included.
  const [carol] = await openPages(1, path);
  await signIn(carol!, 'Carol');
  await expect(bodies(carol!)).toHaveText([...unacked, ...queued, `Barrier ${t}`]);
});
