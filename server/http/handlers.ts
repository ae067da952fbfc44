/**
 * The HTTP API's endpoints (docs/openapi.yaml): broadcast, topics,
 * presence, history and disconnect. Each takes the request's parts and
 * returns the JSON to answer, or throws an {@link ApiError}.
 *
 * Responsible for meaning, through the same server calls server code
 * makes: a broadcast here gets its topic's `(epoch, seq)`, history,
 * recovery, mesh relay and order exactly as one pushed over a socket.
 * Not responsible for authentication, limits or HTTP framing (`api.ts`).
 */
import type { Payload, PresenceState } from '../../src/protocol';
import { EngineUnavailable, QuotaExceeded, type BroadcastLog, type Position } from '../engine/engine';
import { ApiError } from './errors';
import { parseBroadcast, type ApiMessage } from './messages';

/**
 * Who broadcasts for the API: server code (`""`), so API broadcasts count against no user's history
 * share, and a message id can never collide with one a client sent (clients are always users).
 */
export const API_USER = '';

/** What the endpoints need of the server. */
export interface ApiHost {
  readonly nodeId: string;
  readonly maxPayloadBytes: number;
  readonly historyPageSize: number;
  readonly history: BroadcastLog;
  broadcast(topic: string, event: string, payload: Payload, options: { id?: string; user: string }): Promise<Position>;
  /** Topics with members on this node, and how many. */
  topics(): Iterable<[topic: string, members: number]>;
  presence(topic: string): PresenceState;
  /** Closes this node's sockets of `user`; returns how many. */
  disconnectUser(user: string, reason: string): number;
}

/** `POST /api/broadcast`: one message or a batch, applied in order. */
export async function broadcast(host: ApiHost, body: unknown): Promise<{ status: number; body: unknown }> {
  const { messages, batch } = parseBroadcast(body, host.maxPayloadBytes);
  // Issued together: the engine applies one node's publishes in the order issued, so a batch keeps its order per topic.
  const outcomes = await Promise.allSettled(messages.map((m) => publish(host, m)));
  const results = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : failure(o.reason).toJSON()));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (!batch) {
    if (failed) throw failure(failed.reason);
    return { status: 200, body: results[0] };
  }
  if (!failed) return { status: 200, body: { messages: results } };
  const error = failure(failed.reason);
  return { status: error.status, body: { ...error.toJSON(), messages: results } };
}

function publish(host: ApiHost, message: ApiMessage): Promise<{ topic: string; epoch: string; seq: number }> {
  const options: { id?: string; user: string } = { user: API_USER };
  if (message.id !== undefined) options.id = message.id;
  return host.broadcast(message.topic, message.event, message.payload, options).then(({ epoch, seq }) => ({ topic: message.topic, epoch, seq }));
}

function failure(reason: unknown): ApiError {
  if (reason instanceof ApiError) return reason;
  if (reason instanceof EngineUnavailable) return new ApiError('unavailable', 'the engine (its store, such as Redis) cannot be reached: nothing was applied; retry later with the same ids', { cause: reason });
  if (reason instanceof QuotaExceeded) return new ApiError('quota_exceeded', reason.message, { cause: reason });
  return new ApiError('internal', 'the broadcast failed (logged)', { cause: reason });
}

/** `GET /api/topics`: topics with members on this node, by name. */
export function topics(host: ApiHost, query: URLSearchParams): unknown {
  const prefix = query.get('prefix') ?? '';
  const limit = integer(query, 'limit', 1000, 1, 10_000);
  const all = [...host.topics()].filter(([topic]) => topic.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { node: host.nodeId, total: all.length, topics: all.slice(0, limit).map(([topic, members]) => ({ topic, members })) };
}

/** `GET /api/topics/{topic}/presence`: who is in the topic, across nodes (Phoenix.Presence's shape). */
export function presence(host: ApiHost, topic: string): unknown {
  return { topic, presences: host.presence(topic) };
}

/** `GET /api/topics/{topic}/history?since=&limit=`: broadcasts after `since`, or the latest `limit`. */
export async function history(host: ApiHost, topic: string, query: URLSearchParams): Promise<unknown> {
  const limit = integer(query, 'limit', Math.min(100, host.historyPageSize), 1, host.historyPageSize);
  const since = query.has('since') ? integer(query, 'since', 0, 0, Number.MAX_SAFE_INTEGER) : null;
  const window = await engineCall(host.history.window(topic));
  const from = since === null ? Math.max(window.oldest, window.head - limit + 1) : since + 1;
  const read = from > window.head ? { ...window, entries: [], complete: true } : await engineCall(host.history.read(topic, from, window.head, limit));
  const messages = read.entries.map((e) => {
    const message: Record<string, unknown> = { seq: e.seq, event: e.event };
    // A folded entry keeps no payload (PROTOCOL.md §7); bytes go as base64.
    if (e.folded) message.folded = true;
    else if (e.binary) message.binary = e.binary.toString('base64');
    else message.payload = JSON.parse(e.payloadJson) as unknown;
    message.at = new Date(e.at).toISOString();
    if (e.id !== undefined) message.id = e.id;
    return message;
  });
  const last = read.entries.at(-1)?.seq ?? Math.max(from - 1, 0);
  // `since` before the oldest held entry: the range is not whole, whatever the read says.
  const complete = read.complete && (since === null || since + 1 >= read.oldest || read.head === 0);
  return { topic, epoch: read.epoch, head: read.head, oldest: read.oldest, complete, more: last < read.head, messages };
}

/** `POST /api/disconnect`: closes the user's sockets on this node. */
export function disconnect(host: ApiHost, body: unknown): unknown {
  const b = body as { user?: unknown; reason?: unknown } | null;
  if (typeof b !== 'object' || b === null || typeof b.user !== 'string' || b.user === '') throw new ApiError('invalid_request', 'the body must be {"user": "<user id>"} (the token\'s sub, or the name in dev mode)');
  if (b.reason !== undefined && (typeof b.reason !== 'string' || b.reason.length > 100)) throw new ApiError('invalid_request', '"reason" must be a string of at most 100 characters when given');
  return { node: host.nodeId, disconnected: host.disconnectUser(b.user, b.reason ?? 'disconnected by server') };
}

function integer(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new ApiError('invalid_request', `"${name}" must be an integer from ${min} to ${max}, got "${text.slice(0, 20)}"`);
  return value;
}

function engineCall<T>(call: Promise<T>): Promise<T> {
  return call.catch((reason: unknown) => {
    throw failure(reason);
  });
}
