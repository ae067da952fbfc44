/**
 * The mesh with the server's own defaults, not the demo's: two people whose
 * browsers link over WebRTC still get every message straight from the
 * server, since a room relays only once its plan reaches `mesh.minRelayed`
 * (4) members through peers. Nothing is signed, nothing is passed on, and
 * the panel says the links work.
 */
import { test, expect } from './fixtures';
import { counters, MESH_TIMEOUT_MS, routes } from './mesh-panel';
import { expectEachSendersOrder, expectSameConversation, say, signIn, tag } from './people';

// `mesh: true` restores the defaults that the stack's demo options (minRelayed 1) override.
test.use({ serverOptions: { mesh: true } });
test.describe.configure({ timeout: 60_000 });

const NAMES = ['Ada', 'Bob'];

test('two linked people still get every message straight from the server', async ({ openPages, stack }) => {
  const pages = await openPages(2, `/#/mesh-${tag()}`);
  for (const [i, page] of pages.entries()) await signIn(page, NAMES[i]!);
  // Linked, and still direct on two reads further apart than the panel's refresh (the plan waits 50 ms on link reports).
  let previous = '';
  await expect
    .poll(async () => {
      const now = (await routes(pages)).join(' ');
      const stable = now === previous;
      previous = now;
      return stable ? now : 'changing';
    }, { intervals: [1_500], timeout: MESH_TIMEOUT_MS, message: 'the link to come up and the plan to settle' })
    .toBe('direct/1 direct/1');

  const t = tag();
  const bySender = NAMES.map((name) => [1, 2, 3].map((n) => `${name} ${n} ${t}`));
  for (let n = 0; n < 3; n++) await Promise.all(pages.map((page, i) => say(page, bySender[i]![n]!)));
  const order = await expectSameConversation(pages, bySender.flat());
  expectEachSendersOrder(order, bySender);
  await expect
    .poll(async () => (await Promise.all(pages.map(counters))).map((c) => [c.route, c.receivedDirect, c.receivedRelayed, c.forwarded]))
    .toEqual([['direct', 6, 0, 0], ['direct', 6, 0, 0]]);
  expect(stack.server.stats().mesh?.signatures).toBe(0); // nothing relayed, so nothing signed

  await pages[0]!.getByTestId('mesh-button').click();
  await expect(pages[0]!.getByTestId('mesh-route')).toContainText('Straight from the server');
  await expect(pages[0]!.getByTestId('mesh-detail')).toContainText('Your peer links work');
});
