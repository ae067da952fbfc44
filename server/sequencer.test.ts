import { describe, expect, it } from 'vitest';
import { MemorySequencer, newEpoch } from './sequencer';

describe('MemorySequencer', () => {
  it('numbers each topic from 1, by exactly one per broadcast', () => {
    const seq = new MemorySequencer('e1');
    expect([seq.next('a'), seq.next('a'), seq.next('a')]).toEqual([
      { epoch: 'e1', seq: 1 },
      { epoch: 'e1', seq: 2 },
      { epoch: 'e1', seq: 3 },
    ]);
  });

  it('keeps topics independent', () => {
    const seq = new MemorySequencer('e1');
    seq.next('a');
    seq.next('a');
    expect(seq.next('b')).toEqual({ epoch: 'e1', seq: 1 });
    expect(seq.head('a')).toEqual({ epoch: 'e1', seq: 2 });
  });

  it('reports head seq 0 for a topic never broadcast to', () => {
    expect(new MemorySequencer('e1').head('none')).toEqual({ epoch: 'e1', seq: 0 });
  });

  it('head does not advance the order', () => {
    const seq = new MemorySequencer('e1');
    seq.head('a');
    expect(seq.next('a').seq).toBe(1);
  });

  it('starts a fresh epoch per instance, as a restart must', () => {
    expect(new MemorySequencer().epoch).not.toBe(new MemorySequencer().epoch);
    expect(newEpoch()).toMatch(/^[A-Za-z0-9_-]{8}$/);
  });
});
