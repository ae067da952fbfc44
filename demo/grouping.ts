/**
 * Grouping a conversation: a message that follows one from the same person
 * within a few minutes continues it (drawn without the avatar and name
 * again), as chat apps do, so a run of messages reads as one turn.
 *
 * Pure; the message list applies it (`ui/message-list.ts`).
 */

/** Longest pause within one person's run of messages (ms). */
export const GROUP_PAUSE_MS = 5 * 60_000;

/** What grouping looks at in a message. */
export interface Groupable {
  name: string;
  /** Ours: sent from this browser (drawn on the other side). */
  mine: boolean;
  sentAt: number;
}

/**
 * True when `message` continues the run of `previous` (the message drawn just before it).
 * @example continuesRun({ name: 'Ada', mine: false, sentAt: 0 }, { name: 'Ada', mine: false, sentAt: 60_000 }) // => true
 */
export function continuesRun(previous: Groupable | null, message: Groupable): boolean {
  if (!previous) return false;
  return previous.name === message.name && previous.mine === message.mine && Math.abs(message.sentAt - previous.sentAt) < GROUP_PAUSE_MS;
}
