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
 * Where one of our own messages is, as the durable outbox reports it:
 * stored and waiting (`queued`), on the wire (`sending`), acknowledged by the
 * server (`sent`), or refused for good (`failed`, with a reason).
 * Messages from others are always `sent`.
 */
export type DeliveryStatus = 'queued' | 'sending' | 'sent' | 'failed';

/** A message as the app shows it. */
export interface ChatMessage extends MessagePayload {
  /** Sent from this browser (through its outbox), possibly from another tab or an earlier visit. */
  mine: boolean;
  status: DeliveryStatus;
  /** Why the server refused it (status `failed`). */
  reason?: string;
  /** The outbox's sort key while the message waits: pending messages show in the order they were written. */
  queueKey?: string;
}

/** The event messages travel under. */
export const MESSAGE_EVENT = 'new_msg';

/** Longest message body a person can send, in characters (well under the server's 64 KiB frame limit). */
export const MAX_BODY = 2000;

/** Messages kept per room; older ones are dropped from view. */
const MAX_KEPT = 500;

/**
 * Checks a payload from the network; anything malformed is dropped (null),
 * since any member of a room can push anything. A server with
 * authentication stamps the sender as `from: { id, name }` (PROTOCOL.md §8):
 * that name wins over the one the sender wrote. In dev mode there is no
 * `from`, and the name a member picked is all there is. A body longer than this
 * app sends (another client's) is shown whole, not cut: the server's frame
 * limit bounds it.
 */
export function parseMessage(payload: Record<string, unknown>): MessagePayload | null {
  const { id, body, sentAt } = payload;
  const from = payload.from as { name?: unknown } | undefined;
  const name = typeof from?.name === 'string' ? from.name : payload.name;
  if (typeof id !== 'string' || id.length === 0 || id.length > 100) return null;
  if (typeof body !== 'string' || body.trim().length === 0) return null;
  if (typeof name !== 'string' || name.trim().length === 0) return null;
  if (typeof sentAt !== 'number' || !Number.isFinite(sentAt)) return null;
  return { id, body, name: name.slice(0, 64), sentAt };
}

/** Creates the payload of a new message of ours; its id is also its outbox id. */
export function draftMessage(body: string, name: string, now = Date.now()): MessagePayload {
  return { id: crypto.randomUUID(), body, name, sentAt: now };
}

/** The wire payload of a message. */
export function toPayload({ id, body, name, sentAt }: MessagePayload): MessagePayload {
  return { id, body, name, sentAt };
}

/**
 * One room's messages, each once: first those the server delivered, in its
 * order, then ours still waiting to be delivered, in the order they were
 * written. When one of ours is delivered it moves to the end of the first
 * part, so everyone sees the same order once it is through.
 */
export class MessageLog {
  private readonly deliveredList: ChatMessage[] = [];
  private pending: ChatMessage[] = [];
  private readonly byId = new Map<string, ChatMessage>();

  /** Delivered messages, then pending ones. */
  get messages(): readonly ChatMessage[] {
    return [...this.deliveredList, ...this.pending];
  }

  /** How many messages the server delivered are held (the room's history as this person saw it). */
  get delivered(): number {
    return this.deliveredList.length;
  }

  get(id: string): ChatMessage | undefined {
    return this.byId.get(id);
  }

  /**
   * Records a message the server delivered. Returns `added` for a new one,
   * `moved` when it was one of ours waiting (now in its place), null when it
   * was delivered already.
   */
  deliver(message: ChatMessage): 'added' | 'moved' | null {
    const waiting = this.pending.find((m) => m.id === message.id);
    if (waiting) {
      this.pending = this.pending.filter((m) => m !== waiting);
      this.deliveredList.push(waiting);
      this.trim();
      return 'moved';
    }
    if (this.byId.has(message.id)) return null;
    this.deliveredList.push(message);
    this.byId.set(message.id, message);
    this.trim();
    return 'added';
  }

  /** Adds one of ours that waits to be delivered, in queue order; false if it is known already. */
  queue(message: ChatMessage): boolean {
    if (this.byId.has(message.id)) return false;
    const key = message.queueKey ?? '\uffff';
    const at = this.pending.findIndex((m) => (m.queueKey ?? '\uffff') > key);
    this.pending.splice(at === -1 ? this.pending.length : at, 0, message);
    this.byId.set(message.id, message);
    return true;
  }

  /** Removes a message that waits (a refused one the user discarded); returns it. */
  remove(id: string): ChatMessage | undefined {
    const message = this.pending.find((m) => m.id === id);
    if (!message) return undefined;
    this.pending = this.pending.filter((m) => m !== message);
    this.byId.delete(id);
    return message;
  }

  /** The id of the message shown after this one, or null if it is the last. */
  nextId(id: string): string | null {
    const all = this.messages;
    const index = all.findIndex((m) => m.id === id);
    return index === -1 ? null : (all[index + 1]?.id ?? null);
  }

  private trim(): void {
    while (this.deliveredList.length > MAX_KEPT) {
      const dropped = this.deliveredList.shift();
      if (dropped) this.byId.delete(dropped.id);
    }
  }
}
