/**
 * The notes pane beside the chat: a CodeMirror 6 editor bound to the room's
 * shared `Y.Text` with y-codemirror.next (which draws the others' cursors
 * and selections, with their names), who has the notes open and who is
 * editing, and where the notes stand (kept on this device, syncing, up to
 * date). The header's Notes button shows and hides the pane; the choice is
 * remembered.
 *
 * Not responsible for the document or awareness (`notes.ts`).
 *
 * For the e2e tests: the pane is `notes-pane`, the editor `notes-editor`
 * (its text in `.cm-content`), each person `notes-person` with
 * `data-editing`, the status `notes-status` with `data-state`.
 */
import { defaultKeymap } from '@codemirror/commands';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next';
import type { DocStatus } from 'plume/yjs';
import type { RoomNotes } from '../notes';
import { byTestId, h } from './dom';

const STATUS_TEXT: Record<DocStatus, string> = {
  offline: 'Saved on this device',
  syncing: 'Syncing…',
  synced: 'Up to date',
};

const OPEN_KEY = 'plume-demo:notes-open';

/**
 * @example
 * const pane = new NotesPane(app);
 * pane.follow('lobby', room.notes); // on every room switch
 */
export class NotesPane {
  private readonly app: HTMLElement;
  private readonly pane: HTMLElement;
  private readonly button: HTMLButtonElement;
  private readonly people: HTMLElement;
  private readonly status: HTMLElement;
  private readonly host: HTMLElement;
  private view: EditorView | null = null;
  private notes: RoomNotes | null = null;
  private unfollow: (() => void) | null = null;

  constructor(app: HTMLElement) {
    this.app = app;
    this.pane = byTestId(app, 'notes-pane', HTMLElement);
    this.button = byTestId(app, 'notes-button', HTMLButtonElement);
    this.people = byTestId(this.pane, 'notes-people', HTMLElement);
    this.status = byTestId(this.pane, 'notes-status', HTMLElement);
    this.host = byTestId(this.pane, 'notes-editor', HTMLElement);
    this.button.addEventListener('click', () => this.setOpen(this.pane.hidden));
    byTestId(this.pane, 'notes-close', HTMLButtonElement).addEventListener('click', () => this.setOpen(false));
    this.setOpen(localStorage.getItem(OPEN_KEY) !== 'false');
  }

  /** Shows the notes of the room on screen (null before the session starts). */
  follow(room: string, notes: RoomNotes | null): void {
    if (notes === this.notes) return;
    this.unfollow?.();
    this.unfollow = null;
    if (this.notes) this.notes.awareness.setLocalStateField('cursor', null);
    this.view?.destroy();
    this.view = null;
    this.notes = notes;
    this.host.setAttribute('aria-label', `Notes of #${room}`);
    if (!notes) return this.render();
    this.view = new EditorView({
      parent: this.host,
      doc: notes.text.toString(),
      extensions: [
        keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': `Notes of #${room}`, spellcheck: 'true' }),
        placeholder(`Shared notes for #${room}: everyone in the room can edit them, even offline.`),
        yCollab(notes.text, notes.awareness),
      ],
    });
    this.unfollow = notes.onChange(() => this.render());
    this.render();
  }

  private render(): void {
    const notes = this.notes;
    const state = notes?.status ?? 'offline';
    this.status.dataset.state = state;
    this.status.textContent = STATUS_TEXT[state];
    const members = notes?.members() ?? [];
    this.people.replaceChildren(
      ...members.map((member) =>
        h('li', { class: 'notes-person', attrs: { 'data-testid': 'notes-person', 'data-editing': String(member.editing), 'data-self': String(member.self) } }, [
          h('span', { class: 'notes-person__dot', attrs: { 'aria-hidden': 'true', style: `background: ${member.color}` } }),
          h('span', { class: 'notes-person__name', text: member.self ? `${member.name} (you)` : member.name }),
          h('span', { class: 'notes-person__state', text: member.editing ? 'editing' : 'viewing' }),
        ]),
      ),
    );
    const editing = members.filter((member) => member.editing && !member.self).length;
    this.button.dataset.editing = String(editing > 0);
  }

  private setOpen(open: boolean): void {
    this.pane.hidden = !open;
    this.button.setAttribute('aria-expanded', String(open));
    this.app.classList.toggle('app--notes-open', open);
    localStorage.setItem(OPEN_KEY, String(open));
  }
}
