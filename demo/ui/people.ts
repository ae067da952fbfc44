/**
 * Who is online in the room on screen: the count in the header and the
 * list beside the conversation (on narrow screens the count opens it).
 *
 * Items are keyed by presence key and updated in place, so a person stays
 * the same element from arrival to departure: nobody appears to leave and
 * come back when their typing or tabs change.
 */
import type { Person } from '../presence';
import { byTestId, h } from './dom';
import { hueFor, initialOf } from './format';

export class PeoplePanel {
  private readonly app: HTMLElement;
  private readonly pill: HTMLButtonElement;
  private readonly pillLabel: HTMLElement;
  private readonly count: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly items = new Map<string, HTMLLIElement>();

  constructor(app: HTMLElement) {
    this.app = app;
    this.pill = byTestId(app, 'online-count', HTMLButtonElement);
    this.pillLabel = byTestId(this.pill, 'online-count-label', HTMLElement);
    this.count = byTestId(app, 'online-heading-count', HTMLElement);
    this.list = byTestId(app, 'online-list', HTMLUListElement);
    this.pill.addEventListener('click', () => this.setOpen(!app.classList.contains('app--people-open')));
    byTestId(app, 'online-close', HTMLButtonElement).addEventListener('click', () => this.setOpen(false));
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.setOpen(false);
    });
  }

  /** Shows `people`; `self` is this user's key, marked "you". */
  show(people: readonly Person[], self: string): void {
    const keys = new Set(people.map((person) => person.key));
    for (const [key, item] of this.items) {
      if (keys.has(key)) continue;
      item.remove();
      this.items.delete(key);
    }
    for (const person of people) {
      let item = this.items.get(person.key);
      if (!item) {
        item = h('li', { class: 'person', attrs: { 'data-testid': 'online-item', 'data-key': person.key } });
        this.items.set(person.key, item);
        this.list.append(item);
      }
      fill(item, person, person.key === self);
    }
    const label = `${people.length} online`;
    this.pillLabel.textContent = label;
    this.pill.setAttribute('aria-label', `${label}: show who`);
    this.count.textContent = String(people.length);
  }

  private setOpen(open: boolean): void {
    this.app.classList.toggle('app--people-open', open);
    this.pill.setAttribute('aria-expanded', String(open));
  }
}

function fill(item: HTMLLIElement, person: Person, self: boolean): void {
  const avatar = h('span', { class: 'avatar person__avatar', text: initialOf(person.name), attrs: { 'aria-hidden': 'true' } }, [h('span', { class: 'person__dot' })]);
  avatar.style.setProperty('--hue', String(hueFor(person.name)));
  const name = h('span', { class: 'person__name', text: person.name, attrs: { 'data-testid': 'online-name' } });
  const notes = [self ? 'you' : '', person.tabs > 1 ? `${person.tabs} tabs` : ''].filter(Boolean).join(' · ');
  const who = h('span', { class: 'person__who' }, notes ? [name, h('span', { class: 'person__note', text: notes, attrs: { 'data-testid': 'online-note' } })] : [name]);
  const status = h('span', { class: 'person__status', text: person.typing ? 'typing…' : '', attrs: { 'data-testid': 'online-status' } });
  item.dataset.typing = String(person.typing);
  item.dataset.tabs = String(person.tabs);
  item.classList.toggle('person--self', self);
  item.replaceChildren(avatar, who, status);
}
