/**
 * Who is in a room and who is typing there, from the room channel's
 * presence (the relay channel tracks every member with its `name`).
 *
 * This client's own field is `typing`: set when the person types in the
 * room's composer, cleared when they send, empty the box, or stop typing for
 * a few seconds. Updates are throttled by `Presence` itself.
 *
 * Not responsible for showing anything (`ui/people.ts`, `ui/typing.ts`).
 */
import { Presence, type Channel, type PresenceEntry } from 'plume';

/** One person in the room: one presence key, with one meta per tab or device. */
export interface Person {
  key: string;
  name: string;
  /** Tabs or devices this person has in the room. */
  tabs: number;
  typing: boolean;
}

/** How long after the last keystroke a person stops counting as typing (ms). */
export const TYPING_IDLE_MS = 3_000;

function toPerson(key: string, { metas }: PresenceEntry): Person {
  const named = metas.find((meta) => typeof meta.name === 'string');
  return { key, name: typeof named?.name === 'string' ? named.name : key, tabs: metas.length, typing: metas.some((meta) => meta.typing === true) };
}

/**
 * @example
 * const presence = new RoomPresence(channel);
 * presence.onChange(() => panel.show(presence.people()));
 * input.addEventListener('input', () => presence.typing());
 */
export class RoomPresence {
  private readonly presence: Presence;
  private readonly listeners = new Set<() => void>();
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private isTyping = false;

  constructor(channel: Channel) {
    this.presence = new Presence(channel);
    // Declares our field from the start: a reloaded tab that takes over its old presence clears a stale "typing".
    this.presence.update({ typing: false });
    this.presence.onSync(() => {
      for (const listener of this.listeners) listener();
    });
  }

  /** Everyone in the room, in the order they arrived. */
  people(): Person[] {
    return this.presence.list(toPerson);
  }

  /** Calls back whenever the people or their typing change. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The person typed in this room's composer. */
  typing(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
    if (this.isTyping) return;
    this.isTyping = true;
    this.presence.update({ typing: true });
  }

  /** The person sent, emptied the box, or paused. */
  stopTyping(): void {
    clearTimeout(this.idleTimer);
    if (!this.isTyping) return;
    this.isTyping = false;
    this.presence.update({ typing: false });
  }
}
