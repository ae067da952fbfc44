/**
 * Presence across a reconnect, as people see it: one person's socket is
 * dropped (or their tab reloaded) and comes back within the grace period;
 * the others never see them leave, and the server holds the very same meta.
 */
import { test, expect } from './fixtures';
import { expectOnline, freshRoom, leaves, threePeople, watchLeaves } from './presence-page';

/** Long, so a reconnect on a loaded machine is surely within it. */
const LONG_GRACE_MS = 30_000;
test.use({ serverOptions: { presenceGraceMs: LONG_GRACE_MS } });

test.describe('presence across a reconnect', () => {
  test('a reconnect within the grace period shows no leave', async ({ openPages, stack }) => {
    const room = freshRoom();
    const [alice, bob, carol] = await threePeople(openPages, room);
    await watchLeaves(alice!);
    await watchLeaves(carol!);
    const before = stack.server.presence.list(`room:${room}`).Bob?.metas;
    expect(before).toHaveLength(1);

    expect(stack.server.disconnect((s) => s.assigns.name === 'Bob')).toBe(1);
    // Bob reconnects and rejoins by himself. He gets a message sent after the drop only once his room
    // is joined again (live or replayed at the join), and he types nothing: his meta has no reason to change.
    await alice!.getByTestId('composer').fill('are you back?');
    await alice!.getByTestId('composer').press('Enter');
    await expect(bob!.getByTestId('message').filter({ hasText: 'are you back?' })).toHaveCount(1);

    // He took over his own presence: the same meta, none lingering that could leave later.
    expect(stack.server.presence.list(`room:${room}`).Bob?.metas).toEqual(before);
    for (const page of [alice!, carol!]) {
      expect(await leaves(page)).toEqual([]);
      await expectOnline(page, ['Alice', 'Bob', 'Carol']);
      await expect(page.getByTestId('online-item').filter({ hasText: 'Bob' }).getByTestId('online-note')).toHaveCount(0); // not "2 tabs"
    }
  });

  test('a reload within the grace period shows no leave (the tab keeps its id)', async ({ openPages, stack }) => {
    const room = freshRoom();
    const [alice, bob, carol] = await threePeople(openPages, room);
    await watchLeaves(alice!);
    await watchLeaves(bob!);
    const before = stack.server.presence.list(`room:${room}`).Carol?.metas;

    await carol!.reload();
    await expect(carol!.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
    await expectOnline(carol!, ['Alice', 'Bob', 'Carol']);

    expect(stack.server.presence.list(`room:${room}`).Carol?.metas).toEqual(before);
    for (const page of [alice!, bob!]) {
      expect(await leaves(page)).toEqual([]);
      await expectOnline(page, ['Alice', 'Bob', 'Carol']);
    }
  });
});
