/**
 * Chat messages: the wire shape, checking what arrives, and one room's log
 * that holds each message once (by id) whatever order its copies arrive in.
 *
 * No DOM and no sockets here.
 */

/** What a message looks like on the wire (the payload of `new_msg`). */
export interface MessagePayload {
  id: string;
  body: string;
  name: string;
  sentAt: number;
}

/**
 * Where one of our own messages is: waiting for the connection, pushed and
 * unconfirmed, confirmed by the server, or refused / unanswered.
 * Messages from others are always `sent`.
 */
export type DeliveryStatus = 'queued' | 'sending' | 'sent' | 'failed';

/** A message as the app shows it. */
export interface ChatMessage extends MessagePayload {
  /** Sent from this tab. */
  mine: boolean;
  status: DeliveryStatus;
}

/** The event messages travel under. */
export const MESSAGE_EVENT = 'new_msg';

/** Longest message body, in characters (well under the server's 64 KiB frame limit). */
export const MAX_BODY = 2000;

/** Messages kept per room; older ones are dropped from view. */
const MAX_KEPT = 500;

/**
 * Checks a payload from the network; anything malformed is dropped (null),
 * since any member of a room can push anything.
 */
export function parseMessage(payload: Record<string, unknown>): MessagePayload | null {
  const { id, body, name, sentAt } = payload;
  if (typeof id !== 'string' || id.length === 0 || id.length > 100) return null;
  if (typeof body !== 'string' || body.trim().length === 0) return null;
  if (typeof name !== 'string' || name.trim().length === 0) return null;
  if (typeof sentAt !== 'number' || !Number.isFinite(sentAt)) return null;
  return { id, body: body.slice(0, MAX_BODY), name: name.slice(0, 64), sentAt };
}

/** Creates one of our own messages, ready to push. */
export function draftMessage(body: string, name: string, now = Date.now()): ChatMessage {
  return { id: crypto.randomUUID(), body, name, sentAt: now, mine: true, status: 'sending' };
}

/** The wire payload of a message. */
export function toPayload({ id, body, name, sentAt }: ChatMessage): MessagePayload {
  return { id, body, name, sentAt };
}

/** One room's messages in arrival order, each once. */
export class MessageLog {
  private readonly list: ChatMessage[] = [];
  private readonly byId = new Map<string, ChatMessage>();

  get messages(): readonly ChatMessage[] {
    return this.list;
  }

  get(id: string): ChatMessage | undefined {
    return this.byId.get(id);
  }

  /** Adds a message unless one with its id is already here; returns whether it was added. */
  add(message: ChatMessage): boolean {
    if (this.byId.has(message.id)) return false;
    this.list.push(message);
    this.byId.set(message.id, message);
    if (this.list.length > MAX_KEPT) {
      const dropped = this.list.shift();
      if (dropped) this.byId.delete(dropped.id);
    }
    return true;
  }

  /** Our messages that did not get through. */
  failed(): ChatMessage[] {
    return this.list.filter((m) => m.mine && m.status === 'failed');
  }
}
