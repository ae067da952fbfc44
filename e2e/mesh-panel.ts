/**
 * What the demo's mesh panel tells an e2e spec: its root carries the
 * counters of `room.stats()` as `data-*` attributes, refreshed every second.
 */
import type { Page } from '@playwright/test';

/** Mesh links form in well under a second each here; allow for a slow machine. */
export const MESH_TIMEOUT_MS = 20_000;

export interface MeshCounters {
  route: string;
  peersUp: number;
  receivedDirect: number;
  receivedRelayed: number;
  forwarded: number;
  forwardTo: number;
  repairs: number;
  forgeries: number;
}

/** The counters on a page's mesh panel. */
export async function counters(page: Page): Promise<MeshCounters> {
  const data = await page.getByTestId('mesh-panel').evaluate((panel) => ({ ...(panel as HTMLElement).dataset }));
  const n = (v: string | undefined) => Number(v ?? NaN);
  return {
    route: data.route ?? '',
    peersUp: n(data.peersUp),
    receivedDirect: n(data.receivedDirect),
    receivedRelayed: n(data.receivedRelayed),
    forwarded: n(data.forwarded),
    forwardTo: n(data.forwardTo),
    repairs: n(data.repairs),
    forgeries: n(data.forgeries),
  };
}

/** How each page gets messages, sorted: e.g. `['direct', 'relayed', 'relayed', 'relayed']`. */
export async function routes(pages: readonly Page[]): Promise<string[]> {
  return (await Promise.all(pages.map(counters))).map((c) => `${c.route}/${c.peersUp}`).sort();
}

/** The plan once every link works: one member hears the server, the others hear it. */
export function settled(members: number): string[] {
  return [`direct/${members - 1}`, ...Array.from({ length: members - 1 }, () => `relayed/${members - 1}`)];
}
