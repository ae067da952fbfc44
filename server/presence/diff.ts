/**
 * Accumulates presence changes into one Phoenix-shaped `presence_diff`:
 * the coalescing at the heart of presence under load.
 *
 * Pure and synchronous. Metas are identified by `phx_ref`, which is unique
 * and changes whenever a meta changes, so a meta that joins and leaves
 * within one interval cancels out: whoever receives the diff never knew it.
 * Not responsible for when diffs are sent (`tracker.ts`) or to whom
 * (`topic.ts`).
 */
import type { PresenceDiff, PresenceMeta, PresenceState } from '../../src/protocol';

type Bucket = Map<string, Map<string, PresenceMeta>>;

/**
 * @example
 * const diff = new DiffBuilder();
 * diff.join('ada', { phx_ref: 'r1', name: 'Ada' });
 * diff.leave('bob', { phx_ref: 'r7', name: 'Bob' });
 * diff.take(); // { joins: { ada: { metas: [...] } }, leaves: { bob: { metas: [...] } } }
 * diff.take(); // null: nothing since
 */
export class DiffBuilder {
  private joins: Bucket = new Map();
  private leaves: Bucket = new Map();

  /** True when nothing changed since the last `take()`. */
  get empty(): boolean {
    return this.joins.size === 0 && this.leaves.size === 0;
  }

  /** Records that `meta` joined under `key`. */
  join(key: string, meta: PresenceMeta): void {
    add(this.joins, key, meta);
  }

  /** Records that `meta` left `key`; cancels its join if that is not sent yet. */
  leave(key: string, meta: PresenceMeta): void {
    const pending = this.joins.get(key);
    if (pending?.delete(meta.phx_ref)) {
      if (pending.size === 0) this.joins.delete(key);
      return;
    }
    add(this.leaves, key, meta);
  }

  /** The accumulated diff, or null if there is none; starts over. */
  take(): PresenceDiff | null {
    if (this.empty) return null;
    const diff = { joins: toState(this.joins), leaves: toState(this.leaves) };
    this.joins = new Map();
    this.leaves = new Map();
    return diff;
  }
}

function add(bucket: Bucket, key: string, meta: PresenceMeta): void {
  let metas = bucket.get(key);
  if (!metas) bucket.set(key, (metas = new Map()));
  metas.set(meta.phx_ref, meta);
}

/** A state object that takes any key, `__proto__` included (keys are user identities). */
export function emptyState(): PresenceState {
  return Object.create(null) as PresenceState;
}

function toState(bucket: Bucket): PresenceState {
  const state = emptyState();
  for (const [key, metas] of bucket) state[key] = { metas: [...metas.values()] };
  return state;
}
