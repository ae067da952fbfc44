/**
 * The line above the composer that says who else is typing in the room on
 * screen: "Ada is typing…", "Ada and Bob are typing…", "Ada, Bob and 2
 * others are typing…".
 */
import { byTestId, h } from './dom';

/**
 * What the line says for these names, or '' for nobody.
 * @example typingText(['Ada', 'Bob']) // => 'Ada and Bob are typing…'
 */
export function typingText(names: readonly string[]): string {
  const [first, second] = names;
  if (first === undefined) return '';
  if (second === undefined) return `${first} is typing…`;
  if (names.length === 2) return `${first} and ${second} are typing…`;
  if (names.length === 3) return `${first}, ${second} and ${names[2]} are typing…`;
  return `${first}, ${second} and ${names.length - 2} others are typing…`;
}

export class TypingLine {
  private readonly line: HTMLElement;
  private readonly text: HTMLElement;

  constructor(root: ParentNode) {
    this.line = byTestId(root, 'typing-indicator', HTMLElement);
    this.text = h('span', { class: 'typing__text' });
    const dots = h('span', { class: 'typing__dots', attrs: { 'aria-hidden': 'true' } }, [h('span'), h('span'), h('span')]);
    this.line.replaceChildren(dots, this.text);
  }

  show(names: readonly string[]): void {
    const text = typingText(names);
    this.text.textContent = text;
    this.line.dataset.active = String(text !== '');
  }
}
