/**
 * Applying other nodes' presences to this node's topics: deltas, full
 * states that replace a node's replica, and a node's departure.
 *
 * Pure bookkeeping over the topic map; every function returns the topics it
 * changed, so the caller schedules their diffs. Not responsible for the
 * replication protocol (`cluster.ts`).
 */
import type { PresenceDiff, PresenceState } from '../../src/protocol';
import type { NodeState } from './cluster';
import { TopicPresence } from './topic';

/** The topics of this node by name; created on first use. */
export class Topics extends Map<string, TopicPresence> {
  /** The topic called `name`, created if needed. */
  ensure(name: string): TopicPresence {
    let topic = this.get(name);
    if (!topic) this.set(name, (topic = new TopicPresence(name)));
    return topic;
  }
}

/** Applies `node`'s changes to one topic: joins first, then leaves, as Phoenix does. */
export function applyDelta(topics: Topics, node: string, name: string, diff: PresenceDiff): TopicPresence {
  const topic = topics.ensure(name);
  for (const [key, { metas }] of Object.entries(diff.joins)) {
    for (const meta of metas) if (!topic.find(key, meta.phx_ref)) topic.add({ key, meta, node });
  }
  for (const [key, { metas }] of Object.entries(diff.leaves)) {
    for (const meta of metas) {
      const entry = topic.find(key, meta.phx_ref);
      if (entry?.node === node) topic.remove(entry);
    }
  }
  return topic;
}

/** Makes what this node holds of `node` equal to its full state. */
export function replaceNode(topics: Topics, node: string, state: NodeState): Set<TopicPresence> {
  const changed = new Set<TopicPresence>();
  for (const [name, topic] of topics) {
    const next = state[name];
    for (const entry of [...topic.entries()]) {
      if (entry.node === node && !holds(next, entry.key, entry.meta.phx_ref) && topic.remove(entry)) changed.add(topic);
    }
  }
  for (const [name, presences] of Object.entries(state)) {
    changed.add(applyDelta(topics, node, name, { joins: presences, leaves: {} }));
  }
  return changed;
}

/** Forgets every presence of `node`. */
export function dropNode(topics: Topics, node: string): Set<TopicPresence> {
  const changed = new Set<TopicPresence>();
  for (const topic of topics.values()) {
    for (const entry of [...topic.entries()]) if (entry.node === node && topic.remove(entry)) changed.add(topic);
  }
  return changed;
}

function holds(state: PresenceState | undefined, key: string, ref: string): boolean {
  return state?.[key]?.metas.some((meta) => meta.phx_ref === ref) ?? false;
}
