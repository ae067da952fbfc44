/**
 * The message composer. Enter sends, Shift+Enter starts a new line (and
 * Enter while an input method is composing does neither). It stays usable
 * while disconnected: messages wait and go out once the connection is back.
 *
 * Near the length limit a counter shows; a message over it (a long paste)
 * is kept whole in the box and not sent, and the counter says by how much
 * it is over and what to do.
 */
import { MAX_BODY } from '../messages';
import { LimitCounter } from './counter';
import { byTestId } from './dom';

/** Tallest the box grows before it scrolls (px). */
const MAX_HEIGHT_PX = 160;

export class Composer {
  private readonly form: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly send: HTMLButtonElement;
  private readonly counter: LimitCounter;

  constructor(root: ParentNode, onSend: (body: string) => void) {
    this.form = byTestId(root, 'composer-form', HTMLFormElement);
    this.input = byTestId(root, 'composer', HTMLTextAreaElement);
    this.send = byTestId(root, 'send-button', HTMLButtonElement);
    this.counter = new LimitCounter(this.input, byTestId(root, 'composer-counter', HTMLElement), MAX_BODY, (n) => `${n} too many to send. Shorten it, or send it in parts.`);

    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      const body = this.input.value.trim();
      if (!body || this.counter.refresh().state === 'over') return;
      onSend(body);
      this.input.value = '';
      this.refresh();
      this.input.focus();
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.input.addEventListener('input', () => this.refresh());
    this.refresh();
  }

  /** Points the composer at a room. */
  setRoom(room: string): void {
    this.input.placeholder = `Message #${room}`;
    this.input.setAttribute('aria-label', `Message #${room}`);
  }

  focus(): void {
    // On touch screens focusing would pop the keyboard over the conversation on every room switch.
    if (window.matchMedia('(pointer: fine)').matches) this.input.focus();
  }

  private refresh(): void {
    const over = this.counter.refresh().state === 'over';
    this.send.disabled = over || this.input.value.trim().length === 0;
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT_PX)}px`;
  }
}
