/**
 * A room's shared notes: one `Y.Text` every member edits at once, bound to
 * the room's channel with `plume/yjs`. Edits made offline are kept in this
 * browser's IndexedDB, survive a reload, and merge with everyone else's once
 * the room is joined again; that is all `bindDoc`'s doing.
 *
 * Also who has the notes: each member's awareness state carries its name
 * and cursor colour, and its cursor while its editor has focus
 * (y-codemirror.next writes that part). The awareness id is the member's
 * presence key (its name in dev mode), so a member's cursor leaves with it.
 *
 * Not responsible for the editor or anything else on screen (`ui/notes-pane.ts`).
 */
import type { Channel, Presence } from 'plume';
import { bindDoc, type Awareness, type DocBinding, type DocStatus } from 'plume/yjs';
import * as Y from 'yjs';
import { PALETTE, preferredSlot } from './colours';

/** The name of the notes' text in the room's document. */
export const NOTES_TEXT = 'notes';

/** Someone with the room's notes: `editing` while their editor has focus (they have a cursor). */
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
 * @example
 * const notes = new RoomNotes(channel, presence, 'Ada');
 * notes.text.insert(0, 'Agenda');
 * notes.onChange(() => render(notes.members(), notes.status));
 */
export class RoomNotes {
  readonly text: Y.Text;
  readonly awareness: Awareness;
  private readonly binding: DocBinding;
  private readonly listeners = new Set<() => void>();

  /** Bind before the channel joins or after: the binding syncs on every join. */
  constructor(channel: Channel, presence: Presence, name: string) {
    this.binding = bindDoc(channel, new Y.Doc(), { presence });
    this.text = this.binding.doc.getText(NOTES_TEXT);
    this.awareness = this.binding.awareness!;
    this.setName(name);
    this.binding.onStatus(() => this.notify());
    this.awareness.on('change', () => this.notify());
  }

  /** `offline` (kept on this device), `syncing`, or `synced`. */
  get status(): DocStatus {
    return this.binding.status;
  }

  /** Tells the others our (new) name, and its colour. */
  setName(name: string): void {
    this.awareness.setLocalStateField('user', { id: name, name, ...cursorColours(name) });
  }

  /** Everyone whose notes are open, the user first, each name once (tabs of one person are one entry). */
  members(): NotesMember[] {
    const byName = new Map<string, NotesMember>();
    const own = this.awareness.clientID;
    const states = [...this.awareness.getStates()].sort(([a], [b]) => (a === own ? -1 : b === own ? 1 : 0));
    for (const [id, state] of states) {
      const user = (state as { user?: { name?: unknown; color?: unknown } }).user;
      if (typeof user?.name !== 'string') continue;
      const editing = (state as { cursor?: unknown }).cursor != null;
      const known = byName.get(user.name);
      if (known) known.editing ||= editing;
      else byName.set(user.name, { name: user.name, color: typeof user.color === 'string' && COLOUR.test(user.color) ? user.color : 'gray', editing, self: id === own });
    }
    return [...byName.values()];
  }

  /** Calls back when the members, their cursors or the status change. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
