/**
 * One topic's mesh on this node: who can relay, which links each member
 * should hold, which links work, and the delivery plan over them.
 *
 * Responsible for keeping members told (`plume:mesh`) when their links or
 * role change, for vouching for signalling (only between members that
 * should link), for counting a link as working only once both ends say so,
 * and for acting on what `trust.ts` concludes: demoting a relay whose
 * children keep filling its gaps, cutting out a peer reported by two users.
 * Not responsible for sending broadcasts (`fanout.ts` asks it who gets them
 * directly).
 */
import type { Payload } from '../../src/protocol';
import { chooseLinks, planDelivery, type Assignment } from './plan';
import { DEMOTE_MS, Trust } from './trust';

/** What the room needs of a member's channel. */
export interface MeshMember {
  readonly socketId: string;
  /** Who the member is: reports and repairs count once per user, not per socket. */
  readonly assigns: { readonly userId: string };
  /** Bytes waiting to be written to the member's socket (`outbound.ts`). */
  readonly pendingBytes: number;
  push(event: string, payload: Payload): void;
}

/** Mesh limits, with defaults in `options.ts`. */
export interface MeshLimits {
  /** Links each member should hold. */
  degree: number;
  /** Most members one member forwards to. */
  maxChildren: number;
  /** Most relay hops. */
  maxDepth: number;
  /** Fewest members reached through peers for the room to relay at all (below it, all direct). */
  minRelayed: number;
  /** Coalesces plan updates (ms). */
  debounceMs: number;
}

/** What the room tells its owner. */
export interface MeshRoomEvents {
  /** `peer` was cut out of the mesh on the reports of two users, the last one `by`'s. */
  banned(peer: string, by: string, reason: string): void;
  /** A member the new plan moves from relayed to direct delivery (it may have missed broadcasts meanwhile). */
  promoted?(id: string): void;
  /** `id` relays nothing for a while: its children kept filling its gaps from history. */
  demoted?(id: string): void;
}

interface Entry {
  member: MeshMember;
  banned: boolean;
}

const undirected = (graph: Map<string, Set<string>>, a: string, b: string, on: boolean) => {
  for (const [x, y] of [[a, b], [b, a]] as const) {
    let set = graph.get(x);
    if (!set) graph.set(x, (set = new Set()));
    if (on) set.add(y);
    else set.delete(y);
  }
};

export class MeshRoom {
  private readonly entries = new Map<string, Entry>();
  private readonly wanted = new Map<string, Set<string>>();
  /** Links each member reported up (directed: `a` said its link to `b` is up). */
  private readonly ups = new Map<string, Set<string>>();
  /** Links both ends reported up: the only ones the plan uses. */
  private readonly working = new Map<string, Set<string>>();
  private plan = new Map<string, Assignment>();
  /** Whether the plan reaches some member through peers (only then do broadcasts need signing). */
  private relays = false;
  private readonly told = new Map<string, string>();
  private readonly trust = new Trust();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private judgeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly expiries = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly limits: MeshLimits, private readonly events: MeshRoomEvents) {}

  get size(): number {
    return this.entries.size;
  }

  /** Adds a member (one that asked to mesh: no other has a place here); it gets links to the least-linked members. */
  join(member: MeshMember): void {
    this.entries.set(member.socketId, { member, banned: false });
    this.plan.set(member.socketId, { direct: true, forward: [], depth: 0 });
    this.link(member.socketId);
    this.schedule();
  }

  /** Removes a member; its neighbours get new links to keep their degree. */
  leave(id: string): void {
    if (!this.entries.delete(id)) return;
    const neighbours = [...(this.wanted.get(id) ?? [])];
    this.drop(id);
    this.trust.left(id);
    for (const n of neighbours) this.link(n);
    this.schedule();
  }

  /** How `id` receives broadcasts (direct when unknown). */
  assignment(id: string): Assignment | undefined {
    return this.plan.get(id);
  }

  /** True when the plan has a member reached through peers, so its broadcasts must be signed. */
  get relaying(): boolean {
    return this.relays;
  }

  /** True when `id` has at least one working link. */
  linked(id: string): boolean {
    return (this.working.get(id)?.size ?? 0) > 0;
  }

  /** True when `from` may send signalling to `to`: both here, and meant to link. */
  canSignal(from: string, to: string): boolean {
    return this.entries.has(to) && (this.wanted.get(from)?.has(to) ?? false);
  }

  /** A member reports its link to `peer` up or down: it works once both ends said up; either end's down ends it. */
  reportLink(from: string, peer: string, up: boolean): void {
    if (!this.canSignal(from, peer)) return;
    if (up) {
      let mine = this.ups.get(from);
      if (!mine) this.ups.set(from, (mine = new Set()));
      mine.add(peer);
      if (!this.ups.get(peer)?.has(from) || this.working.get(from)?.has(peer)) return;
      undirected(this.working, from, peer, true);
    } else {
      // Both ends say up again for a new link: a stale "up" must not count for it.
      undirected(this.ups, from, peer, false);
      if (!this.working.get(from)?.has(peer)) return;
      undirected(this.working, from, peer, false);
      this.trust.linkDown(from, peer);
    }
    this.schedule();
  }

  /**
   * A member reports a peer that sent forged or altered messages. Its own link to the peer goes (it
   * cut it already); the peer relays no more only once members of two users reported it.
   */
  reportPeer(from: string, peer: string, reason: string): void {
    const entry = this.entries.get(peer);
    const reporter = this.entries.get(from);
    if (!entry || !reporter || !this.canSignal(from, peer) || entry.banned) return;
    const now = Date.now();
    if (!this.trust.reported(peer, reporter.member.assigns.userId, now)) return this.separate(from, peer, now);
    entry.banned = true;
    this.events.banned(peer, from, reason);
    const neighbours = [...(this.wanted.get(peer) ?? [])];
    this.drop(peer);
    for (const n of neighbours) this.link(n);
    this.schedule();
  }

  /** `id` fetched `from..to` of `epoch` from history: a strike against the relays it depended on for them. */
  repairing(id: string, epoch: string, from: number, to: number): void {
    const entry = this.entries.get(id);
    if (entry && this.trust.repaired(id, entry.member.assigns.userId, epoch, from, to, Date.now())) this.scheduleJudgement();
  }

  /** A broadcast of the room was signed; `relayable` when small enough for peers to carry. */
  announced(epoch: string, seq: number, relayable: boolean): void {
    this.trust.announced(epoch, seq, relayable);
  }

  /** Stops timers. */
  close(): void {
    clearTimeout(this.timer);
    clearTimeout(this.judgeTimer);
    for (const timer of this.expiries) clearTimeout(timer);
    this.expiries.clear();
  }

  /** Ends the link between `a` and `b` and keeps them apart; both get new links. */
  private separate(a: string, b: string, now: number): void {
    this.trust.keepApart(a, b, now);
    for (const graph of [this.wanted, this.ups, this.working]) undirected(graph, a, b, false);
    this.trust.linkDown(a, b);
    this.link(a);
    this.link(b);
    this.schedule();
  }

  private link(id: string): void {
    const entry = this.entries.get(id);
    if (!entry || entry.banned) return;
    const now = Date.now();
    const candidates = [...this.entries].filter(([peer, e]) => !e.banned && !this.trust.apart(id, peer, now)).map(([peer]) => peer);
    for (const peer of chooseLinks(id, candidates, this.wanted, this.limits.degree)) undirected(this.wanted, id, peer, true);
    // Everyone else is at the degree cap: splice into existing links (a-b becomes a-id-b), so a
    // newcomer still joins the mesh and nobody goes over the cap.
    while (this.limits.degree - (this.wanted.get(id)?.size ?? 0) >= 2) {
      const edge = this.spliceable(id, candidates);
      if (!edge) return;
      const [a, b] = edge;
      for (const graph of [this.wanted, this.ups, this.working]) undirected(graph, a, b, false);
      this.trust.linkDown(a, b);
      undirected(this.wanted, id, a, true);
      undirected(this.wanted, id, b, true);
    }
  }

  /** A link a-b between two candidates, neither of them yet linked to `id`. */
  private spliceable(id: string, candidates: readonly string[]): [string, string] | null {
    const mine = this.wanted.get(id) ?? new Set<string>();
    const allowed = new Set(candidates);
    for (const a of candidates) {
      if (a === id || mine.has(a)) continue;
      for (const b of this.wanted.get(a) ?? []) if (b !== id && !mine.has(b) && allowed.has(b)) return [a, b];
    }
    return null;
  }

  private drop(id: string): void {
    for (const graph of [this.wanted, this.ups, this.working]) {
      for (const peer of graph.get(id) ?? []) graph.get(peer)?.delete(id);
      graph.delete(id);
    }
    this.told.delete(id);
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.update();
    }, this.limits.debounceMs);
    this.timer.unref?.();
  }

  private scheduleJudgement(): void {
    const due = this.trust.nextJudgement;
    if (this.judgeTimer !== undefined || due === null) return;
    this.judgeTimer = setTimeout(() => {
      this.judgeTimer = undefined;
      this.judge();
    }, Math.max(0, due - Date.now()));
    this.judgeTimer.unref?.();
  }

  private judge(): void {
    const demoted = this.trust.judge(Date.now(), (id) => this.entries.has(id));
    for (const id of demoted) this.events.demoted?.(id);
    if (demoted.length > 0) {
      this.schedule();
      // Once the demotion is over, the next plan may make it a relay again.
      const expiry = setTimeout(() => {
        this.expiries.delete(expiry);
        this.schedule();
      }, DEMOTE_MS + 1);
      expiry.unref?.();
      this.expiries.add(expiry);
    }
    this.scheduleJudgement();
  }

  private update(): void {
    const ids = [...this.entries.keys()];
    const now = Date.now();
    const mesh = new Set(ids.filter((id) => !this.entries.get(id)!.banned));
    const forwarders = new Set([...mesh].filter((id) => !this.trust.demoted(id, now)));
    const before = this.plan;
    this.plan = planDelivery(ids, mesh, this.working, this.limits, forwarders);
    let relayed = 0;
    for (const a of this.plan.values()) if (!a.direct) relayed++;
    // Too few to be worth signing every broadcast for: the server sends to everyone itself.
    if (relayed < this.limits.minRelayed) for (const id of ids) this.plan.set(id, { direct: true, forward: [], depth: 0 });
    this.relays = relayed >= this.limits.minRelayed;
    const parents = new Map<string, string>();
    for (const [id, a] of this.plan) for (const child of a.forward) parents.set(child, id);
    this.trust.replanned(parents);
    for (const [id, entry] of this.entries) {
      const assignment = this.plan.get(id)!;
      // Broadcasts sent between its relay going away and this plan were sent to nobody on its behalf.
      if (before.get(id)?.direct === false && assignment.direct) this.events.promoted?.(id);
      const payload = { links: [...(this.wanted.get(id) ?? [])].sort(), forward: assignment.forward, direct: assignment.direct };
      const text = JSON.stringify(payload);
      if (this.told.get(id) === text) continue;
      this.told.set(id, text);
      entry.member.push('plume:mesh', payload);
    }
  }
}
