/**
 * What a room remembers between visits, in localStorage: the latest
 * messages the server delivered (the transcript) and an unread notice that
 * some messages may be missing.
 *
 * Plume resumes a room where the last visit stopped and does not deliver
 * again what it already delivered, so the app keeps its own copy of what it
 * showed. Messages still waiting to be sent are not here: they live in
 * Plume's outbox (IndexedDB) until the server has them.
 *
 * Every write re-reads the stored list, so the tabs of a browser add to one
 * transcript instead of overwriting each other's. Storage may be missing or
 * full: then the room starts empty on the next visit and the app still works.
 */
import { parseMessage, type MessagePayload } from './messages';

/** Messages kept per room. */
export const TRANSCRIPT_LIMIT = 200;

/** A delivered message as stored. */
export interface StoredMessage extends MessagePayload {
  /** Sent from this browser. */
  mine: boolean;
}

const transcriptKey = (room: string) => `plume-demo:transcript:${room}`;
const noticeKey = (room: string) => `plume-demo:notice:${room}`;

/** The room's stored transcript, oldest first; entries that do not parse are dropped. */
export function loadTranscript(room: string): StoredMessage[] {
  const raw = read(transcriptKey(room));
  if (raw === null) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!Array.isArray(parsed)) return [];
    return parsed.flatMap((item: unknown) => {
      if (typeof item !== 'object' || item === null) return [];
      const message = parseMessage(item as Record<string, unknown>);
      return message ? [{ ...message, mine: (item as { mine?: unknown }).mine === true }] : [];
    });
  } catch {
    // Corrupt value: start the transcript over; the next write replaces it.
    return [];
  }
}

/** Adds a delivered message unless it is there already; keeps the latest {@link TRANSCRIPT_LIMIT}. */
export function remember(room: string, message: StoredMessage): void {
  const stored = loadTranscript(room);
  if (stored.some((m) => m.id === message.id)) return;
  const { id, body, name, sentAt, mine } = message;
  stored.push({ id, body, name, sentAt, mine });
  // Over the quota (other rooms, other apps of the origin): keep fewer rather than stop remembering.
  if (!write(transcriptKey(room), JSON.stringify(stored.slice(-TRANSCRIPT_LIMIT)))) write(transcriptKey(room), JSON.stringify(stored.slice(-TRANSCRIPT_LIMIT / 4)));
}

/** The notice the room shows until it is dismissed, if any. */
export function loadNotice(room: string): string | null {
  return read(noticeKey(room));
}

/** Sets (or, with null, clears) the room's notice. */
export function saveNotice(room: string, text: string | null): void {
  if (text === null) remove(noticeKey(room));
  else write(noticeKey(room), text);
}

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    // Storage unavailable: nothing was remembered.
    return null;
  }
}

/** Returns false when the value could not be stored. */
function write(key: string, value: string): boolean {
  try {
    localStorage.setItem(key, value);
    return true;
  } catch {
    // Storage unavailable or full: the caller decides; at worst the room starts from the server's history next time.
    return false;
  }
}

function remove(key: string): void {
  try {
    localStorage.removeItem(key);
  } catch {
    // Storage unavailable: there is nothing stored to remove.
  }
}
