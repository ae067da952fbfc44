/**
 * What the demo remembers between visits, in localStorage: the display name,
 * the rooms beyond the defaults it knows of, and those of them it joined.
 *
 * Storage may be unavailable (disabled, private mode, quota): then nothing
 * is remembered and the app still works. Stored values are validated on
 * read, since another tab or a person with devtools may have written them.
 */
import { charCount } from './limits';
import { isRoomName } from './room-name';

const NAME_KEY = 'plume-demo:name';
const ROOMS_KEY = 'plume-demo:rooms';
const JOINED_KEY = 'plume-demo:joined';

/** Longest display name, in characters. */
export const MAX_NAME = 32;

/** Most rooms remembered beyond the defaults (each joined one is a channel). */
export const MAX_EXTRA_ROOMS = 40;

/**
 * A display name with its spaces tidied, or null if empty. Never shortened:
 * the name dialog refuses one over {@link MAX_NAME} and says why.
 * @example cleanName('  Ada   Lovelace ') // => 'Ada Lovelace'
 */
export function cleanName(input: string): string | null {
  const name = input.replace(/\s+/g, ' ').trim();
  return name || null;
}

/** The remembered name; one that is not valid (over the limit) is not used, and the dialog asks again. */
export function loadName(): string | null {
  const stored = read(NAME_KEY);
  const name = stored === null ? null : cleanName(stored);
  return name !== null && charCount(name) <= MAX_NAME ? name : null;
}

export function saveName(name: string): void {
  write(NAME_KEY, name);
}

/** The rooms beyond the defaults this person knows of (created, joined, or told about by others). */
export function loadRooms(): string[] {
  return loadList(ROOMS_KEY);
}

export function saveRooms(rooms: readonly string[]): void {
  write(ROOMS_KEY, JSON.stringify(rooms.slice(0, MAX_EXTRA_ROOMS)));
}

/** The rooms beyond the defaults this person is in: created or opened, not just heard of. */
export function loadJoined(): string[] {
  return loadList(JOINED_KEY);
}

export function saveJoined(rooms: readonly string[]): void {
  write(JOINED_KEY, JSON.stringify(rooms.slice(0, MAX_EXTRA_ROOMS)));
}

function loadList(key: string): string[] {
  const stored = read(key);
  if (stored === null) return [];
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.filter(isRoomName).slice(0, MAX_EXTRA_ROOMS) : [];
  } catch {
    // Corrupt value: start over with the defaults; the next save overwrites it.
    return [];
  }
}

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    // Storage unavailable: behave as a first visit.
    return null;
  }
}

function write(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage unavailable or full: the value lives only for this visit.
  }
}
