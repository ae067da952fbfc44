/**
 * The engine: where a Plume server keeps what must outlive one socket —
 * each topic's order and history, the message ids it applied, and the bus
 * that carries everything else between nodes. One interface per concern,
 * every method asynchronous, so that an engine may live in this process
 * (`memory/`, the zero-setup default) or in Redis (`redis/`, several nodes
 * and restarts).
 *
 * Every implementation passes the same conformance suite
 * (`conformance.test.ts`). What an implementation must guarantee is stated
 * on each method; the server relies on nothing else.
 *
 * Not responsible for sockets, frames or channel handlers.
 */
import { REASONS, type Payload } from '../../src/protocol';
import type { Logger } from '../log';
import type { PubSubAdapter } from '../pubsub/adapter';

/** A broadcast's place in its topic's order. */
export interface Position {
  /** Identity of the topic's history: changes whenever the engine lost the topic's data. */
  epoch: string;
  /** 1, 2, 3, ... within the epoch, one per broadcast. */
  seq: number;
}

/** A broadcast handed to the engine to be given its position (`BroadcastLog.publish`). */
export interface NewBroadcast {
  event: string;
  /** The payload as JSON text (`""` for a binary payload). */
  payloadJson: string;
  /**
   * The payload's bytes: that text as UTF-8, already encoded, or the bytes of a binary payload. May be
   * a view into a larger buffer (the client's frame): an engine that keeps it must copy it.
   */
  payloadBytes: Buffer;
  /** True when the payload is bytes, not JSON (PROTOCOL.md §2, binary frames). */
  binary?: boolean;
  /**
   * History keeps its position and event only, not its payload (PROTOCOL.md §7, folded entries): its
   * content lives elsewhere (a document's update is in the document). Subscribers still get it whole.
   */
  folded?: boolean;
  /** The payload object, when the caller has it: an in-process engine hands it to fan-out as is. */
  payload?: Payload;
  /** The client message id it was made for (PROTOCOL.md §7), if any. */
  id?: string;
  /** Socket id that must not receive it (broadcast-from), or null. */
  exclude: string | null;
  /** Who made it, for per-user quotas; `""` for server code (not counted against anyone). */
  user: string;
}

/** Bytes of bookkeeping counted for each history entry besides its payload, event and id (PROTOCOL.md §7, History bounds). */
export const ENTRY_OVERHEAD = 96;
/** The same for a folded entry, which keeps no payload: a place in a run of them. */
export const FOLDED_OVERHEAD = 16;

/** Bytes a broadcast counts for in history: payload (none when folded), event, id, exclude and bookkeeping. */
export function entryCost(broadcast: NewBroadcast): number {
  const names = broadcast.event.length + (broadcast.id?.length ?? 0) + (broadcast.exclude?.length ?? 0);
  return broadcast.folded ? names + FOLDED_OVERHEAD : names + broadcast.payloadBytes.length + ENTRY_OVERHEAD;
}

/** A broadcast with its position, as subscribers receive it. */
export interface SequencedBroadcast extends Position {
  topic: string;
  event: string;
  /** The payload's bytes (UTF-8 JSON, or the binary payload). */
  payloadBytes: Buffer;
  /** True when the payload is bytes, not JSON. */
  binary?: boolean;
  /** Read back from history as a folded entry: no payload (`payloadBytes` is empty); members get a skip naming `event`. */
  folded?: boolean;
  /** The payload's JSON text, when at hand (else decode `payloadBytes`). */
  payloadJson?: string;
  /** The payload object, when at hand (in-process engines). */
  payload?: Payload;
  id?: string;
  exclude: string | null;
}

/**
 * A broadcast just published, at its position, as subscribers receive it live (payload whole).
 * @example handler(sequenced('room:a', await log.publish('room:a', b), b));
 */
export function sequenced(topic: string, position: Position, broadcast: NewBroadcast): SequencedBroadcast {
  const live: SequencedBroadcast = {
    topic, epoch: position.epoch, seq: position.seq, event: broadcast.event, payloadBytes: broadcast.payloadBytes,
    payloadJson: broadcast.payloadJson, payload: broadcast.payload, exclude: broadcast.exclude,
  };
  if (broadcast.id !== undefined) live.id = broadcast.id;
  if (broadcast.binary) live.binary = true;
  return live;
}

/** A broadcast as history keeps it. */
export interface StoredBroadcast {
  seq: number;
  event: string;
  /** The payload as JSON text: sent as is by replays (parse it for the object). `""` for a binary payload. */
  payloadJson: string;
  /** A binary payload's bytes (a copy of its own). */
  binary?: Buffer;
  /** Kept by its position only (published with `folded`): `payloadJson` is `""` and there is no `binary`. */
  folded?: true;
  /** The message id it was made for, if any. */
  id?: string;
  /** The socket id it was not for (broadcast-from), if any. */
  exclude?: string;
  /** When it was appended (ms since the Unix epoch). */
  at: number;
}

/**
 * A broadcast read back from history, as subscribers receive one (a replay, a gap filled, a catch-up).
 * @example for (const entry of read.entries) deliver(fromHistory('room:a', read.epoch, entry));
 */
export function fromHistory(topic: string, epoch: string, entry: StoredBroadcast): SequencedBroadcast {
  const broadcast: SequencedBroadcast = { topic, epoch, seq: entry.seq, event: entry.event, payloadBytes: entry.binary ?? Buffer.from(entry.payloadJson), exclude: entry.exclude ?? null };
  if (entry.folded) broadcast.folded = true;
  else if (entry.binary) broadcast.binary = true;
  else broadcast.payloadJson = entry.payloadJson;
  if (entry.id !== undefined) broadcast.id = entry.id;
  return broadcast;
}

/** Where a topic's history stands. */
export interface TopicWindow {
  epoch: string;
  /** The last seq given out (0 when none yet in this epoch). */
  head: number;
  /** The oldest seq still held (`head + 1` when none is held). */
  oldest: number;
}

/** A range read: the topic's window now, the entries held, and whether they cover the whole range. */
export interface HistoryRead extends TopicWindow {
  entries: StoredBroadcast[];
  /** False when some entry of the range (within `epoch`) is no longer held. */
  complete: boolean;
}

/** Receives a topic's broadcasts in seq order. */
export type BroadcastHandler = (broadcast: SequencedBroadcast) => void;

/** A live subscription to a topic's broadcasts. */
export interface LogSubscription {
  readonly topic: string;
  /** Resolves once the subscription is live: every broadcast published after that reaches the handler. */
  readonly ready: Promise<void>;
}

/**
 * Sequencer, history and ordered publish, in one: a broadcast gets its
 * topic's next position, is stored, and reaches every node's subscribers
 * of the topic in one atomic step, so two nodes can never hand out the same
 * seq or deliver a topic's broadcasts out of order.
 */
export interface BroadcastLog {
  /**
   * Gives the broadcast the topic's next position, appends it to history and publishes it.
   * Publishes issued by one node are applied in the order issued. A broadcast with an `id` its `user`
   * already published to the topic (and history still holds) is not applied again: it resolves with
   * the original position, so a message retried after its node died mid-way stays single. Rejects with
   * {@link EngineUnavailable} when the store cannot be reached (nothing was applied), or with
   * {@link QuotaExceeded} when the sender holds more history than its share.
   */
  publish(topic: string, broadcast: NewBroadcast): Promise<Position>;
  /** Subscribes `handler` to the topic's broadcasts from every node, in seq order. */
  subscribe(topic: string, handler: BroadcastHandler): LogSubscription;
  /** Ends a subscription; unknown ones are ignored. */
  unsubscribe(subscription: LogSubscription): void;
  /** The topic's epoch, head and oldest held seq. */
  window(topic: string): Promise<TopicWindow>;
  /**
   * Entries with `from <= seq <= to` (at most `limit`, oldest first) of the topic's current epoch,
   * with the window they were read in. `complete` is false when an entry of the range is no longer held.
   */
  read(topic: string, from: number, to: number, limit: number): Promise<HistoryRead>;
  /** Drops expired entries and idle topics (the server calls it periodically). */
  sweep?(): void;
}

/** How handling a message ended, as the dedupe store keeps it. */
export type StoredOutcome =
  /** `reply` is null when the handler chose not to reply. */
  | { kind: 'reply'; reply: { status: 'ok' | 'error'; response: Payload } | null; position: Position | null }
  | { kind: 'crashed' };

/** The answer to a claim. */
export type Claim =
  /** Nobody has it: the caller runs the message and then settles or releases the claim. */
  | { state: 'claimed' }
  /** Already applied: answer with the original outcome. */
  | { state: 'done'; outcome: StoredOutcome }
  /** Being applied right now (on this node or another): wait and claim again. */
  | { state: 'pending' };

/**
 * Remembers which message ids were applied and how, for a window, so that
 * a retry on any node is answered with the original outcome and applied at
 * most once.
 */
export interface DedupeStore {
  /**
   * Claims `key` for `user`. A claim not settled within `leaseMs` lapses (its node died mid-way),
   * and a later claim may take it. Counts against `user`'s share of ids: beyond it, that user's
   * oldest ids are forgotten first, never another user's.
   */
  claim(key: string, user: string, leaseMs: number): Promise<Claim>;
  /** Records the outcome of a claimed key; it is remembered for the window. */
  settle(key: string, user: string, outcome: StoredOutcome): Promise<void>;
  /** Gives a claim back without an outcome: nothing was applied, and a retry runs it. */
  release(key: string, user: string): Promise<void>;
}

/** A document's stored state and the updates appended since it was last compacted. */
export interface StoredDocument {
  /** The merged state (a Yjs update), or null before the first compaction. */
  state: Uint8Array | null;
  /** Updates appended since, oldest first. */
  updates: Uint8Array[];
  /** Changes with every compaction: a compaction of an older version is refused. */
  version: number;
}

/**
 * Where shared documents live (Yjs updates, PROTOCOL.md §11): a merged state plus a log of the
 * updates since, which the server folds into the state now and then (compaction) without holding a
 * Y.Doc. Any node may append; compactions that raced another one are refused, so none loses an update.
 */
export interface DocumentStore {
  /** The document's state and log (an empty one when it has none). */
  load(name: string): Promise<StoredDocument>;
  /** Appends a (validated) update; resolves with the log's length after it. */
  append(name: string, update: Uint8Array): Promise<number>;
  /**
   * Replaces the state with `merged`, which folds the state and the log's first `count` updates, if the
   * document is still at `version`; resolves false (nothing changed) when another compaction came first.
   */
  compact(name: string, merged: Uint8Array, count: number, version: number): Promise<boolean>;
}

/** Which server nodes are alive: each node beats, and a node that stops beating is gone within the TTL. */
export interface NodeRegistry {
  /** Says this node is alive for the next `ttlMs`. */
  beat(node: string, ttlMs: number): Promise<void>;
  /** True when `node` beat within its TTL. */
  alive(node: string): Promise<boolean>;
  /** Says this node is gone (clean shutdown). */
  leave(node: string): Promise<void>;
}

/** What `/health` and `/ready` learn of an engine. */
export interface EngineHealth {
  /** `memory` or `redis`. */
  engine: string;
  /** False while the store cannot be reached. */
  ready: boolean;
  /** Why not, when not. */
  reason?: string;
}

/** Everything a server keeps outside one socket. */
export interface Engine {
  readonly name: string;
  readonly log: BroadcastLog;
  readonly dedupe: DedupeStore;
  /** Carries PubSub messages (presence replication, `handleInfo` messages, ephemeral events) between nodes. */
  readonly pubsub: PubSubAdapter;
  readonly nodes: NodeRegistry;
  /** Shared documents (Yjs). */
  readonly documents: DocumentStore;
  /** Connects; the server calls it once before serving. */
  start(): Promise<void>;
  /** Disconnects. Safe to call more than once. */
  close(): Promise<void>;
  health(): EngineHealth;
}

/** Retention and share limits, from the server's options (README, "new PlumeServer(options)"). */
export interface EngineLimits {
  historyLimit: number;
  historyMaxAgeMs: number;
  historyMaxBytes: number;
  historyMaxBytesPerTopic: number;
  historyMaxBytesPerUser: number;
  dedupeWindowMs: number;
  dedupeMaxEntries: number;
  dedupeMaxPerUser: number;
}

/** What a server gives the engine it makes for itself. */
export interface EngineContext {
  /** This node's name, unique in the cluster. */
  node: string;
  limits: EngineLimits;
  log: Logger;
}

/**
 * Makes a node's engine: what `new PlumeServer({ engine })` takes (`memoryEngine()`, `redisEngine({ url })`).
 * The server calls it once, with its node name, limits and logger.
 */
export type EngineFactory = (context: EngineContext) => Engine;

/** The reason a push gets when the engine cannot be reached (PROTOCOL.md §5): retry later. */
export const UNAVAILABLE = REASONS.unavailable;

/**
 * The engine's store cannot be reached: nothing was applied. Pushes that needed it are answered
 * with `{"reason": "unavailable"}`, which the durable outbox retries later.
 *
 * @example if (err instanceof EngineUnavailable) return refuse(UNAVAILABLE);
 */
export class EngineUnavailable extends Error {
  readonly code = 'unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineUnavailable';
  }
}

/** The reason a broadcast gets when its sender holds more history than its share (PROTOCOL.md §5). */
export const QUOTA_EXCEEDED = REASONS.historyQuotaExceeded;

/**
 * The sender holds more history bytes than its share (`historyMaxBytesPerUser`): the broadcast was
 * not applied. Answered with `{"reason": "history quota exceeded"}`.
 */
export class QuotaExceeded extends Error {
  readonly code = 'quota';
  constructor(message: string) {
    super(message);
    this.name = 'QuotaExceeded';
  }
}
