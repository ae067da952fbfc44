/**
 * The shape of a room's mesh: which members should hold WebRTC links to
 * which (a degree-capped graph, not a full mesh), and the delivery plan over
 * the links that actually work: a few members get each broadcast from the
 * server, and forward it to their children along a tree of bounded depth.
 *
 * Pure functions over member ids; the room (`room.ts`) applies them.
 */

/** How a member receives broadcasts, and to whom it forwards them. */
export interface Assignment {
  /** The server sends it broadcasts directly. */
  direct: boolean;
  /** Members it forwards relayed broadcasts to. */
  forward: string[];
  /** Depth in its tree (0 for a root or a member outside the mesh). */
  depth: number;
}

/** Plan limits. */
export interface PlanLimits {
  /** Most children a member forwards to. */
  maxChildren: number;
  /** Most hops from the server's direct send to the farthest member. */
  maxDepth: number;
}

/**
 * Chooses up to `degree` new link partners for `member` among `candidates`:
 * those with the fewest links first (ties by id), so the graph stays even.
 */
export function chooseLinks(member: string, candidates: readonly string[], links: ReadonlyMap<string, ReadonlySet<string>>, degree: number): string[] {
  const mine = links.get(member) ?? new Set<string>();
  const wanted = degree - mine.size;
  if (wanted <= 0) return [];
  return candidates
    .filter((c) => c !== member && !mine.has(c) && (links.get(c)?.size ?? 0) < degree)
    .sort((a, b) => (links.get(a)?.size ?? 0) - (links.get(b)?.size ?? 0) || (a < b ? -1 : 1))
    .slice(0, wanted);
}

/**
 * Plans delivery over working links. Members outside `meshMembers` get
 * everything directly. Roots are picked greedily (a member allowed to
 * forward before one that is not, then the best-linked member not yet
 * reached) and each grows a breadth-first tree within the limits; a member
 * no tree reaches becomes a root itself. Only members in `forwarders`
 * (default: every mesh member) are given children: the others (demoted
 * relays) can still be reached through peers.
 *
 * @example planDelivery(['a','b','c'], new Set(['a','b','c']), links, { maxChildren: 4, maxDepth: 3 })
 */
export function planDelivery(
  members: readonly string[],
  meshMembers: ReadonlySet<string>,
  working: ReadonlyMap<string, ReadonlySet<string>>,
  limits: PlanLimits,
  forwarders: ReadonlySet<string> = meshMembers,
): Map<string, Assignment> {
  const plan = new Map<string, Assignment>();
  for (const m of members) if (!meshMembers.has(m)) plan.set(m, { direct: true, forward: [], depth: 0 });
  const degree = (m: string) => [...(working.get(m) ?? [])].filter((p) => meshMembers.has(p) && !plan.has(p)).length;
  const rank = (m: string) => (forwarders.has(m) ? 1 : 0);
  for (;;) {
    const left = members.filter((m) => meshMembers.has(m) && !plan.has(m));
    if (left.length === 0) return plan;
    const root = left.sort((a, b) => rank(b) - rank(a) || degree(b) - degree(a) || (a < b ? -1 : 1))[0]!;
    grow(root, plan, { meshMembers, working, forwarders }, limits);
  }
}

/** What a tree grows over. */
interface Ground {
  meshMembers: ReadonlySet<string>;
  working: ReadonlyMap<string, ReadonlySet<string>>;
  forwarders: ReadonlySet<string>;
}

function grow(root: string, plan: Map<string, Assignment>, ground: Ground, limits: PlanLimits): void {
  plan.set(root, { direct: true, forward: [], depth: 0 });
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    const assignment = plan.get(parent)!;
    if (assignment.depth >= limits.maxDepth || !ground.forwarders.has(parent)) continue;
    const children = [...(ground.working.get(parent) ?? [])].filter((p) => ground.meshMembers.has(p) && !plan.has(p)).sort();
    for (const child of children.slice(0, limits.maxChildren)) {
      plan.set(child, { direct: false, forward: [], depth: assignment.depth + 1 });
      assignment.forward.push(child);
      queue.push(child);
    }
  }
}
