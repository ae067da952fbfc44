/**
 * Where the Redis engine keeps things: every key starts with the configured
 * prefix, and every key of one topic (or of one user's dedupe records)
 * carries the same hash tag, `{topic}` (or `{u:…}`), so that the design
 * works on a cluster: there each script call touches the keys of one slot
 * (the publish script takes a turn's topics grouped by slot, `batch.ts`;
 * on a single Redis, every topic of the turn in one call).
 *
 * | key | type | holds |
 * |---|---|---|
 * | `P:{topic}:m` | hash | `e` epoch, `s` head seq, `b` bytes held, `t` last append, `r` last refresh of the topic's TTLs, `c` last look for expired entries by a publish (times in ms), `v` layout (`2` since the ledger; a topic without it gets its ledger built from its stream on its next script call) |
 * | `P:{topic}:h` | stream | the history: entry id `<seq>-0`, fields `e` event, `p` payload, `i` message id, `x` excluded socket, `t` time, `k` kind (binary, folded) |
 * | `P:{topic}:l` | list | the ledger: one record per entry of the stream, oldest first, `<seq> <time> <bytes counted> <sender>\0<message id>`, so trimming never reads a payload back |
 * | `P:{topic}:u` | hash | bytes of history each sender holds in the topic |
 * | `P:{topic}:i` | hash | `<sender>\0<message id>` → seq, for the ids history still holds |
 * | `P:{topic}:b` | shard channel | the topic's broadcasts, published by the same script that sequenced them: one message per script call carrying each of the call's broadcasts of the topic (`scripts.ts`, PUBLISH) |
 * | `P:{u:<user>}:d:<key>` | string | a dedupe record: `p` while claimed, `d` + the outcome's JSON once settled |
 * | `P:{u:<user>}:z` | sorted set | the user's dedupe keys by claim time, for its share |
 * | `P:{topic}:ds` / `:dl` / `:dv` | string / list / string | a shared document's merged state, its log of updates since, and its compaction version |
 * | `P:node:<node>` | string | a node's liveness, with a TTL |
 * | `P:bus` | channel | PubSub messages between nodes (presence replication, `handleInfo`, ephemeral events) |
 *
 * Not responsible for talking to Redis.
 */

/** The keys of one topic, in the order the scripts take them. */
export interface TopicKeys {
  meta: string;
  stream: string;
  users: string;
  ids: string;
  ledger: string;
  channel: string;
}

/** @example topicKeys('plume', 'room:a').meta // 'plume:{room:a}:m' */
export function topicKeys(prefix: string, topic: string): TopicKeys {
  const base = `${prefix}:{${topic}}:`;
  return { meta: `${base}m`, stream: `${base}h`, users: `${base}u`, ids: `${base}i`, ledger: `${base}l`, channel: `${base}b` };
}

/** The topic a broadcast channel name belongs to, or null when the name is not one. */
export function topicOfChannel(prefix: string, channel: string): string | null {
  const start = `${prefix}:{`;
  if (!channel.startsWith(start) || !channel.endsWith('}:b')) return null;
  return channel.slice(start.length, -3);
}

/** The hash tag of a user's dedupe records: base64url, so no brace in the name can move it. */
function userTag(prefix: string, user: string): string {
  return `${prefix}:{u:${Buffer.from(user).toString('base64url')}}:`;
}

/** The dedupe record of `key` and its user's index. */
export function dedupeKeys(prefix: string, user: string, key: string): { record: string; index: string; recordPrefix: string } {
  const tag = userTag(prefix, user);
  return { record: `${tag}d:${key}`, index: `${tag}z`, recordPrefix: `${tag}d:` };
}

/** A shared document's keys (its name is its topic): state, log and version, on the topic's slot. */
export function documentKeys(prefix: string, name: string): { state: string; log: string; version: string } {
  const base = `${prefix}:{${name}}:`;
  return { state: `${base}ds`, log: `${base}dl`, version: `${base}dv` };
}

export const nodeKey = (prefix: string, node: string): string => `${prefix}:node:${node}`;
export const busChannel = (prefix: string): string => `${prefix}:bus`;
