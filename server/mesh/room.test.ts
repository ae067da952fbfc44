import { describe, expect, it, vi } from 'vitest';
import { MeshRoom, type MeshMember } from './room';

const limits = { degree: 4, maxChildren: 4, maxDepth: 3, debounceMs: 0 };

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
});
