/**
 * Where rooms live: the default rooms, the channel topics, and the `#/room`
 * URL hash. What makes a valid name is `room-name.ts`.
 *
 * Pure functions only; no DOM, no storage, no sockets.
 */
import { checkRoomName, isRoomName } from './room-name';

/** Rooms every user has. */
export const DEFAULT_ROOMS: readonly string[] = ['lobby', 'random', 'help'];

/** The topic every client joins to hear about new rooms. Not a chat room. */
export const DIRECTORY_TOPIC = 'room:directory';

/** The channel topic of a room. */
export function topicFor(room: string): string {
  return `room:${room}`;
}

/**
 * The room a URL hash points at (as a person may type it), or null.
 * @example roomFromHash('#/lobby') // => 'lobby'
 * @example roomFromHash('#/Book%20Club') // => 'book-club'
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
  const checked = checkRoomName(raw);
  return checked.ok ? checked.name : null;
}

/**
 * The URL hash for a room (escaped: names may hold any letter, and emoji).
 * @example hashFor('café') // => '#/caf%C3%A9'
 */
export function hashFor(room: string): string {
  return `#/${encodeURIComponent(room)}`;
}

/** Defaults first, then the others in the order given, without duplicates or invalid names. */
export function mergeRooms(...lists: readonly (readonly string[])[]): string[] {
  const seen = new Set<string>();
  for (const list of [DEFAULT_ROOMS, ...lists]) for (const room of list) if (isRoomName(room)) seen.add(room);
  return [...seen];
}
