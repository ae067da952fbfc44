/**
 * The demo chat app's entry: reads what was remembered, asks for a name on
 * the first visit, starts the chat session and wires it to the views.
 *
 * The app's state lives here (the rooms known and joined, the room on
 * screen); the session is in `chat.ts`, the views in `ui/`.
 */
import { Chat, type ChatHandlers } from './chat';
import { Membership } from './membership';
import type { ChatMessage } from './messages';
import { loadName, MAX_EXTRA_ROOMS, saveName } from './prefs';
import type { MessageChange, Room } from './room';
import { checkRoomName } from './room-name';
import { DEFAULT_ROOMS, hashFor, roomFromHash } from './rooms';
import { Composer } from './ui/composer';
import { Avatars } from './ui/avatars';
import { byTestId } from './ui/dom';
import { MessageList } from './ui/message-list';
import { MeshPanel } from './ui/mesh-panel';
import { NameDialog } from './ui/name-dialog';
import { NotesPane } from './ui/notes-pane';
import { PresenceView } from './ui/presence-view';
import { RoomNotice } from './ui/room-notice';
import { Sidebar, type RoomNameHint } from './ui/sidebar';
import { StatusView } from './ui/status';

const HOME = DEFAULT_ROOMS[0] ?? 'lobby';
const FULL = `You can keep up to ${MAX_EXTRA_ROOMS} rooms of your own.`;

const rooms = new Membership();
let current = HOME;
let chat: Chat | null = null;

const app = byTestId(document, 'app', HTMLElement);
const title = byTestId(app, 'room-title', HTMLElement);
const status = new StatusView(byTestId(app, 'connection-status', HTMLElement), byTestId(app, 'connection-banner', HTMLElement));
const dialog = new NameDialog(document);
const avatars = new Avatars(() => [chat?.name ?? loadName() ?? '']);
const sidebar = new Sidebar(app, { checkRoom, createRoom, changeName }, avatars);
const messages = new MessageList(app, { retry: (id) => chat?.room(current).retry(id), discard: (id) => chat?.room(current).discard(id) }, avatars);
const notice = new RoomNotice(app, () => chat?.room(current).dismissNotice());
const composer = new Composer(app, (body) => chat?.room(current).send(body, chat.name));
const presence = new PresenceView(app, () => chat?.name ?? '', avatars);
const meshPanel = new MeshPanel(app, avatars);
const notesPane = new NotesPane(app);

const handlers: ChatHandlers = {
  connection: (state, transport) => {
    status.show(state, transport);
    presence.setConnection(state);
  },
  message: messageChanged,
  joinedChanged: (room) => {
    if (room.name === current) messages.setJoined(room.name, room.joined);
  },
  noticeChanged: (room) => {
    if (room.name === current) notice.show(room.notice);
  },
  outboxChanged: (waiting) => status.showWaiting(waiting),
  roomsDiscovered: (discovered) => {
    // Offered in the sidebar; nobody is put in a room they did not open.
    if (rooms.learn(discovered).length > 0) renderRooms();
  },
};

/** Joins a room: the person opened it or created it. */
function joinRoom(room: string): void {
  if (rooms.join(room)) chat?.room(room);
}

function checkRoom(input: string): RoomNameHint {
  const checked = checkRoomName(input);
  if (!checked.ok) return { preview: null, problem: checked.problem };
  const room = checked.name;
  if (rooms.isJoined(room)) return { preview: `Opens #${room}, which you are already in`, problem: null };
  if (rooms.all().includes(room)) return { preview: `Joins #${room}`, problem: null };
  if (rooms.full) return { preview: null, problem: FULL };
  return { preview: `Creates #${room}`, problem: null };
}

function createRoom(input: string): string | null {
  const checked = checkRoomName(input);
  if (!checked.ok) return checked.problem ?? 'Type a name for the room.';
  const room = checked.name;
  if (!rooms.all().includes(room)) {
    if (rooms.full) return FULL;
    joinRoom(room);
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
  const entries = rooms.all().map((name) => ({ name, unread: chat?.find(name)?.unread ?? 0, joined: rooms.isJoined(name) }));
  sidebar.showRooms(entries, current);
  const unread = entries.reduce((sum, room) => sum + (room.name === current ? 0 : room.unread), 0);
  document.title = `${unread > 0 ? `(${unread}) ` : ''}#${current} · Plume Chat`;
}

/** Shows the room the URL points at, joining it if needed (opened from the list, or from a shared link). */
function followHash(): void {
  const room = roomFromHash(location.hash);
  if (!room) {
    location.replace(hashFor(HOME));
    return;
  }
  joinRoom(room);
  if (room !== current) sidebar.resetNewRoom();
  current = room;
  title.textContent = room;
  composer.setRoom(room);
  const session = chat?.room(room);
  if (session) session.unread = 0;
  avatars.reset();
  messages.show(room, session?.log.messages ?? [], session?.joined ?? false);
  presence.follow(session?.presence ?? null);
  meshPanel.follow(session ? { name: room, stats: () => session.stats(), memberNames: () => session.peers.all() } : null);
  notesPane.follow(room, session?.notes ?? null);
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
  chat = new Chat(name, () => rooms.extra(), handlers);
  for (const room of rooms.joinedRooms()) chat.room(room);
  followHash();
  chat.start();
}

void main();
