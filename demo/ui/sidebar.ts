/**
 * The sidebar: the room list (links to `#/room`, with unread counts), the
 * form that creates a room, and the user's name with a button to change it.
 * On narrow screens it is a drawer opened from the header's menu button.
 */
import { h, byTestId } from './dom';
import { hueFor, initialOf } from './format';

export interface RoomEntry {
  name: string;
  unread: number;
}

export interface SidebarHandlers {
  /** Returns an error to show, or null when the room was created. */
  createRoom(input: string): string | null;
  changeName(): void;
}

export class Sidebar {
  private readonly app: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly form: HTMLFormElement;
  private readonly input: HTMLInputElement;
  private readonly error: HTMLElement;
  private readonly nameLabel: HTMLElement;
  private readonly avatar: HTMLElement;

  constructor(app: HTMLElement, handlers: SidebarHandlers) {
    this.app = app;
    this.list = byTestId(app, 'room-list', HTMLUListElement);
    this.form = byTestId(app, 'new-room-form', HTMLFormElement);
    this.input = byTestId(app, 'new-room-input', HTMLInputElement);
    this.error = byTestId(app, 'new-room-error', HTMLElement);
    this.nameLabel = byTestId(app, 'current-name', HTMLElement);
    this.avatar = byTestId(app, 'current-avatar', HTMLElement);

    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      const problem = handlers.createRoom(this.input.value);
      this.error.textContent = problem ?? '';
      this.error.hidden = problem === null;
      if (problem === null) this.input.value = '';
    });
    this.input.addEventListener('input', () => (this.error.hidden = true));
    byTestId(app, 'change-name', HTMLButtonElement).addEventListener('click', () => handlers.changeName());
    byTestId(app, 'menu-button', HTMLButtonElement).addEventListener('click', () => this.setOpen(!this.isOpen()));
    byTestId(app, 'drawer-scrim', HTMLElement).addEventListener('click', () => this.setOpen(false));
    this.list.addEventListener('click', (event) => {
      if (event.target instanceof Element && event.target.closest('a')) this.setOpen(false);
    });
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.isOpen()) this.setOpen(false);
    });
  }

  showRooms(rooms: readonly RoomEntry[], current: string): void {
    this.list.replaceChildren(...rooms.map((room) => this.item(room, room.name === current)));
  }

  showName(name: string): void {
    this.nameLabel.textContent = name;
    this.avatar.textContent = initialOf(name);
    this.avatar.style.setProperty('--hue', String(hueFor(name)));
  }

  private item(room: RoomEntry, current: boolean): HTMLLIElement {
    const children: Node[] = [h('span', { class: 'room__hash', text: '#', attrs: { 'aria-hidden': 'true' } }), h('span', { class: 'room__name', text: room.name })];
    if (room.unread > 0 && !current) {
      const count = room.unread > 99 ? '99+' : String(room.unread);
      children.push(h('span', { class: 'room__badge', text: count, attrs: { 'data-testid': 'unread-badge', 'aria-label': `${count} unread` } }));
    }
    const link = h(
      'a',
      {
        class: `room${current ? ' room--current' : ''}${room.unread > 0 && !current ? ' room--unread' : ''}`,
        attrs: { href: `#/${room.name}`, 'data-testid': 'room-item', 'data-room': room.name, 'aria-current': current ? 'page' : undefined },
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
