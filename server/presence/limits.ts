/**
 * Presence caps: how many metas one key and one topic may hold, and how
 * large a meta's fields may be, so that one user cannot make every
 * newcomer's `presence_state` huge (PROTOCOL.md, Presence).
 *
 * Responsible for the limits, their checks, and the error that reports one.
 * Not responsible for counting entries (`topic.ts`) or when to check
 * (`tracker.ts`).
 */
import type { Payload } from '../../src/protocol';
import type { PresenceMember } from './topic';

/** Presence caps; `PlumeServer` fills them from its options (`presenceMax…`). */
export interface PresenceLimits {
  /** Most metas one key (user) may have in one topic, on every node together. */
  maxMetasPerKey: number;
  /** Most metas one topic may hold, on every node together. */
  maxPerTopic: number;
  /** Largest size of a meta's server fields, and of its client fields, each as JSON in UTF-8 bytes. */
  maxMetaBytes: number;
}

/** The defaults (README, `new PlumeServer(options)`): room for the benchmark's 100 sockets of one user per room. */
export const DEFAULT_PRESENCE_LIMITS: PresenceLimits = { maxMetasPerKey: 128, maxPerTopic: 10_000, maxMetaBytes: 2048 };

/** Why a presence was refused; also the `reason` of the refused join or `plume:presence`. */
export type PresenceLimitReason = 'presence limit' | 'presence fields too large';

/**
 * A track or update that would pass a presence cap. Thrown by
 * `server.presence.track` / `update`; a channel handler that lets it
 * escape from `join` or `handleIn` answers the client `error` with its
 * `reason` instead of crashing.
 *
 * @example
 * try { server.presence.track(socket, meta); } catch (e) { if (e instanceof PresenceLimitError) return refuse(e.reason); throw e; }
 */
export class PresenceLimitError extends Error {
  /** `presence_limit` or `presence_fields_too_large`. */
  readonly code: string;

  constructor(readonly reason: PresenceLimitReason, message: string) {
    super(message);
    this.name = 'PresenceLimitError';
    this.code = reason.replaceAll(' ', '_');
  }
}

/** The size `maxMetaBytes` bounds: the fields as JSON, in UTF-8 bytes. */
export function fieldsBytes(fields: Payload): number {
  return Buffer.byteLength(JSON.stringify(fields));
}

/** Throws when server code's fields (`track`, `update`) are over `maxMetaBytes`. */
export function checkServerFields(fields: Payload, limits: PresenceLimits, what: string): void {
  const bytes = fieldsBytes(fields);
  if (bytes <= limits.maxMetaBytes) return;
  throw new PresenceLimitError('presence fields too large', `${what}: the meta's fields are ${bytes} bytes as JSON, over presenceMaxMetaBytes (${limits.maxMetaBytes}); send less, or raise the option`);
}

/** Throws when a new meta of `key` would pass a count cap, given what the topic holds and is about to hold. */
export function checkRoom(held: { ofKey: number; total: number }, limits: PresenceLimits, key: string, topic: string): void {
  if (held.ofKey >= limits.maxMetasPerKey) {
    throw new PresenceLimitError('presence limit', `presence.track: ${key} already has ${held.ofKey} metas in ${topic}, presenceMaxMetasPerKey`);
  }
  if (held.total >= limits.maxPerTopic) {
    throw new PresenceLimitError('presence limit', `presence.track: ${topic} already has ${held.total} metas, presenceMaxPerTopic`);
  }
}

/**
 * Tracks made while their channel's join still runs (an async `join`): they
 * are not entries yet, but count against the caps, so joins in flight
 * together cannot pass them. Forgotten once active, ended or untracked.
 */
export class PendingTracks {
  private readonly byTopic = new Map<string, Map<PresenceMember, string>>();

  add(member: PresenceMember, key: string): void {
    let pending = this.byTopic.get(member.topic);
    if (!pending) this.byTopic.set(member.topic, (pending = new Map()));
    pending.set(member, key);
  }

  delete(member: PresenceMember): void {
    const pending = this.byTopic.get(member.topic);
    if (!pending?.delete(member)) return;
    if (pending.size === 0) this.byTopic.delete(member.topic);
  }

  /** Pending tracks of `topic`, all and of `key`; a member whose join was refused meanwhile is forgotten here. */
  count(topic: string, key: string): { ofKey: number; total: number } {
    const counts = { ofKey: 0, total: 0 };
    for (const [member, of] of this.byTopic.get(topic) ?? []) {
      if (member.ended) {
        this.delete(member);
        continue;
      }
      counts.total++;
      if (of === key) counts.ofKey++;
    }
    return counts;
  }
}
