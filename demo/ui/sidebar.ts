/**
 * The sidebar: the rooms the person is in (links to `#/room`, with unread
 * counts), the other rooms they know of (opening one joins it), the form
 * that creates a room, and the user's name with a button to change it.
 * On narrow screens it is a drawer opened from the header's menu button.
 *
 * The new-room form says, as the person types, which room Create will make
 * or open ("Creates #book-club") or what is wrong with the name, next to
 * the input; either goes as soon as it no longer applies.
 */
import { byTestId, h } from './dom';
import type { Avatars } from './avatars';
import { initialOf } from './format';
import { hashFor } from '../rooms';

export interface RoomEntry {
  name: string;
  unread: number;
  /** The person is in the room (its messages reach them); false for rooms they only know of. */
  joined: boolean;
}

/** What the form says about a typed name: the room it leads to, or what is wrong; both null for nothing typed. */
export interface RoomNameHint {
  preview: string | null;
  problem: string | null;
}

export interface SidebarHandlers {
  /** What to say about the name being typed. */
  checkRoom(input: string): RoomNameHint;
  /** Returns an error to show, or null when the room was created (or opened). */
  createRoom(input: string): string | null;
  changeName(): void;
}

export class Sidebar {
  private readonly app: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly others: HTMLUListElement;
  private readonly othersSection: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly preview: HTMLElement;
  private readonly error: HTMLElement;
  private readonly nameLabel: HTMLElement;
  private readonly avatar: HTMLElement;
  private readonly handlers: SidebarHandlers;
  private readonly avatars: Avatars;

  constructor(app: HTMLElement, handlers: SidebarHandlers, avatars: Avatars) {
    this.app = app;
    this.avatars = avatars;
    this.handlers = handlers;
    this.list = byTestId(app, 'room-list', HTMLUListElement);
    this.others = byTestId(app, 'other-room-list', HTMLUListElement);
    this.othersSection = byTestId(app, 'other-rooms', HTMLElement);
    this.input = byTestId(app, 'new-room-input', HTMLInputElement);
    this.preview = byTestId(app, 'new-room-preview', HTMLElement);
    this.error = byTestId(app, 'new-room-error', HTMLElement);
    this.nameLabel = byTestId(app, 'current-name', HTMLElement);
    this.avatar = byTestId(app, 'current-avatar', HTMLElement);

    byTestId(app, 'new-room-form', HTMLFormElement).addEventListener('submit', (event) => {
      event.preventDefault();
      const problem = handlers.createRoom(this.input.value);
      if (problem === null) this.resetNewRoom();
      else this.showHint({ preview: null, problem });
    });
    this.input.addEventListener('input', () => this.showHint(handlers.checkRoom(this.input.value)));
    byTestId(app, 'change-name', HTMLButtonElement).addEventListener('click', () => handlers.changeName());
    byTestId(app, 'menu-button', HTMLButtonElement).addEventListener('click', () => this.setOpen(!this.isOpen()));
    byTestId(app, 'drawer-scrim', HTMLElement).addEventListener('click', () => this.setOpen(false));
    for (const list of [this.list, this.others]) {
      list.addEventListener('click', (event) => {
        if (event.target instanceof Element && event.target.closest('a')) this.setOpen(false);
      });
    }
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.isOpen()) this.setOpen(false);
    });
  }

  /** Shows the rooms: those joined in the main list, the others below it. */
  showRooms(rooms: readonly RoomEntry[], current: string): void {
    this.list.replaceChildren(...rooms.filter((room) => room.joined).map((room) => this.item(room, room.name === current)));
    const others = rooms.filter((room) => !room.joined);
    this.others.replaceChildren(...others.map((room) => this.item(room, room.name === current)));
    this.othersSection.hidden = others.length === 0;
  }

  showName(name: string): void {
    this.nameLabel.textContent = name;
    this.avatar.textContent = initialOf(name);
    this.avatars.paint(this.avatar, name);
  }

  /** Empties the new-room form and what it said (the person moved on: created a room, or opened another). */
  resetNewRoom(): void {
    this.input.value = '';
    this.showHint({ preview: null, problem: null });
  }

  private showHint({ preview, problem }: RoomNameHint): void {
    this.preview.textContent = preview ?? '';
    this.preview.hidden = preview === null;
    this.error.textContent = problem ?? '';
    this.error.hidden = problem === null;
    if (problem === null) this.input.removeAttribute('aria-invalid');
    else this.input.setAttribute('aria-invalid', 'true');
  }

  private item(room: RoomEntry, current: boolean): HTMLLIElement {
    const children: Node[] = [h('span', { class: 'room__hash', text: '#', attrs: { 'aria-hidden': 'true' } }), h('span', { class: 'room__name', text: room.name })];
    if (room.unread > 0 && !current) {
      const count = room.unread > 99 ? '99+' : String(room.unread);
      children.push(h('span', { class: 'room__badge', text: count, attrs: { 'data-testid': 'unread-badge', 'aria-label': `${count} unread` } }));
    }
    const classes = ['room', current ? 'room--current' : '', room.unread > 0 && !current ? 'room--unread' : '', room.joined ? '' : 'room--other'];
    const link = h(
      'a',
      {
        class: classes.filter(Boolean).join(' '),
        attrs: {
          href: hashFor(room.name),
          title: room.joined ? undefined : `Open #${room.name} to join it`,
          'data-testid': 'room-item',
          'data-room': room.name,
          'data-joined': String(room.joined),
          'aria-current': current ? 'page' : undefined,
        },
      },
      children,
    );
    return h('li', {}, [link]);
  }

  private isOpen(): boolean {
    return this.app.classList.contains('app--drawer-open');
  }

  private setOpen(open: boolean): void {
    this.app.classList.toggle('app--drawer-open', open);
    byTestId(this.app, 'menu-button', HTMLButtonElement).setAttribute('aria-expanded', String(open));
  }
}
