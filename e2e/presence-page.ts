/**
 * What a person sees of presence in the demo, for the presence specs: the
 * online list (keys in order, the count) and every person whose item ever
 * leaves it (recorded in the page by a MutationObserver, with the time).
 */
import type { Page } from '@playwright/test';
import { expect } from './fixtures';

declare global {
  interface Window {
    /** People whose item left the online list, with when (set up by `watchLeaves`). */
    __leaves?: Array<{ key: string; at: number }>;
  }
}

/** A fresh room per test, so people left over from another test are never in it. */
export function freshRoom(): string {
  return `presence-${Math.random().toString(36).slice(2, 8)}`;
}

export async function signIn(page: Page, name: string): Promise<void> {
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('name-input').press('Enter');
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
}

/** The keys in a page's online list, in order. */
export function online(page: Page): Promise<string[]> {
  return page.getByTestId('online-item').evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.key ?? ''));
}

/** Waits until `page` lists exactly `names` (in any order) and says how many are online. */
export async function expectOnline(page: Page, names: string[], timeout?: number): Promise<void> {
  await expect.poll(async () => (await online(page)).sort(), { timeout }).toEqual([...names].sort());
  await expect(page.getByTestId('online-count')).toHaveText(`${names.length} online`);
}

/**
 * Waits until `page` shows `names` as the room's last known people, plainly
 * not live: the panel greyed (`data-live="false"`), the header saying when
 * they were seen ("2 seen at 14:05") rather than "2 online", and the panel's
 * note matching `note` (why it is not live).
 */
export async function expectNotLive(page: Page, names: string[], note: RegExp): Promise<void> {
  await expect.poll(async () => (await online(page)).sort()).toEqual([...names].sort());
  await expect(page.getByTestId('online-panel')).toHaveAttribute('data-live', 'false');
  await expect(page.getByTestId('online-count-label')).toHaveText(new RegExp(`^${names.length} seen at \\d{2}:\\d{2}$`));
  await expect(page.getByTestId('online-stale')).toBeVisible();
  await expect(page.getByTestId('online-stale')).toHaveText(note);
}

/** Records in the page every person whose item leaves the online list from now on. */
export async function watchLeaves(page: Page): Promise<void> {
  await page.evaluate(() => {
    window.__leaves = [];
    new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.removedNodes) if (node instanceof HTMLElement) window.__leaves?.push({ key: node.dataset.key ?? '', at: Date.now() });
      }
    }).observe(document.querySelector('[data-testid="online-list"]') as Node, { childList: true });
  });
}

export function leaves(page: Page): Promise<Array<{ key: string; at: number }>> {
  return page.evaluate(() => window.__leaves ?? []);
}

/** Opens three people in `room`, each signed in and seeing all three online. */
export async function threePeople(openPages: (n: number, path?: string) => Promise<Page[]>, room: string): Promise<Page[]> {
  const pages = await openPages(3, `/#/${room}`);
  const names = ['Alice', 'Bob', 'Carol'];
  for (const [i, page] of pages.entries()) await signIn(page, names[i]!);
  for (const page of pages) await expectOnline(page, names);
  return pages;
}
