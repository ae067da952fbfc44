/**
 * The room's notice bar, above the conversation: says that some messages
 * may be missing (Plume could not recover everything after a server restart
 * or a long absence), until the person dismisses it. Created here rather
 * than in index.html because it belongs to the room on screen, not to the page.
 */
import { byTestId, h } from './dom';

export class RoomNotice {
  private readonly bar: HTMLElement;
  private readonly text: HTMLElement;

  constructor(root: ParentNode, onDismiss: () => void) {
    this.text = h('span', { class: 'notice__text', attrs: { 'data-testid': 'room-notice-text' } });
    const dismiss = h('button', { class: 'notice__dismiss', text: 'Dismiss', attrs: { type: 'button', 'data-testid': 'room-notice-dismiss' } });
    dismiss.addEventListener('click', onDismiss);
    this.bar = h('div', { class: 'notice', attrs: { 'data-testid': 'room-notice', role: 'status', hidden: true } }, [this.text, dismiss]);
    byTestId(root, 'message-scroller', HTMLElement).before(this.bar);
  }

  /** Shows `text`, or hides the bar for null. */
  show(text: string | null): void {
    this.text.textContent = text ?? '';
    this.bar.hidden = text === null;
  }
}
