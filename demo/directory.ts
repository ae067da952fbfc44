/**
 * The room directory: every client joins `room:directory` to learn about
 * rooms others create.
 *
 * Events on the topic (all relayed as is by the server):
 * | event          | payload                  | meaning |
 * |----------------|--------------------------|---------|
 * | `room_created` | `{ room, by }`           | someone created `room`. |
 * | `hello`        | `{ from }`               | a client (re)joined; others answer with `rooms`. |
 * | `rooms`        | `{ rooms: string[] }`    | the rooms a client knows beyond the defaults. |
 *
 * The relay keeps no history, so `hello`/`rooms` is how a client that opens
 * the app later learns about rooms created before it arrived.
 */
import type { Channel, Payload, Socket } from 'plume';
import { MAX_EXTRA_ROOMS } from './prefs';
import { isRoomName } from './room-name';
import { DIRECTORY_TOPIC } from './rooms';

/**
 * @example
 * const directory = new Directory(socket, () => extraRooms, (rooms) => addRooms(rooms));
 * directory.announce('book-club', 'Ada');
 */
export class Directory {
  private readonly channel: Channel;
  private readonly clientId = crypto.randomUUID();
  private readonly known: () => readonly string[];
  private readonly discovered: (rooms: string[]) => void;

  constructor(socket: Socket, known: () => readonly string[], discovered: (rooms: string[]) => void) {
    this.known = known;
    this.discovered = discovered;
    // Room announcements are rare: no WebRTC links for them (the mesh is for the chat rooms).
    this.channel = socket.channel(DIRECTORY_TOPIC, {}, { mesh: false });
    this.channel.on('room_created', (payload) => this.learn([payload.room]));
    this.channel.on('rooms', (payload) => this.learn(payload.rooms));
    this.channel.on('hello', (payload) => this.greeted(payload));
    this.channel.onStateChange(({ to }) => {
      if (to === 'joined') this.channel.push('hello', { from: this.clientId });
    });
    this.channel.join();
  }

  /** Tells everyone about a room this user created. */
  announce(room: string, by: string): void {
    this.channel.push('room_created', { room, by });
  }

  private greeted(payload: Payload): void {
    if (payload.from === this.clientId) return;
    const rooms = this.known();
    if (rooms.length > 0) this.channel.push('rooms', { rooms: [...rooms] });
  }

  private learn(rooms: unknown): void {
    if (!Array.isArray(rooms)) return;
    const valid = rooms.filter(isRoomName).slice(0, MAX_EXTRA_ROOMS);
    if (valid.length > 0) this.discovered(valid);
  }
}
