/**
 * Who is in a room and who is typing there, from the room channel's
 * presence (the relay channel tracks every member with its `name`).
 *
 * This client's own fields are `open`, true while the room is on screen in
 * this tab, and `typing`: set when the person types in the room's composer,
 * cleared when they send, empty the box, or stop typing for a few seconds.
 * Updates are throttled by `Presence` itself. A person is listed in a room
 * only while one of their tabs has it open: members who joined the room
 * but are looking at another one get its messages (and an unread count)
 * without being shown as there.
 *
 * While presence is not live (offline, reconnecting, joining) the room
 * shows the people last seen live, remembered across reloads (`seen.ts`).
 *
 * Not responsible for showing anything (`ui/people.ts`, `ui/typing.ts`).
 */
import { Presence, type Channel, type PresenceEntry, type PresenceMeta } from 'plume';
import { loadSeen, saveSeen, type Seen } from './seen';

/** One person in the room: one presence key, with one meta per tab or device. */
export interface Person {
  key: string;
  name: string;
  /** Tabs or devices this person has the room open in. */
  tabs: number;
  typing: boolean;
}

/** How long after the last keystroke a person stops counting as typing (ms). */
export const TYPING_IDLE_MS = 3_000;

/**
 * The person of a presence entry, counting only the metas (tabs) that have
 * the room open; null when none has.
 * @example toPerson('Ada', { metas: [{ phx_ref: 'r1', name: 'Ada', open: true }] }) // => { key: 'Ada', name: 'Ada', tabs: 1, typing: false }
 */
export function toPerson(key: string, { metas }: PresenceEntry): Person | null {
  const open = metas.filter((meta: PresenceMeta) => meta.open === true);
  if (open.length === 0) return null;
  const named = open.find((meta) => typeof meta.name === 'string');
  return { key, name: typeof named?.name === 'string' ? named.name : key, tabs: open.length, typing: open.some((meta) => meta.typing === true) };
}

/**
 * @example
 * const presence = new RoomPresence(channel, 'lobby');
 * presence.onChange(() => panel.show(presence.people(), presence.live));
 * presence.setOpen(true);
 * input.addEventListener('input', () => presence.typing());
 */
export class RoomPresence {
  /** Plume's presence of the room, for what follows members (the notes' cursors leave with them). */
  readonly presence: Presence;
  private readonly room: string;
  private readonly listeners = new Set<() => void>();
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private isTyping = false;
  /** The people as last seen live: from this visit, or from storage until the room is live. */
  private seen: Seen | null;
  /** JSON of the stored people, to write only when they change (not on every keystroke's typing flag). */
  private storedPeople = '';

  constructor(channel: Channel, room: string) {
    this.room = room;
    this.seen = loadSeen(room);
    this.presence = new Presence(channel);
    // Declares our fields from the start: a reloaded tab that takes over its old presence clears a stale "typing".
    this.presence.update({ typing: false, open: false });
    this.presence.onSync(() => {
      if (this.live) this.remember(false);
      this.notify();
    });
    this.presence.onLiveChange((live) => {
      if (!live) this.wentStale();
      this.notify();
    });
    // The list was current up to the moment the page goes away: a reload shows it as seen then.
    addEventListener('pagehide', () => this.live && this.remember(true));
  }

  /** True while the list is current; false while it shows the people last seen. */
  get live(): boolean {
    return this.presence.live;
  }

  /** While not live: when the people shown were last known to be here (null: never seen live). */
  get seenAt(): number | null {
    return this.seen?.at ?? null;
  }

  /** Everyone with the room open, in the order they arrived; while not live, those last seen. */
  people(): Person[] {
    if (!this.live) return this.seen?.people ?? [];
    return this.presence.list(toPerson).filter((person): person is Person => person !== null);
  }

  /** Calls back whenever the people, their typing, or whether the list is live change. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The room is on screen in this tab (true), or no longer (false). */
  setOpen(open: boolean): void {
    if (!open) this.stopTyping();
    this.presence.update({ open });
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

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Notes the live list as seen now; stores it when the people changed (not their typing), or when `always`. */
  private remember(always: boolean): void {
    const people = this.people().map((person) => ({ ...person, typing: false }));
    this.seen = { at: Date.now(), people };
    const json = JSON.stringify(people);
    if (json === this.storedPeople && !always) return;
    this.storedPeople = json;
    saveSeen(this.room, this.seen);
  }

  /** The list stopped being live: it was current until now. */
  private wentStale(): void {
    if (!this.seen) return;
    this.seen = { ...this.seen, at: Date.now() };
    saveSeen(this.room, this.seen);
  }
}
