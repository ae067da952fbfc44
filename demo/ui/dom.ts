/**
 * The few DOM helpers the views share. User text only ever goes in through
 * `textContent` (the `text` option); nothing here parses HTML.
 */

export interface ElementOptions {
  class?: string;
  text?: string;
  /** Attributes; `true` sets an empty attribute, `false`/`undefined` leaves it out. */
  attrs?: Record<string, string | boolean | undefined>;
}

/**
 * Creates an element.
 * @example h('span', { class: 'msg__name', text: message.name, attrs: { 'data-testid': 'message-name' } })
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, options: ElementOptions = {}, children: Node[] = []): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (options.class) element.className = options.class;
  if (options.text !== undefined) element.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs ?? {})) {
    if (value === true) element.setAttribute(name, '');
    else if (typeof value === 'string') element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

/**
 * The element with `data-testid="id"` under `root`, checked to be of `type`.
 * Throws if the page's markup and the code disagree, which is a bug to fix in index.html.
 */
export function byTestId<T extends Element>(root: ParentNode, id: string, type: abstract new () => T): T {
  const element = root.querySelector(`[data-testid="${id}"]`);
  if (!(element instanceof type)) throw new Error(`index.html needs a <${type.name}> with data-testid="${id}"`);
  return element;
}
