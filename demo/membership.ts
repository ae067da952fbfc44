/**
 * Which rooms this person knows of and which they are in. Everyone is in
 * the default rooms. A room someone else creates is only known: it is
 * offered in the sidebar, and the person joins it by opening it (or by
 * creating it themselves). Joined rooms are the channels the app keeps
 * open: their messages arrive and count as unread while another room is
 * on screen.
 *
 * Remembered in localStorage (`prefs.ts`). Not responsible for the channels
 * themselves (`chat.ts`).
 */
import { loadJoined, loadRooms, MAX_EXTRA_ROOMS, saveJoined, saveRooms } from './prefs';
import { DEFAULT_ROOMS, mergeRooms } from './rooms';

/**
 * @example
 * const rooms = new Membership();
 * rooms.learn(['book-club']);  // offered, not joined
 * rooms.join('book-club');     // opened: now the person is in it
 * rooms.isJoined('book-club'); // => true
 */
export class Membership {
  private known: string[] = loadRooms();
  private joined: string[] = loadJoined().filter((room) => this.known.includes(room));

  /** Every room, defaults first, then the others in the order they became known. */
  all(): string[] {
    return mergeRooms(this.known);
  }

  /** The rooms beyond the defaults that are known (what this person tells others about). */
  extra(): readonly string[] {
    return this.known;
  }

  /** The rooms the person is in. */
  joinedRooms(): string[] {
    return this.all().filter((room) => this.isJoined(room));
  }

  isJoined(room: string): boolean {
    return DEFAULT_ROOMS.includes(room) || this.joined.includes(room);
  }

  /** True when no more rooms can be remembered. */
  get full(): boolean {
    return this.known.length >= MAX_EXTRA_ROOMS;
  }

  /** Remembers rooms heard of, without joining them; returns those that were new. */
  learn(rooms: readonly string[]): string[] {
    const all = new Set(this.all());
    const fresh = [...new Set(rooms)].filter((room) => !all.has(room)).slice(0, Math.max(0, MAX_EXTRA_ROOMS - this.known.length));
    if (fresh.length === 0) return [];
    this.known = [...this.known, ...fresh];
    saveRooms(this.known);
    return fresh;
  }

  /** Joins a room (learning it first if needed); false if it was joined already or cannot be remembered. */
  join(room: string): boolean {
    if (this.isJoined(room)) return false;
    this.learn([room]);
    if (!this.known.includes(room)) return false;
    this.joined = [...this.joined, room];
    saveJoined(this.joined);
    return true;
  }
}
