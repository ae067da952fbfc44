/**
 * Who was last seen in each room, in localStorage: the room's people the
 * last time its presence was live, and when. Shown (greyed, as "last seen")
 * while presence is not live: offline, reconnecting, and after a reload
 * until the room is joined again, so the list says the same across reloads.
 *
 * Storage may be missing or full: then a reload shows no list until the
 * room is joined, and the app still works.
 */
import type { Person } from './presence';

/** A room's people as last seen live. */
export interface Seen {
  /** When the list was last known to be current (ms since the Unix epoch). */
  at: number;
  people: Person[];
}

const seenKey = (room: string) => `plume-demo:seen:${room}`;

/** The room's last seen people, or null; entries that do not parse are dropped. */
export function loadSeen(room: string): Seen | null {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(seenKey(room)) ?? 'null');
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { at, people } = parsed as { at?: unknown; people?: unknown };
    if (typeof at !== 'number' || !Array.isArray(people)) return null;
    return { at, people: people.flatMap(toPerson) };
  } catch {
    // Storage unavailable or a corrupt value: nothing was seen; the next save replaces it.
    return null;
  }
}

export function saveSeen(room: string, seen: Seen): void {
  try {
    localStorage.setItem(seenKey(room), JSON.stringify(seen));
  } catch {
    // Storage unavailable or full: the list lives only for this visit.
  }
}

function toPerson(item: unknown): Person[] {
  if (typeof item !== 'object' || item === null) return [];
  const { key, name, tabs } = item as Record<string, unknown>;
  if (typeof key !== 'string' || typeof name !== 'string') return [];
  return [{ key, name, tabs: typeof tabs === 'number' && tabs > 0 ? tabs : 1, typing: false }];
}
