/**
 * The counter under a text field with a length limit: hidden well within
 * it, "1,980 / 2,000" near it, and over it the count with what to do. The
 * field is marked invalid while over, and the counter is its description.
 * It never touches the field's text: nothing typed or pasted is cut.
 *
 * The counter carries `data-state`: `ok`, `near` or `over`.
 */
import { checkLimit, counterText, type LimitCheck } from '../limits';

/**
 * @example
 * const counter = new LimitCounter(input, counterElement, 32, (n) => `${n} too many. Names can be up to 32 characters.`);
 * input.addEventListener('input', () => counter.refresh());
 * if (counter.refresh().state === 'over') return; // refuse, the counter says why
 */
export class LimitCounter {
  constructor(
    private readonly field: HTMLInputElement | HTMLTextAreaElement,
    private readonly counter: HTMLElement,
    private readonly limit: number,
    private readonly tooMany: (over: string) => string,
    /** What is counted of the field's text (e.g. trimmed, as it would be sent). */
    private readonly counted: (value: string) => string = (value) => value.trim(),
  ) {
    if (!counter.id) counter.id = `${field.id || field.name || 'field'}-counter`;
    field.setAttribute('aria-describedby', [field.getAttribute('aria-describedby'), counter.id].filter(Boolean).join(' '));
    counter.setAttribute('aria-live', 'polite');
  }

  /** Shows where the field's text stands, and returns it. */
  refresh(): LimitCheck {
    const check = checkLimit(this.counted(this.field.value), this.limit);
    this.counter.hidden = check.state === 'ok';
    this.counter.dataset.state = check.state;
    this.counter.textContent = check.state === 'ok' ? '' : counterText(check, this.tooMany);
    if (check.state === 'over') this.field.setAttribute('aria-invalid', 'true');
    else this.field.removeAttribute('aria-invalid');
    return check;
  }
}
