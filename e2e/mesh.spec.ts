/**
 * Peer-assisted fan-out in real Chromium: four people, each in their own
 * browser context, chat in one room with the mesh on (WebRTC data channels
 * between the contexts, host candidates only). With four members and the
 * default degree of 4, everyone links to everyone, and the server sends each
 * message to one member, which passes it on to the other three (the stack
 * runs the server as `npm start` does, relaying from a room's second member;
 * with the default `minRelayed` of 4 a room of four would not relay).
 *
 * The mesh's state is read from the demo's mesh panel (`mesh-panel.ts`).
 */
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { counters, MESH_TIMEOUT_MS, routes, settled } from './mesh-panel';
import { expectEachSendersOrder, expectSameConversation, say, signIn, tag } from './people';

const NAMES = ['Ada', 'Bob', 'Cy', 'Dee'];

/**
 * Four people signed in to a fresh room, waiting until the mesh has formed
 * and its plan has stopped changing: one page forwards to the three others,
 * and each page's role is the same on two reads further apart than the
 * panel's refresh (1 s). Every page can show its links up while the server
 * still waits (50 ms) on a last link report, after which it may plan another
 * page as the one it sends to; a test that picked its relay on the plan
 * before would be looking at the wrong page.
 */
async function fourInAMesh(openPages: (n: number, path?: string) => Promise<Page[]>): Promise<Page[]> {
  const pages = await openPages(4, `/#/mesh-${tag()}`);
  for (const [i, page] of pages.entries()) await signIn(page, NAMES[i]!);
  const signedIn = Date.now();
  await expect.poll(() => routes(pages), { timeout: MESH_TIMEOUT_MS, message: 'the mesh to form' }).toEqual(settled(4));
  let previous = '';
  await expect
    .poll(async () => {
      const roles = JSON.stringify((await Promise.all(pages.map(counters))).map((c) => `${c.route}/${c.peersUp}/${c.forwardTo}`));
      const stable = roles === previous;
      previous = roles;
      return stable && [...(JSON.parse(roles) as string[])].sort().join(' ') === 'direct/3/3 relayed/3/0 relayed/3/0 relayed/3/0';
    }, { intervals: [1_500], timeout: MESH_TIMEOUT_MS, message: 'the plan to stop changing' })
    .toBe(true);
  test.info().annotations.push({ type: 'mesh formed', description: `${Date.now() - signedIn} ms after the last sign-in (panel refreshes every 1 s)` });
  return pages;
}

test.describe('mesh', () => {
  // Four browser contexts with a few dozen WebRTC links between them, on two cores.
  test.describe.configure({ timeout: 60_000 });

  test('four people chat over the mesh: every message once, in order, most of them relayed by a peer', async ({ openPages, stack }) => {
    const pages = await fourInAMesh(openPages);
    const t = tag();
    const bySender: string[][] = pages.map(() => []);
    // Everyone writes at once, three times: the server orders them, every page must show that order.
    for (let round = 1; round <= 3; round++) {
      await Promise.all(pages.map((page, i) => {
        const text = `${NAMES[i]} ${round} ${t}`;
        bySender[i]!.push(text);
        return say(page, text);
      }));
    }
    const order = await expectSameConversation(pages, bySender.flat());
    expectEachSendersOrder(order, bySender);

    // One page heard the server and passed every message on to the three others.
    await expect.poll(async () => (await Promise.all(pages.map(counters))).map((c) => [c.route, c.forwardTo, c.receivedDirect + c.receivedRelayed]).sort())
      .toEqual([['direct', 3, 12], ['relayed', 0, 12], ['relayed', 0, 12], ['relayed', 0, 12]]);
    const all = await Promise.all(pages.map(counters));
    const relay = all.find((c) => c.route === 'direct')!;
    expect(relay.forwarded).toBeGreaterThanOrEqual(12 * 3);
    for (const c of all.filter((c) => c.route === 'relayed')) expect(c.receivedRelayed).toBe(12);
    expect(all.map((c) => c.forgeries)).toEqual([0, 0, 0, 0]);
    expect(stack.server.stats().mesh?.signatures).toBeGreaterThan(0);

    // And the panel says so in words.
    const relayed = pages[all.findIndex((c) => c.route === 'relayed')]!;
    await relayed.getByTestId('mesh-button').click();
    await expect(relayed.getByTestId('mesh-panel')).toBeVisible();
    await expect(relayed.getByTestId('mesh-route')).toContainText('Passed on by a peer');
    await expect(relayed.getByTestId('mesh-share')).toContainText('100%');
    await expect(relayed.getByTestId('mesh-peer')).toHaveCount(3);
    await expect(relayed.locator('[data-testid="mesh-peer"][data-state="up"]')).toHaveCount(3);
    // The open panel covers none of your own messages (on the right): it moves the conversation aside
    // where the chat column is wide enough, and sits above it where the room's notes made it narrower.
    // Only the part of the message the conversation shows counts: later messages may have scrolled its
    // top out of the conversation, which then hides it, whatever sits above.
    const panelBox = (await relayed.getByTestId('mesh-panel').boundingBox())!;
    const ownBox = (await relayed.locator('[data-testid="message"][data-mine="true"] .msg__bubble').last().boundingBox())!;
    const scrollerBox = (await relayed.getByTestId('message-scroller').boundingBox())!;
    const shownTop = Math.max(ownBox.y, scrollerBox.y);
    const beside = ownBox.x + ownBox.width <= panelBox.x;
    const below = shownTop >= panelBox.y + panelBox.height;
    expect(beside || below, `own message at ${JSON.stringify(ownBox)}, shown from y ${shownTop}, panel at ${JSON.stringify(panelBox)}`).toBe(true);
    const root = pages[all.indexOf(relay)]!;
    await root.getByTestId('mesh-button').click();
    await expect(root.getByTestId('mesh-route')).toContainText('Straight from the server');
    await expect(root.getByTestId('mesh-detail')).toContainText('You pass them on to');
    // What it passed on, in bytes, said in full (it used to be cut off: "1018 B for others so …").
    const passedOn = root.getByTestId('mesh-forwarded').locator('.mesh-tile__note');
    await expect(passedOn).toHaveText(/^\d+(\.\d)? (B|KB) for others$/);
    expect(await passedOn.evaluate((note) => note.scrollWidth <= note.clientWidth)).toBe(true);
    await expect(root.getByTestId('mesh-peer').filter({ hasText: 'gets messages from you' })).toHaveCount(3);
    // Peers are named: members tell each other their names with ephemeral events.
    const rootName = NAMES[pages.indexOf(root)]!;
    await expect.poll(async () => (await root.locator('.mesh-peer__name').allTextContents()).sort()).toEqual(NAMES.filter((n) => n !== rootName));

    // Messages still flow both ways afterwards: a relayed member writes, everyone reads it once.
    await say(relayed, `Last word ${t}`);
    await expectSameConversation(pages, [...bySender.flat(), `Last word ${t}`]);
  });

  test('the relaying page closes mid-chat: the others still get every message, once, in order', async ({ openPages }) => {
    const pages = await fourInAMesh(openPages);
    const all = await Promise.all(pages.map(counters));
    const relay = pages[all.findIndex((c) => c.forwardTo > 0)]!;
    const rest = pages.filter((page) => page !== relay);
    const t = tag();

    await say(relay, `From the relay ${t}`);
    const before = [`From the relay ${t}`];
    await expectSameConversation(pages, before);
    await expect.poll(async () => (await Promise.all(rest.map(counters))).map((c) => c.receivedRelayed)).toEqual([1, 1, 1]);

    // Three people keep writing at once; the relay's tab closes (not awaited) while their messages are on the way.
    const bySender: string[][] = rest.map(() => []);
    let closing: Promise<void> | undefined;
    for (let round = 1; round <= 5; round++) {
      if (round === 2) closing = relay.context().close();
      await Promise.all(rest.map((page, i) => {
        const text = `${NAMES[pages.indexOf(page)]} says ${round} ${t}`;
        bySender[i]!.push(text);
        return say(page, text);
      }));
    }
    await closing;
    const order = await expectSameConversation(rest, [...before, ...bySender.flat()]);
    expectEachSendersOrder(order, bySender);

    // The mesh re-forms among the three that are left, and they keep chatting over it.
    await expect.poll(() => routes(rest), { timeout: MESH_TIMEOUT_MS, message: 'the mesh to re-form' }).toEqual(settled(3));
    await say(rest[0]!, `After the relay left ${t}`);
    await say(rest[2]!, `Still here ${t}`);
    const final = await expectSameConversation(rest, [...before, ...bySender.flat(), `After the relay left ${t}`, `Still here ${t}`]);
    expect(final.slice(0, order.length)).toEqual(order);
    const after = await Promise.all(rest.map(counters));
    test.info().annotations.push({ type: 'repairs', description: after.map((c) => c.repairs).join(', ') });
    expect(after.map((c) => c.forgeries)).toEqual([0, 0, 0]);
  });
});

