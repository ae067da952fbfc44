/**
 * The messages-per-second chart: points over the last minutes as SVG
 * paths, scaled to a round maximum. Pure geometry (`chartPaths`) plus one
 * function that draws it into an `<svg>`.
 */

/** One reading: when (ms) and a value per series. */
export interface Point {
  at: number;
  values: number[];
}

/** The smallest of 1, 2, 5 × 10^n at or above `n` (at least 1). */
export function niceMax(n: number): number {
  if (!(n > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * power >= n) return step * power;
  return 10 * power;
}

/**
 * An SVG path per series over a `width` × `height` box, the newest point at the right edge and
 * `spanMs` of history across; and the scale's maximum.
 * @example chartPaths([{ at: 0, values: [1] }, { at: 1000, values: [3] }], 100, 50, 1000).paths[0] // 'M0,33.3L100,0'
 */
export function chartPaths(points: readonly Point[], width: number, height: number, spanMs: number): { paths: string[]; max: number } {
  const series = points[0]?.values.length ?? 0;
  const max = niceMax(Math.max(0, ...points.flatMap((p) => p.values)));
  const newest = points.at(-1)?.at ?? 0;
  const x = (at: number) => Math.round((width - ((newest - at) / spanMs) * width) * 10) / 10;
  const y = (v: number) => Math.round((height - (v / max) * height) * 10) / 10;
  const paths: string[] = [];
  for (let s = 0; s < series; s++) paths.push(points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.at)},${y(p.values[s] ?? 0)}`).join(''));
  return { paths, max };
}

const SVG = 'http://www.w3.org/2000/svg';

/** Draws the series into `svg` (its viewBox sets the size); returns the scale's maximum, for a label beside it. */
export function drawChart(svg: SVGSVGElement, points: readonly Point[], spanMs: number, classes: readonly string[]): number {
  const { width, height } = svg.viewBox.baseVal;
  const { paths, max } = chartPaths(points, width, height - 4, spanMs);
  const grid = [0.25, 0.5, 0.75].map((f) => element('line', { x1: '0', x2: String(width), y1: String((height - 4) * f), y2: String((height - 4) * f), class: 'chart__grid' }));
  const lines = paths.map((d, i) => element('path', { d, class: `chart__line ${classes[i] ?? ''}` }));
  svg.replaceChildren(...grid, ...lines);
  return max;
}

function element(name: string, attrs: Record<string, string>): SVGElement {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}
