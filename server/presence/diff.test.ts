import { describe, expect, it } from 'vitest';
import { DiffBuilder, emptyState } from './diff';
import { canonical } from './meta';

const meta = (ref: string, fields: object = {}) => ({ phx_ref: ref, ...fields });

describe('DiffBuilder', () => {
  it('collects joins and leaves per key in Phoenix\'s shape, and starts over after take', () => {
    const diff = new DiffBuilder();
    expect(diff.empty).toBe(true);
    diff.join('ada', meta('a1', { name: 'Ada' }));
    diff.join('ada', meta('a2', { name: 'Ada' }));
    diff.leave('bob', meta('b1'));
    expect(diff.take()).toEqual({
      joins: { ada: { metas: [meta('a1', { name: 'Ada' }), meta('a2', { name: 'Ada' })] } },
      leaves: { bob: { metas: [meta('b1')] } },
    });
    expect(diff.take()).toBeNull();
  });

  it('cancels a join by a leave of the same ref within one interval, but keeps a leave of an older ref', () => {
    const diff = new DiffBuilder();
    diff.join('ada', meta('a2'));
    diff.leave('ada', meta('a2'));
    expect(diff.empty).toBe(true);
    diff.leave('ada', meta('a1'));
    diff.join('ada', meta('a3', { phx_ref_prev: 'a1' }));
    expect(diff.take()).toEqual({ joins: { ada: { metas: [meta('a3', { phx_ref_prev: 'a1' })] } }, leaves: { ada: { metas: [meta('a1')] } } });
  });

  it('takes any key, __proto__ included, as data', () => {
    const diff = new DiffBuilder();
    diff.join('__proto__', meta('p1'));
    const taken = diff.take();
    expect(Object.keys(taken?.joins ?? {})).toEqual(['__proto__']);
    expect(JSON.parse(JSON.stringify(taken))).toEqual({ joins: JSON.parse('{"__proto__":{"metas":[{"phx_ref":"p1"}]}}'), leaves: {} });
    expect(Object.getPrototypeOf(emptyState())).toBeNull();
  });
});

describe('canonical', () => {
  it('is the same for the same fields in any order, and drops undefined ones', () => {
    expect(canonical({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(canonical({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1, z: undefined }));
    expect(canonical({ a: 1 })).not.toBe(canonical({ a: '1' }));
  });
});
