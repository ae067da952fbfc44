/**
 * One topic's mesh on this node: who can relay, which links each member
 * should hold, which links work, and the delivery plan over them.
 *
 * Responsible for keeping members told (`plume:mesh`) when their links or
 * role change, for vouching for signalling (only between members that
 * should link), and for cutting a peer reported as lying. Not responsible
 * for sending broadcasts (`fanout.ts` asks it who gets them directly).
 */
import type { Payload } from '../../src/protocol';
import { chooseLinks, planDelivery, type Assignment } from './plan';

/** What the room needs of a member's channel. */
export interface MeshMember {
  readonly socketId: string;
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
  private readonly working = new Map<string, Set<string>>();
  private plan = new Map<string, Assignment>();
  /** Whether the plan reaches some member through peers (only then do broadcasts need signing). */
  private relays = false;
  private readonly told = new Map<string, string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly limits: MeshLimits,
    private readonly onReport: (peer: string, by: string, reason: string) => void,
    /** A member the new plan moves from relayed to direct delivery (it may have missed broadcasts meanwhile). */
    private readonly onPromoted: (id: string) => void = () => {},
  ) {}

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

  /** A member reports a link up or down. */
  reportLink(from: string, peer: string, up: boolean): void {
    if (!this.canSignal(from, peer)) return;
    undirected(this.working, from, peer, up);
    this.schedule();
  }

  /** A member reports a peer that sent forged or altered messages: the peer relays no more. */
  reportPeer(from: string, peer: string, reason: string): void {
    const entry = this.entries.get(peer);
    if (!entry || !this.canSignal(from, peer) || entry.banned) return;
    entry.banned = true;
    this.onReport(peer, from, reason);
    const neighbours = [...(this.wanted.get(peer) ?? [])];
    this.drop(peer);
    for (const n of neighbours) this.link(n);
    this.schedule();
  }

  /** Stops timers. */
  close(): void {
    clearTimeout(this.timer);
  }

  private link(id: string): void {
    const entry = this.entries.get(id);
    if (!entry || entry.banned) return;
    const candidates = [...this.entries].filter(([, e]) => !e.banned).map(([peer]) => peer);
    for (const peer of chooseLinks(id, candidates, this.wanted, this.limits.degree)) undirected(this.wanted, id, peer, true);
    // Everyone else is at the degree cap: splice into existing links (a-b becomes a-id-b), so a
    // newcomer still joins the mesh and nobody goes over the cap.
    while (this.limits.degree - (this.wanted.get(id)?.size ?? 0) >= 2) {
      const edge = this.spliceable(id, candidates);
      if (!edge) return;
      const [a, b] = edge;
      undirected(this.wanted, a, b, false);
      undirected(this.working, a, b, false);
      undirected(this.wanted, id, a, true);
      undirected(this.wanted, id, b, true);
    }
  }

  /** A link a-b whose ends are both not yet linked to `id`. */
  private spliceable(id: string, candidates: readonly string[]): [string, string] | null {
    const mine = this.wanted.get(id) ?? new Set<string>();
    for (const a of candidates) {
      if (a === id || mine.has(a)) continue;
      for (const b of this.wanted.get(a) ?? []) if (b !== id && !mine.has(b)) return [a, b];
    }
    return null;
  }

  private drop(id: string): void {
    for (const graph of [this.wanted, this.working]) {
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

  private update(): void {
    const ids = [...this.entries.keys()];
    const mesh = new Set(ids.filter((id) => !this.entries.get(id)!.banned));
    const before = this.plan;
    this.plan = planDelivery(ids, mesh, this.working, this.limits);
    let relayed = 0;
    for (const a of this.plan.values()) if (!a.direct) relayed++;
    // Too few to be worth signing every broadcast for: the server sends to everyone itself.
    if (relayed < this.limits.minRelayed) for (const id of ids) this.plan.set(id, { direct: true, forward: [], depth: 0 });
    this.relays = relayed >= this.limits.minRelayed;
    for (const [id, entry] of this.entries) {
      const assignment = this.plan.get(id)!;
      // Broadcasts sent between its relay going away and this plan were sent to nobody on its behalf.
      if (before.get(id)?.direct === false && assignment.direct) this.onPromoted(id);
      const payload = { links: [...(this.wanted.get(id) ?? [])].sort(), forward: assignment.forward, direct: assignment.direct };
      const text = JSON.stringify(payload);
      if (this.told.get(id) === text) continue;
      this.told.set(id, text);
      entry.member.push('plume:mesh', payload);
    }
  }
}
