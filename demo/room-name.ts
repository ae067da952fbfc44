/**
 * Room names: turning what a person typed into the name in the room's link
 * and topic (`book-club`), and saying what is wrong when that cannot be done.
 *
 * Letters and numbers of every script are kept (lower-cased, in Unicode's
 * compatibility form, so `Ｃａｆé` and `Café` are one room, `café`), and so
 * are emoji: topics are strings, and a name that drops what was typed is
 * a surprise. Spaces and underscores become dashes; other punctuation goes.
 * A name longer than the limit is refused rather than cut.
 *
 * Pure functions only; no DOM, no storage.
 */
import { charCount } from './limits';

/** Longest room name, in characters (code points: an emoji counts as one or, for a few, more). */
export const MAX_ROOM_NAME = 32;

/** Topic names of the app that are not chat rooms. */
const RESERVED: ReadonlyMap<string, string> = new Map([['directory', 'the room list']]);

/**
 * What a name keeps: letters and the marks some scripts write them with,
 * numbers, dashes, and emoji with what joins and modifies them (zero-width
 * joiner, variation selector, skin tones, flag letters).
 */
const KEPT = /[\p{L}\p{M}\p{N}\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u200d\ufe0f-]/u;

/** The result of checking a name: the room's name, or what is wrong (null: nothing typed, nothing to say). */
export type RoomNameCheck = { ok: true; name: string } | { ok: false; problem: string | null };

/**
 * The room name for what a person typed, before the length check ('' when nothing is left).
 * @example roomSlug('Book Club ☕ Ünïcödé 日本') // => 'book-club-☕-ünïcödé-日本'
 */
export function roomSlug(input: string): string {
  const spaced = input.normalize('NFKC').toLowerCase().trim().replace(/^#+/, '').replace(/[\s_]+/gu, '-');
  return [...spaced]
    .filter((char) => KEPT.test(char))
    .join('')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * Checks a typed room name.
 * @example checkRoomName('Book Club') // => { ok: true, name: 'book-club' }
 * @example checkRoomName('!!!') // => { ok: false, problem: 'A room name needs a letter, a number or an emoji.' }
 */
export function checkRoomName(input: string): RoomNameCheck {
  if (input.trim().replace(/^#+/, '') === '') return { ok: false, problem: null };
  const name = roomSlug(input);
  if (name === '') return { ok: false, problem: 'A room name needs a letter, a number or an emoji.' };
  const reserved = RESERVED.get(name);
  if (reserved) return { ok: false, problem: `“${name}” is reserved for ${reserved}: pick another name.` };
  const length = charCount(name);
  if (length > MAX_ROOM_NAME) return { ok: false, problem: `Room names can be up to ${MAX_ROOM_NAME} characters: this one has ${length}.` };
  return { ok: true, name };
}

/**
 * True if `name` is a room name as is (for names from storage, links and other people).
 * @example isRoomName('book-club') // => true
 * @example isRoomName('Book Club') // => false
 */
export function isRoomName(name: unknown): name is string {
  if (typeof name !== 'string') return false;
  const checked = checkRoomName(name);
  return checked.ok && checked.name === name;
}
