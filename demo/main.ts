/**
 * The demo chat app's entry: reads what was remembered, asks for a name on
 * the first visit, starts the chat session and wires it to the views.
 *
 * The app's state lives here (the rooms, the room on screen); the session is
 * in `chat.ts`, the views in `ui/`.
 */
import { Chat, type ChatHandlers } from './chat';
import type { ChatMessage } from './messages';
import { loadName, loadRooms, MAX_EXTRA_ROOMS, saveName, saveRooms } from './prefs';
import type { MessageChange, Room } from './room';
import { DEFAULT_ROOMS, hashFor, mergeRooms, normalizeRoomName, roomFromHash } from './rooms';
import { Composer } from './ui/composer';
import { byTestId } from './ui/dom';
import { MessageList } from './ui/message-list';
import { MeshPanel } from './ui/mesh-panel';
import { NameDialog } from './ui/name-dialog';
import { PresenceView } from './ui/presence-view';
import { RoomNotice } from './ui/room-notice';
import { Sidebar } from './ui/sidebar';
import { StatusView } from './ui/status';

const HOME = DEFAULT_ROOMS[0] ?? 'lobby';

const app = byTestId(document, 'app', HTMLElement);
const title = byTestId(app, 'room-title', HTMLElement);
const status = new StatusView(byTestId(app, 'connection-status', HTMLElement), byTestId(app, 'connection-banner', HTMLElement));
const dialog = new NameDialog(document);
const sidebar = new Sidebar(app, { createRoom, changeName });
const messages = new MessageList(app, { retry: (id) => chat?.room(current).retry(id), discard: (id) => chat?.room(current).discard(id) });
const notice = new RoomNotice(app, () => chat?.room(current).dismissNotice());
const composer = new Composer(app, (body) => chat?.room(current).send(body, chat.name));
const presence = new PresenceView(app, () => chat?.name ?? '');
const meshPanel = new MeshPanel(app);

let extraRooms = loadRooms();
let current = HOME;
let chat: Chat | null = null;

const handlers: ChatHandlers = {
  connection: (state) => status.show(state),
  message: messageChanged,
  joinedChanged: (room) => {
    if (room.name === current) messages.setJoined(room.name, room.joined);
  },
  noticeChanged: (room) => {
    if (room.name === current) notice.show(room.notice);
  },
  outboxChanged: (waiting) => status.showWaiting(waiting),
  roomsDiscovered: (rooms) => {
    if (addRooms(rooms)) renderRooms();
  },
};

function allRooms(): string[] {
  return mergeRooms(extraRooms);
}

/** Remembers rooms and joins them; returns whether any was new. */
function addRooms(rooms: readonly string[]): boolean {
  const known = new Set(allRooms());
  const fresh = rooms.filter((room) => !known.has(room)).slice(0, Math.max(0, MAX_EXTRA_ROOMS - extraRooms.length));
  if (fresh.length === 0) return false;
  extraRooms = [...extraRooms, ...fresh];
  saveRooms(extraRooms);
  for (const room of fresh) chat?.room(room);
  return true;
}

function createRoom(input: string): string | null {
  const room = normalizeRoomName(input);
  if (!room) return input.trim() ? 'Use letters, numbers and dashes (“directory” is taken).' : 'Type a name for the room.';
  if (!allRooms().includes(room)) {
    if (extraRooms.length >= MAX_EXTRA_ROOMS) return `You can keep up to ${MAX_EXTRA_ROOMS} rooms of your own.`;
    addRooms([room]);
    chat?.createRoom(room);
  }
  location.hash = hashFor(room);
  return null;
}

async function changeName(): Promise<void> {
  const name = await dialog.ask({ current: chat?.name ?? loadName(), required: false });
  if (!name || !chat) return;
  saveName(name);
  sidebar.showName(name);
  chat.rename(name);
}

function messageChanged(room: Room, message: ChatMessage, change: MessageChange): void {
  if (room.name === current) {
    // Where it goes: our waiting messages stay last, and move up among the delivered ones once through.
    if (change === 'added') messages.add(message, room.log.nextId(message.id));
    else if (change === 'updated') messages.update(message, room.log.nextId(message.id));
    else messages.remove(message.id);
    return;
  }
  if (change === 'added' && !message.mine) {
    room.unread++;
    renderRooms();
  }
}

function renderRooms(): void {
  const rooms = allRooms().map((name) => ({ name, unread: chat?.room(name).unread ?? 0 }));
  sidebar.showRooms(rooms, current);
  const unread = rooms.reduce((sum, room) => sum + (room.name === current ? 0 : room.unread), 0);
  document.title = `${unread > 0 ? `(${unread}) ` : ''}#${current} · Plume Chat`;
}

/** Shows the room the URL points at; an unknown but valid room is added (someone shared a link). */
function followHash(): void {
  const room = roomFromHash(location.hash);
  if (!room) {
    location.replace(hashFor(HOME));
    return;
  }
  addRooms([room]);
  current = room;
  title.textContent = room;
  composer.setRoom(room);
  const session = chat?.room(room);
  if (session) session.unread = 0;
  messages.show(room, session?.log.messages ?? [], session?.joined ?? false);
  presence.follow(session?.presence ?? null);
  meshPanel.follow(session ? { name: room, stats: () => session.stats(), memberNames: () => session.peers.all() } : null);
  notice.show(session?.notice ?? null);
  renderRooms();
  composer.focus();
}

async function main(): Promise<void> {
  status.show('connecting');
  window.addEventListener('hashchange', followHash);
  followHash();
  const name = loadName() ?? (await dialog.ask({ current: null, required: true }));
  if (!name) throw new Error('a required name dialog resolved without a name');
  saveName(name);
  sidebar.showName(name);
  chat = new Chat(name, () => extraRooms, handlers);
  for (const room of allRooms()) chat.room(room);
  followHash();
  chat.start();
}

void main();
