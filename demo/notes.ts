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
import { cursorColours, notesMembers, type NotesMember } from './notes-people';

/** The name of the notes' text in the room's document. */
export const NOTES_TEXT = 'notes';

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
    this.binding.onRefused(() => this.notify());
    this.awareness.on('change', () => this.notify());
  }

  /** `offline` (kept on this device), `syncing`, or `synced`. */
  get status(): DocStatus {
    return this.binding.status;
  }

  /** Why the server refuses this person's edits (kept on this device, not shared), or null. */
  get refused(): string | null {
    return this.binding.refused;
  }

  /** Tells the others our (new) name, and its colour. */
  setName(name: string): void {
    this.awareness.setLocalStateField('user', { id: name, name, ...cursorColours(name) });
  }

  /** The notes are on this person's screen (their room is, and the pane is open), or no longer. */
  setOpen(open: boolean): void {
    if (this.awareness.getLocalState()?.open === open) return;
    this.awareness.setLocalStateField('open', open);
    if (!open) this.awareness.setLocalStateField('cursor', null);
  }

  /** Who has the notes open, the user first (`notesMembers`). */
  members(): NotesMember[] {
    return notesMembers(this.awareness.getStates(), this.awareness.clientID);
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
