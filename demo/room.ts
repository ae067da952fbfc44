/**
 * One chat room the user is in: its channel, its message log, and the
 * delivery of the user's own messages.
 *
 * A message written while the room is not joined waits (`queued`) and goes
 * out when the room is joined again; one pushed and not answered when the
 * connection drops is pushed again after the rejoin. Receivers drop a second
 * copy by id, so resending is always safe. A message the server refused, or
 * did not answer while connected, is `failed` and can be retried.
 *
 * Not responsible for showing anything: it reports changes to its owner.
 */
import type { Channel, Payload, Socket } from 'plume';
import { MESSAGE_EVENT, MessageLog, draftMessage, parseMessage, toPayload, type ChatMessage, type DeliveryStatus } from './messages';
import { topicFor } from './rooms';

export interface RoomListener {
  /** A message was added to the room (`added`) or changed its delivery status. */
  message(room: Room, message: ChatMessage, added: boolean): void;
  /** The room was joined, or stopped being joined. */
  joinedChanged(room: Room): void;
}

/**
 * @example
 * const room = new Room(socket, 'lobby', { message: render, joinedChanged: refresh });
 * room.send('hello', 'Ada');
 */
export class Room {
  readonly name: string;
  readonly log = new MessageLog();
  /** Messages from others that arrived while the room was not on screen. */
  unread = 0;
  private readonly channel: Channel;
  private readonly listener: RoomListener;
  /** Latest delivery attempt per message id; answers to older attempts are ignored. */
  private readonly attempts = new Map<string, number>();

  constructor(socket: Socket, name: string, listener: RoomListener) {
    this.name = name;
    this.listener = listener;
    this.channel = socket.channel(topicFor(name));
    this.channel.on(MESSAGE_EVENT, (payload) => this.received(payload));
    this.channel.onStateChange(({ from, to }) => {
      if (to === 'joined') this.flush();
      if (to === 'joined' || from === 'joined') listener.joinedChanged(this);
    });
    this.channel.join();
  }

  /** True while the room is joined, i.e. messages to it are heard. */
  get joined(): boolean {
    return this.channel.state === 'joined';
  }

  /** Sends a message now, or as soon as the room is joined. */
  send(body: string, name: string): ChatMessage {
    const message = draftMessage(body, name);
    this.log.add(message);
    this.listener.message(this, message, true);
    this.deliver(message);
    return message;
  }

  /** Tries a failed message again. */
  retry(id: string): void {
    const message = this.log.get(id);
    if (message?.mine && message.status === 'failed') this.deliver(message);
  }

  /** Sends everything of ours the server has not confirmed. */
  private flush(): void {
    for (const message of this.log.messages) if (message.mine && message.status !== 'sent') this.deliver(message);
  }

  private deliver(message: ChatMessage): void {
    if (!this.joined) return this.setStatus(message, 'queued');
    const attempt = (this.attempts.get(message.id) ?? 0) + 1;
    this.attempts.set(message.id, attempt);
    this.setStatus(message, 'sending');
    const settle = (status: DeliveryStatus) => {
      if (this.attempts.get(message.id) !== attempt) return;
      // Lost with the connection: it goes out again when the room is rejoined.
      this.setStatus(message, status === 'failed' && !this.joined ? 'queued' : status);
    };
    this.channel
      .push(MESSAGE_EVENT, { ...toPayload(message) })
      .receive('ok', () => settle('sent'))
      .receive('error', () => settle('failed'))
      .receive('timeout', () => settle('failed'));
  }

  private setStatus(message: ChatMessage, status: DeliveryStatus): void {
    if (message.status === status || message.status === 'sent') return;
    message.status = status;
    if (status === 'sent') this.attempts.delete(message.id);
    this.listener.message(this, message, false);
  }

  private received(payload: Payload): void {
    const parsed = parseMessage(payload);
    if (!parsed) return;
    const existing = this.log.get(parsed.id);
    if (existing) {
      // Our own message coming back from the broadcast: proof it was delivered.
      if (existing.mine) this.setStatus(existing, 'sent');
      return;
    }
    const message: ChatMessage = { ...parsed, mine: false, status: 'sent' };
    if (this.log.add(message)) this.listener.message(this, message, true);
  }
}
