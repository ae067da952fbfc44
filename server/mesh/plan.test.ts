import { describe, expect, it } from 'vitest';
import { chooseLinks, planDelivery } from './plan';

function graph(edges: Array<[string, string]>): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const [a, b] of edges) {
    if (!g.has(a)) g.set(a, new Set());
    if (!g.has(b)) g.set(b, new Set());
    g.get(a)!.add(b);
    g.get(b)!.add(a);
  }
  return g;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `m${String(i).padStart(2, '0')}`);

describe('chooseLinks', () => {
  it('links a newcomer to the least-linked members, up to the degree', () => {
    const links = graph([['a', 'b'], ['a', 'c'], ['a', 'd']]);
    expect(chooseLinks('e', ['a', 'b', 'c', 'd', 'e'], links, 2)).toEqual(['b', 'c']);
  });

  it('never exceeds the degree for anyone', () => {
    const links = new Map<string, Set<string>>();
    const members = ids(40);
    for (const m of members) {
      for (const p of chooseLinks(m, members, links, 4)) {
        for (const [x, y] of [[m, p], [p, m]] as const) {
          if (!links.has(x)) links.set(x, new Set());
          links.get(x)!.add(y);
        }
      }
    }
    for (const m of members) expect(links.get(m)?.size ?? 0).toBeLessThanOrEqual(4);
    expect([...links.values()].filter((s) => s.size >= 3).length).toBeGreaterThan(30);
  });
});

describe('planDelivery', () => {
  const limits = { maxChildren: 3, maxDepth: 2 };

  it('sends directly to members outside the mesh', () => {
    const plan = planDelivery(['a', 'b'], new Set(['a']), new Map(), limits);
    expect(plan.get('b')).toEqual({ direct: true, forward: [], depth: 0 });
    expect(plan.get('a')?.direct).toBe(true);
  });

  it('reaches every mesh member exactly once, within the depth and children limits', () => {
    const members = ids(32);
    const links = new Map<string, Set<string>>();
    for (const m of members) for (const p of chooseLinks(m, members, links, 4)) {
      for (const [x, y] of [[m, p], [p, m]] as const) {
        if (!links.has(x)) links.set(x, new Set());
        links.get(x)!.add(y);
      }
    }
    const plan = planDelivery(members, new Set(members), links, { maxChildren: 4, maxDepth: 3 });
    const reached = new Map<string, number>();
    for (const [id, a] of plan) {
      if (a.direct) reached.set(id, (reached.get(id) ?? 0) + 1);
      expect(a.forward.length).toBeLessThanOrEqual(4);
      expect(a.depth).toBeLessThanOrEqual(3);
      for (const child of a.forward) {
        reached.set(child, (reached.get(child) ?? 0) + 1);
        expect(links.get(id)?.has(child)).toBe(true);
        expect(plan.get(child)?.depth).toBe(a.depth + 1);
      }
    }
    for (const m of members) expect(reached.get(m)).toBe(1);
    const direct = [...plan.values()].filter((a) => a.direct).length;
    expect(direct).toBeLessThanOrEqual(8); // at most a quarter get it from the server
  });

  it('makes an unlinked member a root of its own', () => {
    const plan = planDelivery(['a', 'b', 'c'], new Set(['a', 'b', 'c']), graph([['a', 'b']]), limits);
    expect(plan.get('c')).toEqual({ direct: true, forward: [], depth: 0 });
    expect([plan.get('a')?.direct, plan.get('b')?.direct].filter(Boolean)).toHaveLength(1);
  });

  it('gives members outside `forwarders` (demoted relays) no children, and reaches them through others', () => {
    const links = graph([['a', 'b'], ['a', 'c'], ['a', 'd'], ['b', 'c'], ['b', 'd'], ['c', 'd']]);
    const plan = planDelivery(['a', 'b', 'c', 'd'], new Set(['a', 'b', 'c', 'd']), links, limits, new Set(['b', 'c', 'd']));
    expect(plan.get('a')).toEqual({ direct: false, forward: [], depth: 1 });
    expect(plan.get('b')).toEqual({ direct: true, forward: ['a', 'c', 'd'], depth: 0 });
  });
});
