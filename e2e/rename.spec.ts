/**
 * A rename as people see it: one person, under a new name. The old name
 * leaves every online list at once (the renamed person's own included),
 * not after the grace period that covers a dropped connection.
 */
import { test, expect } from './fixtures';
import { expectOnline, freshRoom, leaves, signIn, watchLeaves } from './presence-page';

/** Far longer than the expect timeout: an old name still listed after the rename is plainly seen. */
const LONG_GRACE_MS = 30_000;
test.use({ serverOptions: { presenceGraceMs: LONG_GRACE_MS } });

test('after a rename, the old name leaves everyone\'s online list at once', async ({ openPages }) => {
  const room = freshRoom();
  const [alice, bob] = await openPages(2, `/#/${room}`);
  await signIn(alice!, 'Alice');
  await signIn(bob!, 'Bob');
  for (const page of [alice!, bob!]) await expectOnline(page, ['Alice', 'Bob']);
  await watchLeaves(bob!);

  await alice!.getByTestId('change-name').click();
  await alice!.getByTestId('name-input').fill('Alicia');
  await alice!.getByTestId('name-input').press('Enter');
  await expect(alice!.getByTestId('current-name')).toHaveText('Alicia');

  for (const page of [alice!, bob!]) await expectOnline(page, ['Alicia', 'Bob']);
  await expect(alice!.getByTestId('online-item').filter({ hasText: 'Alicia' }).getByTestId('online-note')).toHaveText('you');
  // Bob saw one person change name: Alice left his list once, nobody else did.
  expect((await leaves(bob!)).map((leave) => leave.key)).toEqual(['Alice']);
});
