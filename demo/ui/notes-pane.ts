/**
 * The notes pane beside the chat: the room's notes in an editor
 * (`notes-editor.ts`, loaded on first use), who has them open and who is
 * editing, and where they stand (kept on this device, syncing, up to date).
 * The header's Notes button shows and hides the pane; the choice is
 * remembered.
 *
 * Not responsible for the document or awareness (`notes.ts`), nor for the
 * editor's binding to them (`notes-editor.ts`).
 *
 * For the e2e tests: the pane is `notes-pane`, the editor `notes-editor`
 * (its text in `.cm-content`), each person `notes-person` with
 * `data-editing`, the status `notes-status` with `data-state`.
 */
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
  private editor: { destroy(): void } | null = null;
  private notes: RoomNotes | null = null;
  private unfollow: (() => void) | null = null;
  /** Bumped per room shown: an editor that finishes loading for an earlier room is not opened. */
  private generation = 0;

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
    const generation = ++this.generation;
    this.unfollow?.();
    this.unfollow = null;
    this.notes?.setOpen(false);
    this.editor?.destroy();
    this.editor = null;
    this.host.replaceChildren();
    this.notes = notes;
    this.host.setAttribute('aria-label', `Notes of #${room}`);
    this.render();
    if (!notes) return;
    notes.setOpen(!this.pane.hidden);
    this.unfollow = notes.onChange(() => this.render());
    import('./notes-editor').then(
      ({ openEditor }) => {
        if (generation === this.generation) this.editor = openEditor(this.host, room, notes);
      },
      () => {
        if (generation === this.generation) this.host.replaceChildren(h('p', { class: 'notes__failed', text: 'The editor could not be loaded. Reload the page to try again.' }));
      },
    );
  }

  private render(): void {
    const notes = this.notes;
    const state = notes?.status ?? 'offline';
    const refused = notes?.refused ?? null;
    this.status.dataset.state = refused ? 'refused' : state;
    // Said, not hidden: the edits stay on this device, and the reason is the server's own words.
    this.status.textContent = refused ? `Not shared: ${refused}` : STATUS_TEXT[state];
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
    this.notes?.setOpen(open);
    this.button.setAttribute('aria-expanded', String(open));
    this.app.classList.toggle('app--notes-open', open);
    localStorage.setItem(OPEN_KEY, String(open));
  }
}
