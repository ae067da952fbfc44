/**
 * Presence on screen: follows the room being shown (telling the room it is
 * open in this tab, and the previous one that it no longer is), renders
 * its people and who is typing, and tells the room when this person types
 * in the composer. While the room's presence is not live it shows the
 * people last seen, with why (the connection's state).
 */
import type { Connection } from '../chat';
import type { RoomPresence } from '../presence';
import type { Avatars } from './avatars';
import { byTestId } from './dom';
import { PeoplePanel } from './people';
import { TypingLine } from './typing';

/**
 * @example
 * const view = new PresenceView(app, () => chat.name, avatars);
 * view.follow(chat.room('lobby').presence); // on every room switch
 * view.setConnection('offline');
 */
export class PresenceView {
  private readonly panel: PeoplePanel;
  private readonly typingLine: TypingLine;
  private readonly self: () => string;
  private presence: RoomPresence | null = null;
  private unfollow: (() => void) | null = null;
  private connection: Connection = 'connecting';

  constructor(app: HTMLElement, self: () => string, avatars: Avatars) {
    this.panel = new PeoplePanel(app, avatars);
    this.typingLine = new TypingLine(app);
    this.self = self;
    const input = byTestId(app, 'composer', HTMLTextAreaElement);
    input.addEventListener('input', () => (input.value.trim() ? this.presence?.typing() : this.presence?.stopTyping()));
    byTestId(app, 'composer-form', HTMLFormElement).addEventListener('submit', () => this.presence?.stopTyping());
  }

  /** Shows the presence of the room on screen (null before the session starts). */
  follow(presence: RoomPresence | null): void {
    if (presence === this.presence) return;
    this.presence?.setOpen(false);
    this.unfollow?.();
    this.presence = presence;
    presence?.setOpen(true);
    this.unfollow = presence?.onChange(() => this.render()) ?? null;
    this.render();
  }

  /** The connection as shown to the person: says why a list that is not live is not. */
  setConnection(connection: Connection): void {
    this.connection = connection;
    this.render();
  }

  private render(): void {
    const presence = this.presence;
    const people = presence?.people() ?? [];
    const self = this.self();
    const live = presence?.live ?? false;
    this.panel.show({ people, self, live, seenAt: presence?.seenAt ?? null, connection: this.connection });
    this.typingLine.show(live ? people.filter((person) => person.typing && person.key !== self).map((person) => person.name) : []);
  }
}
