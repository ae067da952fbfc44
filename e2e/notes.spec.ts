/**
 * A room's shared notes as people live them: two people edit the same
 * sentence at once and end with the same text, each seeing where the other
 * is; one goes offline, both keep typing, the offline one reloads and comes
 * back, and both hold every edit; someone who comes later gets the whole
 * document; and the pane never covers the chat or the relay panel.
 *
 * A network drop is simulated as in outbox.spec.ts (ENVIRONMENT.md):
 * `setOffline` plus the server dropping the person's sockets, and the app's
 * files served by the test for the reload while offline.
 */
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { expectConnection, goOffline, launchWithoutLocalNetworkChecks, say, serveAppWhileOffline, signIn, tag } from './people';

// The offline test reloads a page served by serveAppWhileOffline (see launchWithoutLocalNetworkChecks).
test.use({ launchOptions: launchWithoutLocalNetworkChecks() });

/** The notes' editable area. */
function editor(page: Page) {
  return page.getByTestId('notes-editor').locator('.cm-content');
}

/** The notes' text as the editor holds it, without the others' cursors and names drawn into it. */
function notesText(page: Page): Promise<string> {
  return editor(page).evaluate((content) =>
    [...content.querySelectorAll('.cm-line')]
      .map((line) => {
        const copy = line.cloneNode(true) as Element;
        for (const drawn of copy.querySelectorAll('.cm-ySelectionCaret, .cm-placeholder, .cm-widgetBuffer')) drawn.remove();
        return (copy.textContent ?? '').replace(/\u2060/g, '');
      })
      .join('\n'),
  );
}

async function expectNotes(page: Page, text: string, timeout?: number): Promise<void> {
  await expect.poll(() => notesText(page), { message: 'the notes to read as expected', timeout }).toBe(text);
}

/** Puts the caret `offset` characters into the notes (`{ fromEnd }`: that many before the end) and types `text` key by key. */
async function typeAt(page: Page, offset: number | { fromEnd: number }, text: string): Promise<void> {
  await editor(page).click();
  const fromEnd = typeof offset !== 'number';
  await page.keyboard.press(fromEnd ? 'Control+End' : 'Control+Home');
  for (let i = 0; i < (fromEnd ? offset.fromEnd : offset); i++) await page.keyboard.press(fromEnd ? 'ArrowLeft' : 'ArrowRight');
  await page.keyboard.type(text, { delay: 15 });
}

/** Every page's notes read the same and hold each of `pieces`; returns the text. */
async function expectSameNotes(pages: readonly Page[], pieces: readonly string[], timeout?: number): Promise<string> {
  let texts: string[] = [];
  await expect
    .poll(async () => {
      texts = await Promise.all(pages.map(notesText));
      return { same: texts.every((text) => text === texts[0]), missing: pieces.filter((piece) => !texts[0]!.includes(piece)) };
    }, { message: 'every page to hold the same notes, with every edit', timeout })
    .toEqual({ same: true, missing: [] });
  return texts[0]!;
}

async function expectNotesStatus(page: Page, state: 'offline' | 'syncing' | 'synced', timeout?: number): Promise<void> {
  await expect(page.getByTestId('notes-status')).toHaveAttribute('data-state', state, { timeout });
}

test.describe('shared notes', () => {
  test('two people edit one sentence at once and converge, see each other\'s cursor, and a latecomer gets it all', async ({ openPages }) => {
    const t = tag();
    const [alice, bob] = await openPages(2, `/#/notes-${t}`);
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');
    await expectNotesStatus(alice!, 'synced');
    await expectNotesStatus(bob!, 'synced');

    await typeAt(alice!, 0, 'We meet on Monday.');
    await expectNotes(bob!, 'We meet on Monday.');

    // Both in the same sentence at the same time, keystroke by keystroke.
    await Promise.all([typeAt(alice!, 7, ' everyone'), typeAt(bob!, { fromEnd: 1 }, ' at ten')]);
    const expected = 'We meet everyone on Monday at ten.';
    await expectNotes(alice!, expected);
    await expectNotes(bob!, expected);

    // Each sees the other's cursor with their name, and that they are editing.
    await expect(alice!.locator('.cm-ySelectionInfo')).toHaveText('Bob');
    await expect(bob!.locator('.cm-ySelectionInfo')).toHaveText('Alice');
    await expect(alice!.getByTestId('notes-person').filter({ hasText: 'Bob' })).toHaveAttribute('data-editing', 'true');
    await expect(alice!.getByTestId('notes-person').filter({ hasText: 'Alice (you)' })).toBeVisible();

    // Someone who opens the room later gets the whole document, and the others see them arrive.
    const [carol] = await openPages(1, `/#/notes-${t}`);
    await signIn(carol!, 'Carol');
    await expectNotesStatus(carol!, 'synced');
    await expectNotes(carol!, expected);
    // ...and sees at once who is there and where they are, without waiting for them to move.
    await expect(carol!.getByTestId('notes-person').filter({ hasText: 'Alice' })).toHaveAttribute('data-editing', 'true');
    await expect(carol!.getByTestId('notes-person').filter({ hasText: 'Bob' })).toHaveAttribute('data-editing', 'true');
    await expect.poll(async () => (await carol!.locator('.cm-ySelectionInfo').allTextContents()).sort(), { message: 'the cursors Carol sees' }).toEqual(['Alice', 'Bob']);
    await expect(alice!.getByTestId('notes-person').filter({ hasText: 'Carol' })).toHaveAttribute('data-editing', 'false');
  });

  test('offline edits survive a reload while offline and merge with the others\' when back', async ({ openPages, stack }) => {
    test.setTimeout(60_000); // a reload, and a reconnect with backoff
    const t = tag();
    const [alice, bob] = await openPages(2, `/#/notes-offline-${t}`);
    await signIn(alice!, 'Alice');
    await signIn(bob!, 'Bob');
    await typeAt(alice!, 0, 'Shared start.');
    await expectNotes(bob!, 'Shared start.');

    await goOffline(alice!.context(), stack, 'Alice');
    await expectConnection(alice!, 'offline');
    await expectNotesStatus(alice!, 'offline');
    // Both keep typing.
    await typeAt(alice!, { fromEnd: 0 }, ' Alice offline.');
    await typeAt(bob!, 0, 'Bob online. ');
    await expectNotes(alice!, 'Shared start. Alice offline.');
    await expectNotes(bob!, 'Bob online. Shared start.');

    // Reloaded while still offline: the notes come back from this device, and take more edits.
    const stopServing = await serveAppWhileOffline(alice!.context(), stack.appUrl);
    await alice!.reload();
    await expectConnection(alice!, 'offline');
    await expectNotes(alice!, 'Shared start. Alice offline.');
    await typeAt(alice!, { fromEnd: 0 }, ' After reload.');
    await typeAt(bob!, { fromEnd: 0 }, ' Bob again.');
    await stopServing();

    await alice!.context().setOffline(false);
    await expectConnection(alice!, 'connected', 15_000);
    await expectNotesStatus(alice!, 'synced', 15_000);
    // Both added to the end at once: which comes first is Yjs's choice, the same for both.
    const text = await expectSameNotes([alice!, bob!], ['Bob online. Shared start. ', ' Alice offline. After reload.', ' Bob again.'], 15_000);
    expect(text).toHaveLength('Bob online. Shared start. Alice offline. After reload. Bob again.'.length);
  });

  test('the open notes cover neither the conversation nor the relay panel, at any width', async ({ openPages }) => {
    const [alice] = await openPages(1, `/#/notes-layout-${tag()}`);
    await signIn(alice!, 'Alice');
    for (let i = 1; i <= 6; i++) await say(alice!, `Message number ${i}, long enough to reach across a good part of the column`);
    await typeAt(alice!, 0, 'Agenda');
    await alice!.getByTestId('mesh-button').click();
    for (const width of [1600, 1440, 1280, 1024, 800, 390]) {
      await alice!.setViewportSize({ width, height: 760 });
      await expect(alice!.getByTestId('notes-pane')).toBeVisible();
      await expect(alice!.getByTestId('mesh-panel')).toBeVisible();
      const overlaps = await alice!.evaluate(() => {
        const box = (id: string) => document.querySelector(`[data-testid="${id}"]`)!.getBoundingClientRect();
        const notes = box('notes-pane');
        const cross = (b: DOMRect) => notes.left < b.right && b.left < notes.right && notes.top < b.bottom && b.top < notes.bottom;
        return ['message-scroller', 'mesh-panel', 'composer'].filter((id) => cross(box(id)));
      });
      expect(overlaps, `what the notes cover in a ${width} px window`).toEqual([]);
      const editorBox = await alice!.getByTestId('notes-editor').boundingBox();
      expect(editorBox!.height, `the editor's height in a ${width} px window`).toBeGreaterThan(80);
    }
    // Hidden and shown again from the header.
    await alice!.getByTestId('notes-close').click();
    await expect(alice!.getByTestId('notes-pane')).toBeHidden();
    await alice!.getByTestId('notes-button').click();
    await expectNotes(alice!, 'Agenda');
  });
});
