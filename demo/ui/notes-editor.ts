/**
 * The notes' editor: CodeMirror 6 bound to a room's shared `Y.Text` with
 * y-codemirror.next, which keeps editor and text in step both ways, draws
 * the others' cursors and selections with their names, writes our cursor
 * into awareness while the editor has focus (and clears it on blur), and
 * undoes only our own edits.
 *
 * Loaded on demand by `notes-pane.ts` (`import()`), so the chat's first
 * paint does not wait for the editor.
 */
import { defaultKeymap } from '@codemirror/commands';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next';
import type { RoomNotes } from '../notes';

/**
 * Opens an editor on `notes` in `host`; destroy it before opening another.
 * @example const editor = openEditor(host, 'lobby', room.notes); editor.destroy();
 */
export function openEditor(host: HTMLElement, room: string, notes: RoomNotes): EditorView {
  return new EditorView({
    parent: host,
    doc: notes.text.toString(),
    extensions: [
      keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({ 'aria-label': `Notes of #${room}`, spellcheck: 'true' }),
      placeholder(`Shared notes for #${room}: everyone in the room can edit them, even offline.`),
      yCollab(notes.text, notes.awareness),
      // y-codemirror.next keeps the last cursor after the editor loses focus; the others should see
      // someone who went back to the chat as no longer editing.
      EditorView.domEventHandlers({
        blur: () => {
          notes.awareness.setLocalStateField('cursor', null);
          return false;
        },
      }),
    ],
  });
}
