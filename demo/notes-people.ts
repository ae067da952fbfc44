/**
 * Who has a room's notes open, as its awareness states say: each person's
 * name and cursor colour, whether their notes are on screen (`open`), and
 * their cursor while they edit. The cursor colour comes from the person's
 * name, so it is the same on every screen.
 *
 * Pure functions only; `notes.ts` holds the awareness, `ui/notes-pane.ts`
 * shows the people.
 */
import { PALETTE, preferredSlot } from './colours';

/** Someone with the room's notes open: `editing` while their editor has focus (they have a cursor). */
export interface NotesMember {
  name: string;
  color: string;
  editing: boolean;
  self: boolean;
}

/** Colours as this demo writes them (another member's state is not trusted to be CSS). */
const COLOUR = /^(hsl\([\d. %/]+\)|#[0-9a-f]{3,8})$/i;

/** A person's cursor colour and its light variant for selections, from their name. */
export function cursorColours(name: string): { color: string; colorLight: string } {
  const hue = PALETTE[preferredSlot(name)] ?? 240;
  return { color: `hsl(${hue} 62% 48%)`, colorLight: `hsl(${hue} 70% 55% / 0.22)` };
}

/**
 * Who has the notes open, from awareness states by client id: the user first, then the others whose
 * notes are on screen (`open`) or who have a cursor in them, each name once (tabs of one person are one
 * entry, editing if any tab is).
 * @example notesMembers(new Map([[1, { user: { name: 'Ada', color: '#e91e63' }, open: true, cursor: null }]]), 1) // => [{ name: 'Ada', color: '#e91e63', editing: false, self: true }]
 */
export function notesMembers(states: ReadonlyMap<number, Record<string, unknown>>, own: number): NotesMember[] {
  const byName = new Map<string, NotesMember>();
  const ordered = [...states].sort(([a], [b]) => (a === own ? -1 : b === own ? 1 : 0));
  for (const [id, state] of ordered) {
    const user = state.user as { name?: unknown; color?: unknown } | undefined;
    if (typeof user?.name !== 'string') continue;
    const editing = state.cursor != null;
    if (id !== own && state.open !== true && !editing) continue;
    const known = byName.get(user.name);
    if (known) known.editing ||= editing;
    else byName.set(user.name, { name: user.name, color: typeof user.color === 'string' && COLOUR.test(user.color) ? user.color : 'gray', editing, self: id === own });
  }
  return [...byName.values()];
}
