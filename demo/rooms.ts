/**
 * Room names and where they live: the rules for a valid name, the default
 * rooms, the channel topics, and the `#/room` URL hash.
 *
 * Pure functions only; no DOM, no storage, no sockets.
 */

/** Rooms every user has. */
export const DEFAULT_ROOMS: readonly string[] = ['lobby', 'random', 'help'];

/** The topic every client joins to hear about new rooms. Not a chat room. */
export const DIRECTORY_TOPIC = 'room:directory';

/** Longest room name, in characters. */
export const MAX_ROOM_NAME = 32;

const RESERVED = new Set(['directory']);

/**
 * Turns what a person typed into a room name, or null if nothing usable is left.
 * @example normalizeRoomName('  Book Club! ') // => 'book-club'
 */
export function normalizeRoomName(input: string): string | null {
  const name = input
    .trim()
    .toLowerCase()
    .replace(/^#+/, '')
    .replace(/[\s_]+/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_ROOM_NAME);
  return name && !RESERVED.has(name) ? name : null;
}

/** True if `name` is already a valid room name as is. */
export function isRoomName(name: unknown): name is string {
  return typeof name === 'string' && normalizeRoomName(name) === name;
}

/** The channel topic of a room. */
export function topicFor(room: string): string {
  return `room:${room}`;
}

/**
 * The room a URL hash points at, or null.
 * @example roomFromHash('#/lobby') // => 'lobby'
 */
export function roomFromHash(hash: string): string | null {
  const match = /^#\/?(.+)$/.exec(hash);
  if (!match?.[1]) return null;
  let raw: string;
  try {
    raw = decodeURIComponent(match[1]);
  } catch {
    // A malformed escape is not a room; the caller falls back to the default room.
    return null;
  }
  return normalizeRoomName(raw);
}

/** The URL hash for a room. */
export function hashFor(room: string): string {
  return `#/${room}`;
}

/** Defaults first, then the others in the order given, without duplicates or invalid names. */
export function mergeRooms(...lists: readonly (readonly string[])[]): string[] {
  const seen = new Set<string>();
  for (const list of [DEFAULT_ROOMS, ...lists]) for (const room of list) if (isRoomName(room)) seen.add(room);
  return [...seen];
}
