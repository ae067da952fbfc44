/**
 * One chat room the user is in: its channel, its message log, and the
 * delivery of the user's own messages through Plume's durable outbox.
 *
 * A message the user writes is stored in the outbox (IndexedDB) under its
 * own id and shown at once as `queued`; Plume sends it once the room is
 * joined, re-sends it across reconnects and reloads, and the server applies
 * it once. Its status follows `socket.outbox.onChange`: `queued` → `sending`
 * → `sent` (acknowledged), or `failed` with the server's reason, to be
 * retried or discarded. The outbox is shared by the tabs of the browser, so
 * every tab shows (and tracks) the messages any of them wrote.
 *
 * Each room also has shared notes (`notes.ts`), on the same channel.
 *
 * What the server delivered is kept in a per-room transcript
 * (`transcript.ts`), since Plume resumes a room after a reload without
 * delivering again what it delivered before. On a first visit the room asks
 * for recent history instead. When Plume reports that it could not recover
 * everything (`recovered: false`) in a room that had messages, the room
 * says some messages may be missing and what the person can do.
 *
 * Not responsible for showing anything: it reports changes to its owner.
 */
import type { Channel, Outbox, OutboxEntry, OutboxStatus, Payload, Recovery, Socket } from 'plume';
import { RoomNotes } from './notes';
import { PeerNames } from './peer-names';
import { RoomPresence } from './presence';
import { MESSAGE_EVENT, MessageLog, draftMessage, parseMessage, toPayload, type ChatMessage, type DeliveryStatus, type MessagePayload } from './messages';
import { topicFor } from './rooms';
import { loadNotice, loadTranscript, remember, saveNotice } from './transcript';

/** How a message in the log changed. */
export type MessageChange = 'added' | 'updated' | 'removed';

export interface RoomListener {
  /** A message was added to the room, changed (status, or its place once delivered), or was removed (discarded). */
  message(room: Room, message: ChatMessage, change: MessageChange): void;
  /** The room was joined, or stopped being joined. */
  joinedChanged(room: Room): void;
  /** The room's notice appeared or was dismissed. */
  noticeChanged(room: Room): void;
}

/** Broadcasts replayed on the first visit to a room (afterwards the room resumes where it stopped). */
const FIRST_VISIT_HISTORY = 50;

const STATUS: Record<OutboxStatus, DeliveryStatus> = { queued: 'queued', sent: 'sending', acked: 'sent', rejected: 'failed', discarded: 'failed' };

/** Shown when a message could not even be stored on this device. */
const NOT_STORED = 'could not be saved on this device';

/**
 * @example
 * const room = new Room(socket, 'lobby', { message: render, joinedChanged: refresh, noticeChanged: showNotice }, () => 'Ada');
 * room.send('hello', 'Ada');
 */
export class Room {
  readonly name: string;
  readonly log = new MessageLog();
  /** Messages from others that arrived while the room was not on screen. */
  unread = 0;
  /** Who is here and who is typing (`presence.ts`). */
  readonly presence: RoomPresence;
  /** The display names of the room's mesh peers (`peer-names.ts`). */
  readonly peers: PeerNames;
  /** The room's shared notes (`notes.ts`). */
  readonly notes: RoomNotes;
  private readonly channel: Channel;
  private readonly outbox: Outbox;
  private readonly listener: RoomListener;
  private noticeText: string | null;
  /** Messages whose storing failed: Retry stores them again (the outbox never had them). */
  private readonly unstored = new Map<string, MessagePayload>();

  /** `self` is the user's display name, told to the room's mesh peers. */
  constructor(socket: Socket, name: string, listener: RoomListener, self: () => string) {
    if (!socket.outbox) throw new Error('Room needs a socket with durable storage: new Socket(url, { durable: durable({ name }) })');
    this.name = name;
    this.listener = listener;
    this.outbox = socket.outbox;
    for (const stored of loadTranscript(name)) this.log.deliver({ ...stored, status: 'sent' });
    this.noticeText = this.log.delivered > 0 ? loadNotice(name) : null;
    this.channel = socket.channel(topicFor(name), {}, { history: FIRST_VISIT_HISTORY });
    this.channel.on(MESSAGE_EVENT, (payload) => this.received(payload));
    this.presence = new RoomPresence(this.channel, name); // before the join, so it hears the first presence_state
    this.peers = new PeerNames(this.channel, self);
    this.notes = new RoomNotes(this.channel, this.presence.presence, self());
    this.channel.onRecover((report) => {
      // Only where there is history that may now be incomplete: in a room that showed nothing yet, nothing was cut short.
      if (!report.recovered && this.log.delivered > 0) this.setNotice(noticeFor(report));
    });
    this.channel.onStateChange(({ from, to }) => {
      if (to === 'joined' || from === 'joined') listener.joinedChanged(this);
    });
    this.outbox.onChange((entry) => this.outboxChanged(entry));
    // Messages written on an earlier visit (or in another tab) and not delivered yet.
    void this.outbox.ready.then(() => {
      for (const entry of [...this.outbox.pending(this.channel.topic), ...this.outbox.rejected(this.channel.topic)]) this.outboxChanged(entry);
    });
    this.channel.join();
  }

  /** True while the room is joined, i.e. messages to it are heard. */
  get joined(): boolean {
    return this.channel.state === 'joined';
  }

  /** Plume's counters for this room: gaps repaired, and the mesh's (peers, relayed vs direct, forwarded). */
  stats(): ReturnType<Channel['stats']> {
    return this.channel.stats();
  }

  /** "Some messages may be missing…" until dismissed, or null. */
  get notice(): string | null {
    return this.noticeText;
  }

  /** Sends a message: shown at once as queued, stored, and delivered when the room is joined. */
  send(body: string, name: string): void {
    const payload = draftMessage(body, name);
    const message: ChatMessage = { ...payload, mine: true, status: 'queued' };
    if (this.log.queue(message)) this.listener.message(this, message, 'added');
    this.store(payload);
  }

  /** Tries a failed message again. */
  retry(id: string): void {
    const unstored = this.unstored.get(id);
    if (unstored) {
      this.unstored.delete(id);
      this.setStatus(id, 'queued');
      this.store(unstored);
      return;
    }
    // The server remembers a refused message id, so a retry is a new message with the same text.
    const refused = this.outbox.get(id);
    if (!refused) return;
    void this.outbox.discard(id);
    this.send(String(refused.payload.body), String(refused.payload.name));
  }

  /** Gives up on a failed message. */
  discard(id: string): void {
    if (this.unstored.delete(id)) this.removed(id);
    else void this.outbox.discard(id);
  }

  dismissNotice(): void {
    this.setNotice(null);
  }

  private store(payload: MessagePayload): void {
    this.channel.send(MESSAGE_EVENT, { ...toPayload(payload) }, { id: payload.id }).catch(() => {
      // The outbox reported the storage error to socket.onError too; here the message says it did not go.
      this.unstored.set(payload.id, payload);
      this.setStatus(payload.id, 'failed', NOT_STORED);
    });
  }

  /** Follows the outbox: our messages from this tab, other tabs and earlier visits. */
  private outboxChanged(entry: OutboxEntry): void {
    if (entry.topic !== this.channel.topic || entry.event !== MESSAGE_EVENT) return;
    // Gone without an acknowledgement: discarded, here or in another tab.
    if (entry.status !== 'acked' && !this.outbox.get(entry.id)) return this.removed(entry.id);
    // A change made while another is being announced is announced first (the flusher sends a
    // message from inside the change that queued it), so the event's copy may be stale: the
    // outbox's current entry is the truth.
    const current = entry.status === 'acked' ? entry : (this.outbox.get(entry.id) ?? entry);
    const known = this.log.get(entry.id);
    if (!known) {
      // An acknowledged message we never showed is on its way as a broadcast.
      if (current.status === 'acked') return;
      const payload = parseMessage(current.payload);
      if (!payload) return;
      const message: ChatMessage = { ...payload, mine: true, status: STATUS[current.status], reason: current.reason, queueKey: current.key };
      if (this.log.queue(message)) this.listener.message(this, message, 'added');
      return;
    }
    known.queueKey ??= current.key;
    this.setStatus(current.id, STATUS[current.status], current.reason);
  }

  private setStatus(id: string, status: DeliveryStatus, reason?: string): void {
    const message = this.log.get(id);
    // Acknowledged is final: a stale copy re-sent after a reload is answered as a duplicate.
    if (!message || message.status === 'sent' || (message.status === status && message.reason === reason)) return;
    message.status = status;
    message.reason = status === 'failed' ? reason : undefined;
    this.listener.message(this, message, 'updated');
  }

  private removed(id: string): void {
    const message = this.log.remove(id);
    if (message) this.listener.message(this, message, 'removed');
  }

  private received(payload: Payload): void {
    const parsed = parseMessage(payload);
    if (!parsed) return;
    const known = this.log.get(parsed.id);
    const message: ChatMessage = known ?? { ...parsed, mine: this.outbox.get(parsed.id) !== undefined, status: 'sent' };
    const change = this.log.deliver(message);
    if (!change) return;
    remember(this.name, { ...parsed, mine: message.mine });
    // One of ours moves from the waiting messages to its place among the delivered ones.
    this.listener.message(this, message, change === 'added' ? 'added' : 'updated');
  }

  private setNotice(text: string | null): void {
    if (text === this.noticeText) return;
    this.noticeText = text;
    saveNotice(this.name, text);
    this.listener.noticeChanged(this);
  }
}

/** What to tell the person when Plume could not recover everything, and what they can do. */
export function noticeFor(report: Recovery): string {
  if (report.reason === 'gap') return 'Some messages may be missing: the server no longer had them. If you need what was said, ask the others.';
  if (report.missed) {
    const count = report.missed.to - report.missed.from + 1;
    return `Some messages may be missing: you were away longer than the server keeps them (${count} message${count === 1 ? '' : 's'}). If you need what was said, ask the others.`;
  }
  return 'Some messages may be missing: the server restarted and lost what was sent while you were disconnected. If you were expecting a reply, ask for it again.';
}
