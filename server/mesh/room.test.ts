import { describe, expect, it, vi } from 'vitest';
import { MeshRoom, type MeshMember } from './room';

const limits = { degree: 4, maxChildren: 4, maxDepth: 3, minRelayed: 1, debounceMs: 0 };

function member(id: string): MeshMember & { pushes: Array<{ links: string[]; forward: string[]; direct: boolean }> } {
  const pushes: Array<{ links: string[]; forward: string[]; direct: boolean }> = [];
  return { socketId: id, assigns: { userId: `user-${id}` }, pendingBytes: 0, pushes, push: (_event, payload) => void pushes.push(payload as never) };
}

describe('MeshRoom', () => {
  it('keeps every member within the degree cap and still links latecomers to a full room', () => {
    vi.useFakeTimers();
    try {
      const room = new MeshRoom(limits, { banned: () => {} });
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

  it('relays only over links both ends reported up, and never through a peer two users reported', () => {
    vi.useFakeTimers();
    try {
      const reports: string[] = [];
      const room = new MeshRoom(limits, { banned: (peer) => reports.push(peer) });
      const [a, b, c] = [member('a'), member('b'), member('c')];
      for (const m of [a, b, c]) room.join(m);
      vi.runAllTimers();
      expect(room.assignment('b')?.direct).toBe(true); // no link is up yet: everyone direct
      room.reportLink('a', 'b', true);
      room.reportLink('a', 'c', true);
      vi.runAllTimers();
      // One end's word: nothing changes.
      expect([room.assignment('b')?.direct, room.assignment('c')?.direct]).toEqual([true, true]);
      room.reportLink('b', 'a', true);
      room.reportLink('c', 'a', true);
      vi.runAllTimers();
      expect([room.assignment('b')?.direct, room.assignment('c')?.direct]).toEqual([false, false]);
      expect(room.assignment('a')).toMatchObject({ direct: true, forward: ['b', 'c'] });
      // Either end's "down" ends it; then both must say "up" again.
      room.reportLink('c', 'a', false);
      room.reportLink('c', 'a', true);
      vi.runAllTimers();
      expect(room.assignment('a')).toMatchObject({ forward: ['b'] });
      room.reportLink('b', 'a', true); // a repeated "up" from the other link changes nothing
      room.reportPeer('b', 'a', 'forged');
      vi.runAllTimers();
      expect(reports).toEqual([]);
      expect(room.assignment('a')).toMatchObject({ direct: true, forward: [] }); // b cut its own link, nothing more
      room.reportPeer('c', 'a', 'forged');
      vi.runAllTimers();
      expect(reports).toEqual(['a']);
      expect(a.pushes.at(-1)).toEqual({ links: [], forward: [], direct: true });
    } finally {
      vi.useRealTimers();
    }
  });

  it('demotes a relay whose children of two users keep fetching what it should have passed on, for a while', () => {
    vi.useFakeTimers();
    try {
      const demoted: string[] = [];
      const room = new MeshRoom(limits, { banned: () => {}, demoted: (id) => demoted.push(id) });
      const members = ['a', 'b', 'c', 'd'].map(member);
      for (const m of members) room.join(m);
      vi.runAllTimers();
      for (const x of members) for (const y of members) if (x !== y) room.reportLink(x.socketId, y.socketId, true);
      vi.advanceTimersByTime(100);
      expect(room.assignment('a')).toMatchObject({ direct: true, forward: ['b', 'c', 'd'] });
      // Repairs of what was sent before the plan, or of what does not exist yet, strike nobody.
      room.repairing('b', 'e1', 1, 1);
      room.announced('e1', 2, true);
      room.announced('e1', 3, true);
      room.repairing('b', 'e1', 1, 1);
      room.repairing('b', 'e2', 2, 3);
      vi.advanceTimersByTime(5_000);
      expect(demoted).toEqual([]);
      // One child's word is not enough, however often it speaks.
      for (let i = 0; i < 5; i++) {
        room.repairing('b', 'e1', 2, 3);
        vi.advanceTimersByTime(1_000);
      }
      expect(demoted).toEqual([]);
      room.repairing('c', 'e1', 3, 3);
      vi.advanceTimersByTime(1_100);
      expect(demoted).toEqual(['a']);
      expect(room.assignment('a')).toMatchObject({ direct: false, forward: [] });
      expect(room.assignment('b')).toMatchObject({ direct: true, forward: ['a', 'c', 'd'] });
      vi.advanceTimersByTime(60_000);
      expect(room.assignment('a')).toMatchObject({ direct: true, forward: ['b', 'c', 'd'] }); // trusted again
    } finally {
      vi.useRealTimers();
    }
  });

  it('relays only once the plan reaches minRelayed members through peers, and sends everyone direct again below it', () => {
    vi.useFakeTimers();
    try {
      const promoted: string[] = [];
      const room = new MeshRoom({ ...limits, minRelayed: 3 }, { banned: () => {}, promoted: (id) => promoted.push(id) });
      const [a, b, c, d] = [member('a'), member('b'), member('c'), member('d')];
      for (const m of [a, b, c]) room.join(m);
      vi.runAllTimers();
      for (const [x, y] of [['a', 'b'], ['a', 'c']] as const) {
        room.reportLink(x, y, true);
        room.reportLink(y, x, true);
      }
      vi.runAllTimers();
      // The plan could reach b and c through a, but two are fewer than three: nothing relays or is signed.
      expect(room.relaying).toBe(false);
      for (const m of [a, b, c]) expect(m.pushes.at(-1)).toMatchObject({ direct: true, forward: [] });
      expect(a.pushes.at(-1)!.links).toEqual(['b', 'c']); // links stay, for ephemeral events
      room.join(d);
      vi.runAllTimers();
      room.reportLink('a', 'd', true);
      room.reportLink('d', 'a', true);
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
