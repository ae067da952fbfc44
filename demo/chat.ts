/**
 * The chat session: one socket, the directory, and the rooms the user is in.
 * Turns the socket's states into the four a person cares about.
 *
 * Not responsible for the page: it reports to handlers that `main.ts` wires
 * to the views.
 */
import { Socket, type SocketState, type TransportKind } from 'plume';
import { durable } from 'plume/durable';
import { mesh } from 'plume/mesh';
import { Directory } from './directory';
import type { ChatMessage } from './messages';
import { Room, type MessageChange } from './room';

/** The connection as shown to the user. */
export type Connection = 'connected' | 'connecting' | 'reconnecting' | 'offline';

export interface ChatHandlers {
  /** The connection as shown changed, or the transport under it (long-poll where WebSockets are blocked). */
  connection(state: Connection, transport: TransportKind): void;
  message(room: Room, message: ChatMessage, change: MessageChange): void;
  /** A room was joined or stopped being joined. */
  joinedChanged(room: Room): void;
  /** A room's notice ("some messages may be missing") appeared or was dismissed. */
  noticeChanged(room: Room): void;
  /** How many of our messages, in all rooms and tabs, are waiting to be sent. */
  outboxChanged(waiting: number): void;
  /** Rooms other people told us about (some may be known already); they are not joined. */
  roomsDiscovered(rooms: string[]): void;
}

/**
 * @example
 * const chat = new Chat('Ada', () => extraRooms, handlers);
 * chat.start();
 * chat.room('lobby').send('hello', chat.name);
 */
export class Chat {
  private readonly socket: Socket;
  private readonly directory: Directory;
  private readonly rooms = new Map<string, Room>();
  private readonly handlers: ChatHandlers;
  private currentName: string;
  private wasConnected = false;
  private shown: Connection = 'connecting';
  private shownTransport: TransportKind = 'websocket';
  /** True during `rename()`'s disconnect and connect, which the person should see as "connecting". */
  private renaming = false;

  constructor(name: string, knownRooms: () => readonly string[], handlers: ChatHandlers) {
    this.currentName = name;
    this.handlers = handlers;
    // A function, so a reconnect after a rename presents the new name to the server.
    // Durable: messages are stored in IndexedDB (shared by this browser's tabs) until the server has them.
    // Mesh: where the browser can do WebRTC, members relay each room's messages to each other (no STUN
    // servers: peers on one machine or one network find each other; elsewhere the server sends directly).
    this.socket = new Socket('/socket', {
      params: () => ({ name: this.currentName }),
      durable: durable({ name: 'plume-demo' }),
      mesh: mesh(),
    });
    this.socket.onStateChange(() => this.refresh());
    const outbox = this.socket.outbox!;
    const count = () => handlers.outboxChanged(outbox.pending().length);
    outbox.onChange(count);
    void outbox.ready.then(count);
    this.directory = new Directory(this.socket, knownRooms, (rooms) => handlers.roomsDiscovered(rooms));
  }

  get name(): string {
    return this.currentName;
  }

  get connection(): Connection {
    return this.shown;
  }

  start(): void {
    this.socket.connect();
  }

  /** The room called `name` if it was joined, without joining it. */
  find(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  /** The room called `name`, joined on first use. */
  room(name: string): Room {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(this.socket, name, {
        message: (r, message, change) => this.handlers.message(r, message, change),
        noticeChanged: (r) => this.handlers.noticeChanged(r),
        joinedChanged: (r) => {
          this.refresh();
          this.handlers.joinedChanged(r);
        },
      }, () => this.currentName);
      this.rooms.set(name, room);
    }
    return room;
  }

  /** Joins a new room and tells everyone about it. */
  createRoom(name: string): Room {
    const room = this.room(name);
    this.directory.announce(name, this.currentName);
    return room;
  }

  /** Changes the display name; reconnects so the server knows us by it too. */
  rename(name: string): void {
    if (name === this.currentName) return;
    this.currentName = name;
    for (const room of this.rooms.values()) room.notes.setName(name);
    this.wasConnected = false;
    this.renaming = true;
    this.socket.disconnect('name changed');
    this.socket.connect();
    this.renaming = false;
  }

  /**
   * Recomputes the connection as shown. After (re)connecting it says
   * "connected" only once every room is joined again, because until then
   * messages to those rooms would not arrive yet (they come with the rejoin's replay).
   * Rooms added later do not make it flicker back.
   */
  private refresh(): void {
    const state = this.socket.state;
    const settled = this.shown === 'connected' || [...this.rooms.values()].every((room) => room.joined);
    let next = state === 'open' && settled ? 'connected' : toConnection(state, this.wasConnected, this.renaming);
    // While the browser is offline the socket still tries now and then (connecting, then offline
    // again); to the person it stays offline until the network is back.
    if (next !== 'connected' && !navigator.onLine) next = 'offline';
    if (next === 'connected') this.wasConnected = true;
    const transport = this.socket.transport;
    if (next === this.shown && transport === this.shownTransport) return;
    this.shown = next;
    this.shownTransport = transport;
    this.handlers.connection(next, transport);
  }
}

function toConnection(state: SocketState, wasConnected: boolean, renaming: boolean): Connection {
  switch (state) {
    case 'open':
    case 'connecting':
    case 'reconnecting':
      // Retries before the first success are still "connecting" to the person.
      return wasConnected ? 'reconnecting' : 'connecting';
    case 'closed':
      return renaming ? 'connecting' : 'offline';
    case 'offline':
      return 'offline';
  }
}
