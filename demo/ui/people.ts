/**
 * Who is online in the room on screen: the count in the header and the
 * list beside the conversation (on narrow screens the count opens it).
 *
 * Items are keyed by presence key and updated in place, so a person stays
 * the same element from arrival to departure: nobody appears to leave and
 * come back when their typing or tabs change.
 *
 * While presence is not live (offline, reconnecting, joining) the list is
 * the people last seen, greyed: the header says "2 seen at 14:05" instead
 * of "2 online", and a note says why it is not live. The panel carries
 * `data-live`.
 */
import type { Connection } from '../chat';
import type { Person } from '../presence';
import { byTestId, h } from './dom';
import type { Avatars } from './avatars';
import { formatSeen, initialOf } from './format';

/** What the panel shows. */
export interface PeopleView {
  people: readonly Person[];
  /** This user's key, marked "you". */
  self: string;
  live: boolean;
  /** While not live: when `people` were last seen live, or null if never. */
  seenAt: number | null;
  connection: Connection;
}

const WHY: Record<Connection, string> = {
  offline: 'You are offline.',
  reconnecting: 'Reconnecting…',
  connecting: 'Connecting…',
  connected: 'Joining the room…',
};

/** The header's count while nobody was ever seen live here. */
const UNKNOWN: Record<Connection, string> = {
  offline: 'Offline',
  reconnecting: 'Reconnecting…',
  connecting: 'Connecting…',
  connected: 'Joining…',
};

/**
 * The header's count: "2 online", or while not live "2 seen at 14:05" (or the connection's state when nobody was ever seen).
 * @example pillText({ people, self: 'Ada', live: false, seenAt, connection: 'offline' }) // => '2 seen at 14:05'
 */
export function pillText({ people, live, seenAt, connection }: PeopleView, now = Date.now()): string {
  if (live) return `${people.length} online`;
  if (seenAt === null) return UNKNOWN[connection];
  return `${people.length} seen at ${formatSeen(seenAt, now)}`;
}

/** The note over a list that is not live, saying why and what it shows; '' while live. */
export function staleNote({ live, seenAt, connection }: PeopleView, now = Date.now()): string {
  if (live) return '';
  if (seenAt === null) return connection === 'offline' || connection === 'reconnecting' ? `${WHY[connection]} Who is here shows once you are back.` : WHY[connection];
  return `${WHY[connection]} This is who was here at ${formatSeen(seenAt, now)}.`;
}

export class PeoplePanel {
  private readonly app: HTMLElement;
  private readonly panel: HTMLElement;
  private readonly pill: HTMLButtonElement;
  private readonly pillLabel: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly count: HTMLElement;
  private readonly note: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly items = new Map<string, HTMLLIElement>();
  private readonly avatars: Avatars;

  constructor(app: HTMLElement, avatars: Avatars) {
    this.app = app;
    this.avatars = avatars;
    this.panel = byTestId(app, 'online-panel', HTMLElement);
    this.pill = byTestId(app, 'online-count', HTMLButtonElement);
    this.pillLabel = byTestId(this.pill, 'online-count-label', HTMLElement);
    this.heading = byTestId(app, 'online-heading-label', HTMLElement);
    this.count = byTestId(app, 'online-heading-count', HTMLElement);
    this.note = byTestId(app, 'online-stale', HTMLElement);
    this.list = byTestId(app, 'online-list', HTMLUListElement);
    this.pill.addEventListener('click', () => this.setOpen(!app.classList.contains('app--people-open')));
    byTestId(app, 'online-close', HTMLButtonElement).addEventListener('click', () => this.setOpen(false));
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.setOpen(false);
    });
  }

  show(view: PeopleView): void {
    const { people, self, live } = view;
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
      this.fill(item, live ? person : { ...person, typing: false }, person.key === self);
    }
    const label = pillText(view);
    this.panel.dataset.live = String(live);
    this.pill.dataset.live = String(live);
    this.pillLabel.textContent = label;
    this.pill.setAttribute('aria-label', `${label}: show who`);
    this.heading.textContent = live ? 'Online' : 'Last seen';
    this.count.textContent = String(people.length);
    this.note.textContent = staleNote(view);
    this.note.hidden = live;
  }

  private fill(item: HTMLLIElement, person: Person, self: boolean): void {
    const avatar = h('span', { class: 'avatar person__avatar', text: initialOf(person.name), attrs: { 'aria-hidden': 'true' } }, [h('span', { class: 'person__dot' })]);
    this.avatars.paint(avatar, person.name);
    const name = h('span', { class: 'person__name', text: person.name, attrs: { 'data-testid': 'online-name' } });
    const notes = [self ? 'you' : '', person.tabs > 1 ? `${person.tabs} tabs` : ''].filter(Boolean).join(' · ');
    const who = h('span', { class: 'person__who' }, notes ? [name, h('span', { class: 'person__note', text: notes, attrs: { 'data-testid': 'online-note' } })] : [name]);
    const status = h('span', { class: 'person__status', text: person.typing ? 'typing…' : '', attrs: { 'data-testid': 'online-status' } });
    item.dataset.typing = String(person.typing);
    item.dataset.tabs = String(person.tabs);
    item.classList.toggle('person--self', self);
    item.replaceChildren(avatar, who, status);
  }

  private setOpen(open: boolean): void {
    this.app.classList.toggle('app--people-open', open);
    this.pill.setAttribute('aria-expanded', String(open));
  }
}
