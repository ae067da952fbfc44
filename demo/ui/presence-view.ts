/**
 * Presence on screen: follows the room being shown, renders its people and
 * who is typing, and tells the room when this person types in the composer.
 */
import type { RoomPresence } from '../presence';
import { byTestId } from './dom';
import { PeoplePanel } from './people';
import { TypingLine } from './typing';

/**
 * @example
 * const view = new PresenceView(app, () => chat.name);
 * view.follow(chat.room('lobby').presence); // on every room switch
 */
export class PresenceView {
  private readonly panel: PeoplePanel;
  private readonly typingLine: TypingLine;
  private readonly self: () => string;
  private presence: RoomPresence | null = null;
  private unfollow: (() => void) | null = null;

  constructor(app: HTMLElement, self: () => string) {
    this.panel = new PeoplePanel(app);
    this.typingLine = new TypingLine(app);
    this.self = self;
    const input = byTestId(app, 'composer', HTMLTextAreaElement);
    input.addEventListener('input', () => (input.value.trim() ? this.presence?.typing() : this.presence?.stopTyping()));
    byTestId(app, 'composer-form', HTMLFormElement).addEventListener('submit', () => this.presence?.stopTyping());
  }

  /** Shows the presence of the room on screen (null before the session starts). */
  follow(presence: RoomPresence | null): void {
    if (presence === this.presence) return;
    this.presence?.stopTyping();
    this.unfollow?.();
    this.presence = presence;
    this.unfollow = presence?.onChange(() => this.render()) ?? null;
    this.render();
  }

  private render(): void {
    const people = this.presence?.people() ?? [];
    const self = this.self();
    this.panel.show(people, self);
    this.typingLine.show(people.filter((person) => person.typing && person.key !== self).map((person) => person.name));
  }
}
