/**
 * Presence in the demo as people see it: three people in their own browser
 * contexts, each watching the room's online list. A join shows up for the
 * others, typing is shown, and a closed tab leaves once the grace period is
 * over. (A reconnect or reload within it: presence-reconnect.spec.ts.)
 */
import { test, expect } from './fixtures';
import { expectOnline, freshRoom, leaves, signIn, threePeople, watchLeaves } from './presence-page';

/** Short, so a closed tab's leave is seen within a test's time. */
const SHORT_GRACE_MS = 2_000;
test.use({ serverOptions: { presenceGraceMs: SHORT_GRACE_MS } });

test.describe('presence', () => {
  test('a person who joins shows up for the others, with the count', async ({ openPages }) => {
    const room = freshRoom();
    const [alice, bob, carol] = await openPages(3, `/#/${room}`);
    await signIn(alice!, 'Alice');
    await expectOnline(alice!, ['Alice']);
    await expect(alice!.getByTestId('online-item').filter({ hasText: 'Alice' }).getByTestId('online-note')).toHaveText('you');

    await signIn(bob!, 'Bob');
    await expectOnline(alice!, ['Alice', 'Bob']);
    await expectOnline(bob!, ['Alice', 'Bob']);

    await signIn(carol!, 'Carol');
    for (const page of [alice!, bob!, carol!]) await expectOnline(page, ['Alice', 'Bob', 'Carol']);
    await expect(alice!.getByTestId('online-heading-count')).toHaveText('3');
  });

  test('someone typing is shown to the others, and stops being shown when they send', async ({ openPages }) => {
    const [alice, bob] = await threePeople(openPages, freshRoom());
    await bob!.getByTestId('composer').pressSequentially('Hello the', { delay: 15 });
    await expect(alice!.getByTestId('typing-indicator')).toHaveText('Bob is typing…');
    await expect(alice!.getByTestId('online-item').filter({ hasText: 'Bob' }).getByTestId('online-status')).toHaveText('typing…');
    await expect(bob!.getByTestId('typing-indicator')).toHaveAttribute('data-active', 'false'); // not shown to Bob himself

    await bob!.getByTestId('composer').press('Enter');
    await expect(alice!.getByTestId('typing-indicator')).toHaveAttribute('data-active', 'false');
    await expect(alice!.getByTestId('online-item').filter({ hasText: 'Bob' }).getByTestId('online-status')).toHaveText('');
  });

  test('a closed tab is shown leaving once the grace period is over, not before', async ({ openPages }) => {
    const [alice, bob, carol] = await threePeople(openPages, freshRoom());
    await watchLeaves(alice!);
    await watchLeaves(bob!);

    const closedAt = Date.now();
    await carol!.context().close();

    await expectOnline(alice!, ['Alice', 'Bob'], SHORT_GRACE_MS + 10_000);
    await expectOnline(bob!, ['Alice', 'Bob'], SHORT_GRACE_MS + 10_000);
    for (const page of [alice!, bob!]) {
      const [leave, ...more] = await leaves(page);
      expect(more).toEqual([]);
      expect(leave?.key).toBe('Carol');
      // Not before: she could have come back until then (the page's clock and ours are the machine's).
      expect(leave!.at - closedAt).toBeGreaterThanOrEqual(SHORT_GRACE_MS - 50);
    }
  });
});
