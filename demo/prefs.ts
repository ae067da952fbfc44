/**
 * What the demo remembers between visits, in localStorage: the display name
 * and the rooms beyond the defaults.
 *
 * Storage may be unavailable (disabled, private mode, quota): then nothing
 * is remembered and the app still works. Stored values are validated on
 * read, since another tab or a person with devtools may have written them.
 */
import { isRoomName } from './rooms';

const NAME_KEY = 'plume-demo:name';
const ROOMS_KEY = 'plume-demo:rooms';

/** Longest display name, in characters. */
export const MAX_NAME = 32;

/** Most rooms remembered beyond the defaults (each one is a joined channel). */
export const MAX_EXTRA_ROOMS = 40;

/** A display name cleaned up, or null if empty. */
export function cleanName(input: string): string | null {
  const name = input.replace(/\s+/g, ' ').trim().slice(0, MAX_NAME);
  return name || null;
}

export function loadName(): string | null {
  const stored = read(NAME_KEY);
  return stored === null ? null : cleanName(stored);
}

export function saveName(name: string): void {
  write(NAME_KEY, name);
}

export function loadRooms(): string[] {
  const stored = read(ROOMS_KEY);
  if (stored === null) return [];
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.filter(isRoomName).slice(0, MAX_EXTRA_ROOMS) : [];
  } catch {
    // Corrupt value: start over with the defaults; the next save overwrites it.
    return [];
  }
}

export function saveRooms(rooms: readonly string[]): void {
  write(ROOMS_KEY, JSON.stringify(rooms.slice(0, MAX_EXTRA_ROOMS)));
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
