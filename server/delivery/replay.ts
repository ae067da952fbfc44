/**
 * What a Plume client gets back from history: the replay that follows a
 * join (`since` / `history` in the join's meta), and `plume:history` pages
 * that fill a gap. PROTOCOL.md §7 specifies both.
 *
 * Decisions over the engine's `BroadcastLog`; sending the frames is the
 * caller's job. Never presents a partial replay as complete.
 */
import { isPayload, type Meta, type Payload } from '../../src/protocol';
import type { BroadcastLog, StoredBroadcast } from '../engine/engine';

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
 * @example await planJoin(log, 'room:a', { since: { epoch: 'e1', seq: 40 } }, 1000)
 */
export async function planJoin(log: BroadcastLog, topic: string, meta: Meta | undefined, maxReplay: number, maxBytes = Infinity): Promise<JoinPlan> {
  const window = await log.window(topic);
  const since = position(meta?.since);
  let from: number;
  let recovered = true;
  if (since) {
    recovered = since.epoch === window.epoch && since.seq <= window.head && since.seq + 1 >= window.oldest;
    from = recovered ? since.seq + 1 : window.oldest;
  } else {
    const wanted = Number.isSafeInteger(meta?.history) ? Math.min(Math.max(meta?.history as number, 0), maxReplay) : 0;
    from = Math.max(window.oldest, window.head - wanted + 1);
  }
  if (from > window.head) return { meta: { epoch: window.epoch, seq: window.head, from, recovered }, entries: [] };
  const read = await log.read(topic, from, window.head, maxReplay);
  if (read.epoch !== window.epoch) {
    // The topic's data was lost between the two reads: nothing held can be vouched for.
    return { meta: { epoch: read.epoch, seq: read.head, from: read.head + 1, recovered: false }, entries: [] };
  }
  // An entry trimmed between the two reads: the replay starts later and cannot be a full recovery.
  const first = read.entries[0]?.seq ?? window.head + 1;
  if (first > from) {
    from = first;
    recovered = false;
  }
  // A replay cut short by maxBytes is still a recovery: the reply's seq is the head, and the client
  // fetches the rest with plume:history, a page at a time, instead of overflowing its socket.
  return { meta: { epoch: window.epoch, seq: window.head, from, recovered }, entries: upTo(read.entries, maxBytes) };
}

/** The longest prefix of `entries` whose payloads fit in `maxBytes` (at least one entry). */
export function upTo(entries: StoredBroadcast[], maxBytes: number): StoredBroadcast[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += entries[i]!.binary?.length ?? entries[i]!.payloadJson.length;
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
export type PageEntry =
  | { seq: number; event: string; payload: Payload; id?: string }
  /** A binary payload: sent in a binary reply's container (PROTOCOL.md §7, filling gaps). */
  | { seq: number; event: string; binary: Buffer; id?: string }
  | { seq: number; skip: true }
  /** A folded entry (PROTOCOL.md §7): its position and the event it was. */
  | { seq: number; skip: true; folded: string };

/** A `plume:history` page. */
export interface HistoryPage {
  epoch: string;
  complete: boolean;
  entries: PageEntry[];
}

/**
 * Builds a `plume:history` reply. `view` gives the payload this member may
 * see of an entry, or null when it must be skipped (handleOut dropped it).
 */
export async function historyPage(
  log: BroadcastLog,
  topic: string,
  request: { epoch: string; from: number; to: number },
  pageSize: number,
  view: (entry: StoredBroadcast) => Payload | null,
  maxBytes = Infinity,
): Promise<HistoryPage> {
  const read = await log.read(topic, request.from, request.to, pageSize);
  if (request.epoch !== read.epoch) return { epoch: read.epoch, complete: false, entries: [] };
  const entries = upTo(read.entries, maxBytes).map((entry): PageEntry => {
    if (entry.folded) return { seq: entry.seq, skip: true, folded: entry.event };
    if (entry.binary) {
      // Bytes are never intercepted: every member may see them as they are.
      return entry.id === undefined ? { seq: entry.seq, event: entry.event, binary: entry.binary } : { seq: entry.seq, event: entry.event, binary: entry.binary, id: entry.id };
    }
    const payload = view(entry);
    if (payload === null) return { seq: entry.seq, skip: true };
    return entry.id === undefined ? { seq: entry.seq, event: entry.event, payload } : { seq: entry.seq, event: entry.event, payload, id: entry.id };
  });
  return { epoch: read.epoch, complete: read.complete, entries };
}

/**
 * The bytes of a history page that holds binary payloads, for a binary reply (PROTOCOL.md §7): a 4-byte
 * big-endian length, the page as JSON with each binary entry's payload as `bin: [offset, length]`, then
 * the payloads, offsets counting from the end of the JSON. Null when the page holds no binary payload
 * (it is then sent as JSON).
 *
 * @example const bytes = pageContainer(page); if (bytes) sendBinaryReply(bytes);
 */
export function pageContainer(page: HistoryPage): Buffer | null {
  if (!page.entries.some((entry) => 'binary' in entry)) return null;
  const blobs: Buffer[] = [];
  let offset = 0;
  const entries = page.entries.map((entry) => {
    if (!('binary' in entry)) return entry;
    const { binary, ...rest } = entry;
    blobs.push(binary);
    const bin = [offset, binary.length];
    offset += binary.length;
    return { ...rest, bin };
  });
  const json = Buffer.from(JSON.stringify({ epoch: page.epoch, complete: page.complete, entries }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length, 0);
  return Buffer.concat([length, json, ...blobs]);
}
