import { describe, expect, it, vi } from 'vitest';
import { MeshRoom, type MeshMember } from './room';

const limits = { degree: 4, maxChildren: 4, maxDepth: 3, minRelayed: 1, debounceMs: 0 };

function member(id: string): MeshMember & { pushes: Array<{ links: string[]; forward: string[]; direct: boolean }> } {
  const pushes: Array<{ links: string[]; forward: string[]; direct: boolean }> = [];
  return { socketId: id, pushes, push: (_event, payload) => pushes.push(payload as never) };
}

describe('MeshRoom', () => {
  it('keeps every member within the degree cap and still links latecomers to a full room', () => {
    vi.useFakeTimers();
    try {
      const room = new MeshRoom(limits, () => {});
      const members = Array.from({ length: 12 }, (_, i) => member(`m${String(i).padStart(2, '0')}`));
      for (const m of members) room.join(m);
      vi.runAllTimers();
      for (const m of members) {
        const links = m.pushes.at(-1)!.links;
        expect(links.length).toBeLessThanOrEqual(4);
        expect(links.length).toBeGreaterThanOrEqual(2); // nobody is left out, latecomers included
      }
      // Links are symmetric.
      for (const m of members) for (const peer of m.pushes.at(-1)!.links) {
        expect(members.find((x) => x.socketId === peer)!.pushes.at(-1)!.links).toContain(m.socketId);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('relays only over links reported up, and never through a reported peer', () => {
    vi.useFakeTimers();
    try {
      const reports: string[] = [];
      const room = new MeshRoom(limits, (peer) => reports.push(peer));
      const [a, b, c] = [member('a'), member('b'), member('c')];
      for (const m of [a, b, c]) room.join(m);
      vi.runAllTimers();
      expect(room.assignment('b')?.direct).toBe(true); // no link is up yet: everyone direct
      room.reportLink('a', 'b', true);
      room.reportLink('a', 'c', true);
      vi.runAllTimers();
      expect([room.assignment('b')?.direct, room.assignment('c')?.direct]).toEqual([false, false]);
      expect(room.assignment('a')).toMatchObject({ direct: true, forward: ['b', 'c'] });
      room.reportPeer('b', 'a', 'forged');
      vi.runAllTimers();
      expect(reports).toEqual(['a']);
      expect(room.assignment('a')).toMatchObject({ direct: true, forward: [] });
      expect(room.assignment('b')?.direct).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('relays only once the plan reaches minRelayed members through peers, and sends everyone direct again below it', () => {
    vi.useFakeTimers();
    try {
      const promoted: string[] = [];
      const room = new MeshRoom({ ...limits, minRelayed: 3 }, () => {}, (id) => promoted.push(id));
      const [a, b, c, d] = [member('a'), member('b'), member('c'), member('d')];
      for (const m of [a, b, c]) room.join(m);
      vi.runAllTimers();
      room.reportLink('a', 'b', true);
      room.reportLink('a', 'c', true);
      vi.runAllTimers();
      // The plan could reach b and c through a, but two are fewer than three: nothing relays or is signed.
      expect(room.relaying).toBe(false);
      for (const m of [a, b, c]) expect(m.pushes.at(-1)).toMatchObject({ direct: true, forward: [] });
      expect(a.pushes.at(-1)!.links).toEqual(['b', 'c']); // links stay, for ephemeral events
      room.join(d);
      vi.runAllTimers();
      room.reportLink('a', 'd', true);
      vi.runAllTimers();
      expect(room.relaying).toBe(true);
      expect(room.assignment('a')).toMatchObject({ direct: true, forward: ['b', 'c', 'd'] });
      for (const m of [b, c, d]) expect(m.pushes.at(-1)).toMatchObject({ direct: false });
      room.leave('d');
      vi.runAllTimers();
      expect(room.relaying).toBe(false);
      expect([b, c].map((m) => m.pushes.at(-1)!.direct)).toEqual([true, true]);
      expect(promoted.sort()).toEqual(['b', 'c']); // they hear the head and fetch what they may have missed
    } finally {
      vi.useRealTimers();
    }
  });
});
