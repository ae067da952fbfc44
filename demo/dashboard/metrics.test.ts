import { describe, expect, it } from 'vitest';
import { chartPaths, niceMax } from './chart';
import { compact, parseMetrics, rate, value } from './metrics';
import { peopleOf } from './rooms';

describe('the dashboard', () => {
  it('parses the Prometheus text format, labels included', () => {
    const sample = parseMetrics('# HELP plume_connections Open sockets.\n# TYPE plume_connections gauge\nplume_connections 3\nplume_joins_total{result="accepted"} 12\n\n');
    expect([value(sample, 'plume_connections'), value(sample, 'plume_joins_total{result="accepted"}'), value(sample, 'missing')]).toEqual([3, 12, 0]);
  });

  it('turns two readings of a counter into a rate, and a restart into 0', () => {
    expect(rate(10, 40, 2)).toBe(15);
    expect(rate(40, 10, 2)).toBe(0);
    expect(rate(1, 2, 0)).toBe(0);
  });

  it('writes numbers short', () => {
    expect([compact(3), compact(2.5), compact(1234), compact(2_500_000)]).toEqual(['3', '2.5', '1.2k', '2.5M']);
  });

  it('scales the chart to a round maximum with the newest point at the right', () => {
    expect([niceMax(0), niceMax(3), niceMax(12), niceMax(470)]).toEqual([1, 5, 20, 500]);
    expect(chartPaths([{ at: 0, values: [1, 0] }, { at: 1000, values: [3, 5] }], 100, 50, 1000)).toEqual({ paths: ['M0,40L100,20', 'M0,50L100,0'], max: 5 });
  });

  it("lists the people in a room by their name, else their key", () => {
    expect(peopleOf({ u2: { metas: [{ name: 'Bob' }] }, u1: { metas: [{ name: 'Ada' }, { name: 'Ada' }] }, u3: { metas: [{}] } })).toEqual(['Ada', 'Bob', 'u3']);
  });
});
