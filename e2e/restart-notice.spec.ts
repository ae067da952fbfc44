/**
 * After the server restarts and loses its history (memory store), a person
 * is told that messages may be missing only in the rooms where they had
 * messages that may now be incomplete, with what they can do about it; an
 * empty room just stays empty.
 */
import { test, expect } from './fixtures';
import { RESTARTED, expectConnection, say, signIn, tag, withStatus } from './people';

test('after a restart, only a room with history says messages may be missing, and what to do', async ({ openPages, stack }) => {
  const t = tag();
  const busy = `busy-${t}`;
  const quiet = `quiet-${t}`;
  const [alice] = await openPages(1, `/#/${busy}`);
  await signIn(alice!, 'Alice');
  await say(alice!, `Hello ${t}`);
  await expect(withStatus(alice!, 'sent')).toHaveCount(1);
  await alice!.evaluate((room) => (location.hash = `#/${room}`), quiet);
  await expect(alice!.getByTestId('empty-title')).toHaveText(`No messages in #${quiet} yet`);

  await stack.restart();
  // Both rooms joined again on the fresh server, which told them it could not resume them.
  await expect.poll(() => [busy, quiet].map((room) => Object.keys(stack.server.presence.list(`room:${room}`)).join())).toEqual(['Alice', 'Alice']);
  await expectConnection(alice!, 'connected');

  await expect(alice!.getByTestId('empty-title')).toHaveText(`No messages in #${quiet} yet`);
  await expect(alice!.getByTestId('room-notice')).toBeHidden();

  await alice!.evaluate((room) => (location.hash = `#/${room}`), busy);
  const notice = alice!.getByTestId('room-notice');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText(RESTARTED);
  await expect(notice).toContainText('If you were expecting a reply, ask for it again.');
});
