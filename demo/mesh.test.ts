import type { MeshStats } from 'plume/mesh';
import { describe, expect, it } from 'vitest';
import { formatBytes, listNames, summarize } from './mesh';

function mesh(extra: Partial<MeshStats> = {}): MeshStats {
  return {
    member: 'm0', planDirect: true, receivedDirect: 0, receivedRelayed: 0, forwarded: 0, bytesForwarded: 0, ephemeralSent: 0, bytesEphemeral: 0,
    forgeries: 0, duplicates: 0, peers: [], forwardTo: [], ...extra,
  };
}

const names = new Map([['m1', 'Bob'], ['m2', 'Cy']]);

describe('the mesh summary', () => {
  it('says the server sends everything when the browser has no mesh', () => {
    const s = summarize({ repairs: 0, mesh: null }, names);
    expect(s.route).toBe('off');
    expect(s.detail).toContain('no WebRTC');
    expect(s.relayedShare).toBeNull();
  });

  it('says a member is joining until the room has placed it', () => {
    expect(summarize({ repairs: 0, mesh: mesh({ member: null }) }, names).route).toBe('joining');
  });

  it('names the peers a relaying member passes messages on to', () => {
    const s = summarize({ repairs: 0, mesh: mesh({ peers: [{ id: 'm2', up: true }, { id: 'm1', up: true }], forwardTo: ['m1', 'm2'] }) }, names);
    expect(s.route).toBe('direct');
    expect(s.detail).toBe('You pass them on to Bob and Cy.');
    expect(s.peers.map((p) => [p.name, p.fedByYou])).toEqual([['Bob', true], ['Cy', true]]);
  });

  it('tells a linked member that the server still sends it everything apart from one with no working link', () => {
    expect(summarize({ repairs: 0, mesh: mesh({ peers: [{ id: 'm1', up: false }] }) }, names).detail).toContain('No peer link works yet');
    const linked = summarize({ repairs: 0, mesh: mesh({ peers: [{ id: 'm1', up: true }] }) }, names);
    expect(linked.route).toBe('direct');
    expect(linked.detail).toContain('Your peer links work');
  });

  it('counts the share received through peers, and lists working links first', () => {
    const s = summarize({ repairs: 2, mesh: mesh({ planDirect: false, receivedDirect: 1, receivedRelayed: 3, peers: [{ id: 'm1', up: false }, { id: 'zz99', up: true }] }) }, names);
    expect(s.route).toBe('relayed');
    expect(s.relayedShare).toBe(0.75);
    expect(s.repairs).toBe(2);
    expect(s.peersUp).toBe(1);
    expect(s.peers.map((p) => p.name)).toEqual(['Someone (zz99)', 'Bob']);
    expect(s.detail).toContain('end of the chain');
  });
});

describe('formatting', () => {
  it('lists names and sizes as people read them', () => {
    expect(listNames([])).toBe('');
    expect(listNames(['Ada'])).toBe('Ada');
    expect(listNames(['Ada', 'Bob', 'Cy'])).toBe('Ada, Bob and Cy');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(5_222)).toBe('5.1 KB');
    expect(formatBytes(2_500_000)).toBe('2.4 MB');
  });
});
