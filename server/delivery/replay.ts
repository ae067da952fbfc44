/**
 * What a Plume client gets back from history: the replay that follows a
 * join (`since` / `history` in the join's meta), and `plume:history` pages
 * that fill a gap. PROTOCOL.md §7 specifies both.
 *
 * Pure decisions over a `History`; sending the frames is the caller's job.
 * Never presents a partial replay as complete.
 */
import { isPayload, type Meta, type Payload } from '../../src/protocol';
import type { History, StoredBroadcast } from '../engine/memory/history';

/** The join reply's order metadata. */
export interface JoinMeta {
  epoch: string;
  /** The topic's head at the time of the join. */
  seq: number;
  /** The seq the replay starts at (head + 1 when nothing is replayed). */
  from: number;
  recovered: boolean;
}

/** What to tell a joining Plume client and what to replay to it. */
export interface JoinPlan {
  meta: JoinMeta;
  entries: StoredBroadcast[];
}

function position(value: unknown): { epoch: string; seq: number } | null {
  if (!isPayload(value) || typeof value.epoch !== 'string' || !Number.isSafeInteger(value.seq) || (value.seq as number) < 0) return null;
  return { epoch: value.epoch, seq: value.seq as number };
}

/**
 * Plans a join's replay. With a usable `since` in the same epoch, replays
 * everything after it (`recovered: true`) if history still reaches back;
 * otherwise replays what is held (`recovered: false`). Without `since`,
 * replays the latest `history` entries (capped at `maxReplay`).
 *
 * @example planJoin(history, 'room:a', { since: { epoch: 'e1', seq: 40 } }, 1000)
 */
export function planJoin(history: History, topic: string, meta: Meta | undefined, maxReplay: number, maxBytes = Infinity): JoinPlan {
  const head = history.head(topic);
  const oldest = history.oldest(topic);
  const since = position(meta?.since);
  let from: number;
  let recovered = true;
  if (since) {
    recovered = since.epoch === head.epoch && since.seq <= head.seq && since.seq + 1 >= oldest;
    from = recovered ? since.seq + 1 : oldest;
  } else {
    const wanted = Number.isSafeInteger(meta?.history) ? Math.min(Math.max(meta?.history as number, 0), maxReplay) : 0;
    from = Math.max(oldest, head.seq - wanted + 1);
  }
  const entries = from > head.seq ? [] : upTo(history.read(topic, head.epoch, from, head.seq, Infinity).entries, maxBytes);
  // A replay cut short by maxBytes is still a recovery: the reply's seq is the head, and the client
  // fetches the rest with plume:history, a page at a time, instead of overflowing its socket.
  return { meta: { epoch: head.epoch, seq: head.seq, from, recovered }, entries };
}

/** The longest prefix of `entries` whose payloads fit in `maxBytes` (at least one entry). */
export function upTo(entries: StoredBroadcast[], maxBytes: number): StoredBroadcast[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += entries[i]!.payloadJson.length;
    if (bytes > maxBytes && i > 0) return entries.slice(0, i);
  }
  return entries;
}

/** A parsed `plume:history` request, or null when it is malformed. */
export function parseHistoryRequest(payload: Payload): { epoch: string; from: number; to: number } | null {
  const { epoch, from, to } = payload;
  if (typeof epoch !== 'string' || !Number.isSafeInteger(from) || !Number.isSafeInteger(to)) return null;
  if ((from as number) < 1 || (to as number) < (from as number)) return null;
  return { epoch, from: from as number, to: to as number };
}

/** One entry of a history page, as the member may see it. */
export type PageEntry = { seq: number; event: string; payload: Payload; id?: string } | { seq: number; skip: true };

/**
 * Builds a `plume:history` reply. `view` gives the payload this member may
 * see of an entry, or null when it must be skipped (handleOut dropped it).
 */
export function historyPage(
  history: History,
  topic: string,
  request: { epoch: string; from: number; to: number },
  pageSize: number,
  view: (entry: StoredBroadcast) => Payload | null,
  maxBytes = Infinity,
): { epoch: string; complete: boolean; entries: PageEntry[] } {
  const epoch = history.head(topic).epoch;
  if (request.epoch !== epoch) return { epoch, complete: false, entries: [] };
  const read = history.read(topic, epoch, request.from, request.to, pageSize);
  const entries = upTo(read.entries, maxBytes).map((entry): PageEntry => {
    const payload = view(entry);
    if (payload === null) return { seq: entry.seq, skip: true };
    return entry.id === undefined ? { seq: entry.seq, event: entry.event, payload } : { seq: entry.seq, event: entry.event, payload, id: entry.id };
  });
  return { epoch, complete: read.complete, entries };
}
