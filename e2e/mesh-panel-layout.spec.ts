/**
 * The peer relay panel at the window widths people use: open, it never
 * covers a message in view (beside the conversation where there is room,
 * above it otherwise), and none of its text is cut off.
 */
import { test, expect } from './fixtures';
import { say, signIn, tag } from './people';

const WIDTHS = [1440, 1280, 1180, 1024, 900, 800, 390];

test('the open relay panel covers no message at any width, and cuts no text', async ({ openPages }) => {
  const [alice] = await openPages(1, `/#/panel-${tag()}`);
  await signIn(alice!, 'Alice');
  for (let i = 1; i <= 12; i++) await say(alice!, `Message number ${i}, long enough to reach across a good part of the column`);
  await alice!.getByTestId('mesh-button').click();
  await expect(alice!.getByTestId('mesh-panel')).toBeVisible();

  for (const width of WIDTHS) {
    await alice!.setViewportSize({ width, height: 760 });
    await expect(alice!.getByTestId('mesh-panel')).toBeVisible();
    const covered = await alice!.evaluate(() => {
      type Box = { left: number; right: number; top: number; bottom: number };
      const box = (selector: string): Box => document.querySelector(selector)!.getBoundingClientRect();
      const overlaps = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      const panel = box('[data-testid="mesh-panel"]');
      const scroller = box('[data-testid="message-scroller"]');
      // The part of each bubble the scroller shows: what scrolled out of it is not covered, just out of view.
      return [...document.querySelectorAll('.msg__bubble')]
        .map((bubble) => bubble.getBoundingClientRect())
        .filter((bubble) => overlaps(bubble, scroller))
        .map((b) => ({ left: Math.max(b.left, scroller.left), right: Math.min(b.right, scroller.right), top: Math.max(b.top, scroller.top), bottom: Math.min(b.bottom, scroller.bottom) }))
        .filter((shown) => overlaps(shown, panel)).length;
    });
    expect(covered, `messages under the panel in a ${width} px window`).toBe(0);
    const cut = await alice!.locator('[data-testid="mesh-panel"] .mesh-tile__note').evaluateAll((notes) => notes.filter((note) => note.scrollWidth > note.clientWidth).map((note) => note.textContent));
    expect(cut, `tile notes cut off in a ${width} px window`).toEqual([]);
  }
});
