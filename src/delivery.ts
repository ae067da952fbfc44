/**
 * In-order, exactly-once delivery of a topic's sequenced broadcasts.
 *
 * Responsible for: the last delivered `(epoch, seq)`, dropping duplicates
 * (by seq, and by message id across epochs), holding frames that arrive
 * ahead of a gap, asking the server to fill a gap after a short wait, and
 * reporting loss when history cannot fill it. Not responsible for where the
 * position is stored (`positions.ts`) or how frames arrive (`channel.ts`).
 */
import { EVENTS, type Message, type Payload } from './protocol';
import type { Clock, TimerHandle } from './timer';

/** A place in a topic's order. */
export interface Position {
  epoch: string;
  seq: number;
}

/** What is persisted per topic: the position and the latest message ids. */
export interface DeliveryState extends Position {
  ids: string[];
}

/** One entry of a `plume:history` answer. */
export type HistoryEntry =
  /** `binary`: the payload's bytes, for a broadcast of bytes (`payload` is then `{}`). */
  | { seq: number; event: string; payload: Payload; binary?: Uint8Array; id?: string; skip?: undefined }
  /** `folded`: the event of a broadcast history keeps by its position only (PROTOCOL.md §7). */
  | { seq: number; skip: true; folded?: string };

/** A `plume:history` answer. */
export interface HistoryPage {
  epoch: string;
  complete: boolean;
  entries: HistoryEntry[];
}

/** The server's word on a join: its head, where replay starts, and whether `since` was covered. */
export interface JoinMeta {
  epoch: string;
  seq: number;
  from: number;
  recovered: boolean;
}

/** A report of recovery: after each rejoin that asked to resume, and after an unfillable gap. */
export interface Recovery {
  recovered: boolean;
  epoch: string;
  /** First and last seq that could not be recovered, when known. */
  missed?: { from: number; to: number };
  reason: 'rejoin' | 'gap';
}

export interface DeliveryHost {
  clock: Clock;
  /** Wait before asking the server for a missing range (ms). */
  gapWaitMs: number;
  deliver(message: Message): void;
  /** Fetches `from..to` of `epoch`; resolves null when the request failed (it is retried). */
  fetch(epoch: string, from: number, to: number): Promise<HistoryPage | null>;
  recovered(report: Recovery): void;
  /** A broadcast of `event` at `position` was passed as a folded skip: its content is to be fetched another way. */
  folded(event: string, position: Position): void;
  save(state: DeliveryState): void;
}

/** Message ids remembered per topic, to drop a message re-sequenced after a server restart. */
const REMEMBERED_IDS = 512;
/** Frames held ahead of a gap before the oldest are given up to history. */
const MAX_HELD = 10_000;
/** Longest wait before asking again after failed history requests (refused `rate limited`, `unavailable`...), ms. */
const MAX_FETCH_DELAY_MS = 10_000;

export class Delivery {
  private position: Position | null = null;
  private readonly held = new Map<number, Message>();
  private ids: string[] = [];
  private idSet = new Set<string>();
  private gapTimer: TimerHandle | null = null;
  private fetching = false;
  /** History requests that failed in a row: each doubles the wait before the next (up to `MAX_FETCH_DELAY_MS`). */
  private failures = 0;
  private head = 0;
  private readonly host: DeliveryHost;
  /** Gaps filled from the server's history. */
  repairs = 0;

  constructor(host: DeliveryHost) {
    this.host = host;
  }

  /** Restores a persisted state (before the first join). */
  restore(state: DeliveryState | undefined): void {
    if (!state) return;
    this.position = { epoch: state.epoch, seq: state.seq };
    this.ids = state.ids.slice(-REMEMBERED_IDS);
    this.idSet = new Set(this.ids);
  }

  /** The last delivered position, sent as `since` when joining. */
  since(): Position | null {
    return this.position && { ...this.position };
  }

  /** Applies a join reply's order metadata; `resumed` says whether the join asked to resume. */
  joined(meta: JoinMeta, resumed: boolean): void {
    this.cancelGap();
    this.failures = 0;
    const previous = this.position;
    if (!previous || previous.epoch !== meta.epoch || !meta.recovered) this.position = { epoch: meta.epoch, seq: meta.from - 1 };
    // Frames held from another epoch would otherwise be taken for the new epoch's same seqs.
    for (const [seq, held] of [...this.held]) if (seq <= this.position!.seq || held.meta?.epoch !== this.position!.epoch) this.held.delete(seq);
    this.head = Math.max(meta.seq, this.position!.seq);
    if (resumed && previous) {
      const report: Recovery = { recovered: meta.recovered && previous.epoch === meta.epoch, epoch: meta.epoch, reason: 'rejoin' };
      if (!report.recovered && previous.epoch === meta.epoch && meta.from - 1 > previous.seq) report.missed = { from: previous.seq + 1, to: meta.from - 1 };
      this.host.recovered(report);
    }
    this.save();
    this.drain();
  }

  /** Handles a frame for the topic; frames without order metadata are delivered as they come. */
  receive(message: Message): void {
    const seq = message.meta?.seq;
    const position = this.position;
    if (typeof seq !== 'number' || !position) return this.deliverUnsequenced(message);
    if (message.meta?.epoch !== position.epoch || seq <= position.seq) return;
    if (seq === position.seq + 1) {
      this.accept(message);
      return this.drain();
    }
    this.held.set(seq, message);
    this.head = Math.max(this.head, seq);
    if (this.held.size > MAX_HELD) this.giveUpOldest();
    this.armGap();
  }

  /** Learns that the topic has reached `seq` (from a head announcement); fills the gap if behind. */
  ahead(epoch: string, seq: number): void {
    if (!this.position || epoch !== this.position.epoch || seq <= this.position.seq) return;
    this.head = Math.max(this.head, seq);
    this.armGap();
  }

  /** Stops timers (the channel left). */
  stop(): void {
    this.cancelGap();
  }

  private deliverUnsequenced(message: Message): void {
    const id = message.meta?.id;
    if (typeof id === 'string') {
      if (this.idSet.has(id)) return;
      this.remember(id);
    }
    this.host.deliver(message);
  }

  private accept(message: Message): void {
    this.position!.seq = message.meta!.seq as number;
    const id = message.meta?.id;
    const duplicate = typeof id === 'string' && this.idSet.has(id);
    if (typeof id === 'string' && !duplicate) this.remember(id);
    // A duplicate was delivered already, under an earlier epoch.
    if (!duplicate && message.event !== EVENTS.skip) this.host.deliver(message);
    else if (!duplicate && typeof message.payload.folded === 'string') this.host.folded(message.payload.folded, { ...this.position! });
    this.save();
  }

  private drain(): void {
    for (;;) {
      const next = this.held.get(this.position!.seq + 1);
      if (!next) break;
      this.held.delete(this.position!.seq + 1);
      this.accept(next);
    }
    if (this.held.size === 0 && this.head <= this.position!.seq) this.cancelGap();
    else this.armGap();
  }

  private remember(id: string): void {
    this.ids.push(id);
    this.idSet.add(id);
    if (this.ids.length > REMEMBERED_IDS) this.idSet.delete(this.ids.shift()!);
  }

  private save(): void {
    if (this.position) this.host.save({ ...this.position, ids: this.ids.slice() });
  }

  private armGap(): void {
    if (this.gapTimer !== null || this.fetching) return;
    const wait = Math.min(MAX_FETCH_DELAY_MS, this.host.gapWaitMs * 2 ** Math.min(this.failures, 16));
    this.gapTimer = this.host.clock.setTimeout(() => {
      this.gapTimer = null;
      void this.fill();
    }, wait);
  }

  private cancelGap(): void {
    if (this.gapTimer !== null) this.host.clock.clearTimeout(this.gapTimer);
    this.gapTimer = null;
  }

  /** The range still missing: from after the position up to before the first held frame (or the head). */
  private missing(): { from: number; to: number } | null {
    const from = this.position!.seq + 1;
    const firstHeld = this.held.size ? Math.min(...this.held.keys()) : Infinity;
    const to = Math.min(firstHeld - 1, this.head);
    return to >= from ? { from, to } : null;
  }

  private async fill(): Promise<void> {
    const position = this.position;
    const range = position && this.missing();
    if (!position || !range) return;
    this.fetching = true;
    let page: HistoryPage | null;
    try {
      page = await this.host.fetch(position.epoch, range.from, range.to);
    } finally {
      this.fetching = false;
    }
    if (this.position !== position || position.epoch !== page?.epoch) {
      // Failed, or a rejoin moved us meanwhile: the rejoin's replay (or the next try, later each time) covers it.
      if (page === null) this.failures++;
      if (this.position === position) this.armGap();
      return;
    }
    this.failures = 0;
    if (page.entries.length > 0) this.repairs++;
    for (const entry of page.entries) {
      if (entry.seq !== position.seq + 1) continue;
      this.accept(entry.skip ? skipMessage(entry.seq, position.epoch, entry.folded) : { joinRef: null, ref: null, topic: '', event: entry.event, payload: entry.payload, meta: { epoch: position.epoch, seq: entry.seq, id: entry.id }, ...(entry.binary ? { binary: entry.binary } : {}) });
    }
    const still = this.missing();
    if (still && (!page.complete || page.entries.length === 0)) {
      // History cannot fill it: say so, then move past the hole.
      this.host.recovered({ recovered: false, epoch: position.epoch, missed: still, reason: 'gap' });
      position.seq = still.to;
      this.save();
    }
    this.drain();
  }

  private giveUpOldest(): void {
    const oldest = Math.min(...this.held.keys());
    this.held.delete(oldest);
  }
}

function skipMessage(seq: number, epoch: string, folded: string | undefined): Message {
  return { joinRef: null, ref: null, topic: '', event: EVENTS.skip, payload: typeof folded === 'string' ? { folded } : {}, meta: { epoch, seq } };
}
