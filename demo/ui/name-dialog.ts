/**
 * The dialog that asks for a display name: on the first visit (it cannot be
 * dismissed until a name is given) and when the user wants to change it.
 * A counter shows near the length limit; a name over it is refused, whole,
 * with the reason.
 */
import { cleanName, MAX_NAME } from '../prefs';
import { LimitCounter } from './counter';
import { byTestId } from './dom';

export class NameDialog {
  private readonly dialog: HTMLDialogElement;
  private readonly form: HTMLFormElement;
  private readonly input: HTMLInputElement;
  private readonly cancel: HTMLButtonElement;
  private readonly title: HTMLElement;
  private readonly save: HTMLButtonElement;
  private readonly counter: LimitCounter;
  private required = false;
  private resolve: ((name: string | null) => void) | null = null;

  constructor(root: ParentNode) {
    this.dialog = byTestId(root, 'name-dialog', HTMLDialogElement);
    this.form = byTestId(this.dialog, 'name-form', HTMLFormElement);
    this.input = byTestId(this.dialog, 'name-input', HTMLInputElement);
    this.cancel = byTestId(this.dialog, 'name-cancel', HTMLButtonElement);
    this.title = byTestId(this.dialog, 'name-title', HTMLElement);
    this.save = byTestId(this.dialog, 'name-save', HTMLButtonElement);
    const tooMany = (n: string) => `${n} too many. Names can be up to ${MAX_NAME} characters.`;
    this.counter = new LimitCounter(this.input, byTestId(this.dialog, 'name-counter', HTMLElement), MAX_NAME, tooMany, (value) => cleanName(value) ?? '');

    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = cleanName(this.input.value);
      if (!name) {
        this.input.setCustomValidity('Pick a name others will see.');
        this.input.reportValidity();
        return;
      }
      if (this.counter.refresh().state === 'over') {
        this.input.focus(); // the counter under the field says what is wrong
        return;
      }
      this.finish(name);
    });
    this.input.addEventListener('input', () => {
      this.input.setCustomValidity('');
      this.counter.refresh();
    });
    this.cancel.addEventListener('click', () => this.finish(null));
    this.dialog.addEventListener('cancel', (event) => {
      // Escape closes a rename, but a first visit needs a name to go on.
      event.preventDefault();
      if (!this.required) this.finish(null);
    });
  }

  /**
   * Asks for a name; resolves with it, or null if the user cancelled.
   * @example const name = await dialog.ask({ current: 'Ada', required: false });
   */
  ask({ current, required }: { current: string | null; required: boolean }): Promise<string | null> {
    this.finish(null);
    this.required = required;
    this.title.textContent = required ? 'Welcome to Plume Chat' : 'Change your name';
    this.save.textContent = required ? 'Start chatting' : 'Save';
    this.cancel.hidden = required;
    this.input.value = current ?? '';
    this.counter.refresh();
    this.dialog.showModal();
    this.input.select();
    return new Promise((resolve) => (this.resolve = resolve));
  }

  private finish(name: string | null): void {
    if (this.dialog.open) this.dialog.close();
    const resolve = this.resolve;
    this.resolve = null;
    resolve?.(name);
  }
}
