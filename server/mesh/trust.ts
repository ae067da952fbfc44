/**
 * What one room's mesh believes of its members, and on whose word
 * (PROTOCOL.md §10, "Trust"). No single member's word changes how another
 * member is served:
 *
 * - **Strikes.** The server knows which relay the plan made each member
 *   depend on for which positions (an *edge*, from the first broadcast
 *   signed after the plan told both ends, to the last one before it
 *   changed or their link went down). A member that fills a gap from
 *   history (`plume:history`) inside such a span strikes that relay. A relay
 *   struck at least `STRIKES_TO_DEMOTE` times within `STRIKE_WINDOW_MS`, over
 *   at least `STRIKE_SPAN_MS`, by members of at least two users is demoted:
 *   it relays nothing for `DEMOTE_MS`. A relay that itself struck a relay
 *   demoted in the same judgement, or one that left, is spared (the gap
 *   came from above, and that is corroborated or certain).
 * - **Reports.** A peer reported for a forged message is cut out of the
 *   mesh only once members of two users reported it within
 *   `REPORT_WINDOW_MS`; one report only keeps the reporter and the peer
 *   apart (the reporter already cut that link), which neither rewards a
 *   lying reporter nor costs the peer anything else.
 *
 * Pure bookkeeping: the caller passes the time and applies the outcome
 * (`room.ts`). Not responsible for plans or timers.
 */

/** A strike waits this long before it is judged, so the struck relay's own strike on its parent is seen too (ms). */
export const STRIKE_JUDGE_MS = 1_000;
/** Strikes older than this no longer count (ms). */
export const STRIKE_WINDOW_MS = 10_000;
/** Strikes within the window that demote a relay (from at least two users). */
export const STRIKES_TO_DEMOTE = 3;
/**
 * The first and last of them at least this far apart: a relay that is slow once (a busy tab that
 * forwards a burst late) is not demoted, one that keeps its children repairing is (ms).
 */
export const STRIKE_SPAN_MS = 1_000;
/** How long a demoted relay relays nothing (ms). */
export const DEMOTE_MS = 60_000;
/** Reports about a peer count together for this long; the reporter and the peer stay apart as long (ms). */
export const REPORT_WINDOW_MS = 600_000;
/** Distinct users whose word it takes to demote a relay or cut a reported peer out. */
export const CORROBORATION = 2;

/** Past edges kept per member: enough for a late repair of positions carried by an earlier relay. */
const EDGES_KEPT = 8;
/** Broadcasts too large to relay that are remembered (a repair of them strikes nobody). */
const UNRELAYABLE_KEPT = 64;
/** Positions of one repair looked at for one its relay could have carried. */
const SCAN = 64;

/** A span of positions a member depended on one relay for. */
interface Edge {
  parent: string;
  epoch: string;
  /** First position signed after the plan made the edge; null until one is. */
  start: number | null;
  /** Last position before the edge ended; null while it lasts. */
  end: number | null;
}

interface Strike {
  parent: string;
  child: string;
  user: string;
  at: number;
}

export class Trust {
  private head: { epoch: string; seq: number } | null = null;
  private readonly edges = new Map<string, Edge[]>();
  private unstarted: Edge[] = [];
  private readonly unrelayable: number[] = [];
  private pending: Strike[] = [];
  private readonly strikes = new Map<string, Strike[]>();
  /** Strikes against relays that left since: whoever made them only passed on the gap a departure left. */
  private orphaned: Strike[] = [];
  private readonly demotedUntil = new Map<string, number>();
  private readonly reports = new Map<string, Map<string, number>>();
  private readonly apartUntil = new Map<string, Map<string, number>>();

  /** A broadcast of the room was signed (`relayable`: small enough for peers to carry, PROTOCOL.md §10). */
  announced(epoch: string, seq: number, relayable: boolean): void {
    this.head = { epoch, seq };
    if (!relayable) {
      this.unrelayable.push(seq);
      if (this.unrelayable.length > UNRELAYABLE_KEPT) this.unrelayable.shift();
    }
    if (this.unstarted.length === 0) return;
    for (const edge of this.unstarted) {
      edge.epoch = epoch;
      edge.start = seq;
    }
    this.unstarted = [];
  }

  /** The plan changed: `parents` maps each member reached through a peer to the relay it depends on. */
  replanned(parents: ReadonlyMap<string, string>): void {
    for (const [child, list] of this.edges) {
      const open = openEdge(list);
      if (open && parents.get(child) !== open.parent) this.close(child, open);
    }
    for (const [child, parent] of parents) {
      const list = this.edges.get(child) ?? [];
      if (openEdge(list)?.parent === parent) continue;
      const edge: Edge = { parent, epoch: '', start: null, end: null };
      list.push(edge);
      if (list.length > EDGES_KEPT) list.shift();
      this.edges.set(child, list);
      this.unstarted.push(edge);
    }
  }

  /** The link between `a` and `b` went down: neither depends on the other from now on. */
  linkDown(a: string, b: string): void {
    for (const [child, parent] of [[a, b], [b, a]] as const) {
      const open = openEdge(this.edges.get(child) ?? []);
      if (open?.parent === parent) this.close(child, open);
    }
  }

  /** `id` left the room. */
  left(id: string): void {
    for (const [child, list] of this.edges) {
      const open = openEdge(list);
      if (open?.parent === id) this.close(child, open);
    }
    this.edges.delete(id);
    this.orphaned.push(...(this.strikes.get(id) ?? []));
    this.strikes.delete(id);
    this.demotedUntil.delete(id);
    this.reports.delete(id);
    this.apartUntil.delete(id);
    for (const apart of this.apartUntil.values()) apart.delete(id);
  }

  /**
   * `child` (of `user`) fetched `from..to` of `epoch` from history: a strike against each relay it
   * depended on for some of those positions. Returns true when it struck (judge in STRIKE_JUDGE_MS).
   */
  repaired(child: string, user: string, epoch: string, from: number, to: number, now: number): boolean {
    let struck = false;
    for (const edge of this.edges.get(child) ?? []) {
      if (edge.start === null || edge.epoch !== epoch || !this.carriable(Math.max(from, edge.start), Math.min(to, edge.end ?? to))) continue;
      // One strike per relay and member waiting at a time: a member asking a thousand times strikes once per judgement.
      if (this.pending.some((s) => s.parent === edge.parent && s.child === child)) continue;
      this.pending.push({ parent: edge.parent, child, user, at: now });
      struck = true;
    }
    return struck;
  }

  /** When the oldest waiting strike is due, or null. */
  get nextJudgement(): number | null {
    return this.pending.length === 0 ? null : this.pending[0]!.at + STRIKE_JUDGE_MS;
  }

  /** Judges the strikes that are due; returns the relays demoted now (`member` tells who is still here). */
  judge(now: number, member: (id: string) => boolean): string[] {
    const due = this.pending.filter((s) => now - s.at >= STRIKE_JUDGE_MS);
    this.pending = this.pending.filter((s) => now - s.at < STRIKE_JUDGE_MS);
    for (const strike of due) {
      if (member(strike.parent)) this.strikes.set(strike.parent, [...(this.strikes.get(strike.parent) ?? []), strike]);
      else this.orphaned.push(strike);
    }
    this.orphaned = this.orphaned.filter((s) => now - s.at <= STRIKE_WINDOW_MS);
    const guilty: string[] = [];
    for (const [parent, list] of this.strikes) {
      const recent = list.filter((s) => now - s.at <= STRIKE_WINDOW_MS);
      if (recent.length === 0) this.strikes.delete(parent);
      else this.strikes.set(parent, recent);
      if (recent.length < STRIKES_TO_DEMOTE) continue;
      const times = recent.map((s) => s.at);
      if (Math.max(...times) - Math.min(...times) < STRIKE_SPAN_MS) continue;
      if (new Set(recent.map((s) => s.user)).size >= CORROBORATION) guilty.push(parent);
    }
    // A relay that struck another guilty relay, or one that left, only passed on the gap it was given.
    const spared = (p: string) => this.orphaned.some((s) => s.child === p) || guilty.some((g) => g !== p && this.strikes.get(g)!.some((s) => s.child === p));
    const demoted = guilty.filter((p) => !spared(p));
    for (const id of demoted) {
      this.demotedUntil.set(id, now + DEMOTE_MS);
      this.strikes.delete(id);
    }
    return demoted;
  }

  /** True while `id` relays nothing after a demotion. */
  demoted(id: string, now: number): boolean {
    const until = this.demotedUntil.get(id);
    if (until === undefined) return false;
    if (now < until) return true;
    this.demotedUntil.delete(id);
    return false;
  }

  /** A member of `user` reported `peer`; true once users enough did (within the window) to cut the peer out. */
  reported(peer: string, user: string, now: number): boolean {
    const reports = this.reports.get(peer) ?? new Map<string, number>();
    for (const [by, at] of reports) if (now - at > REPORT_WINDOW_MS) reports.delete(by);
    reports.set(user, now);
    this.reports.set(peer, reports);
    return reports.size >= CORROBORATION;
  }

  /** Keeps `a` and `b` from being linked again for REPORT_WINDOW_MS. */
  keepApart(a: string, b: string, now: number): void {
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const apart = this.apartUntil.get(x) ?? new Map<string, number>();
      apart.set(y, now + REPORT_WINDOW_MS);
      this.apartUntil.set(x, apart);
    }
  }

  /** True while `a` and `b` are kept apart. */
  apart(a: string, b: string, now: number): boolean {
    const until = this.apartUntil.get(a)?.get(b);
    return until !== undefined && now < until;
  }

  /** Some position in `first..last` that peers could carry (not a broadcast too large to relay). */
  private carriable(first: number, last: number): boolean {
    for (let seq = first; seq <= Math.min(last, first + SCAN); seq++) if (!this.unrelayable.includes(seq)) return true;
    return false;
  }

  private close(child: string, edge: Edge): void {
    if (edge.start === null) {
      // It never carried anything: forget it.
      this.unstarted = this.unstarted.filter((e) => e !== edge);
      const list = this.edges.get(child)!;
      list.splice(list.indexOf(edge), 1);
      return;
    }
    edge.end = this.head?.epoch === edge.epoch ? this.head.seq : edge.start - 1;
  }
}

function openEdge(list: readonly Edge[]): Edge | undefined {
  const last = list.at(-1);
  return last && last.end === null ? last : undefined;
}
