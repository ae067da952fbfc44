/**
 * Reads Prometheus' text format (what `GET /metrics` answers) into numbers,
 * and turns two readings of a counter into a rate. Pure: the dashboard's
 * tests feed it text.
 */

/** Values by series, `name` or `name{label="value",...}` exactly as written. */
export type Sample = Map<string, number>;

/**
 * @example parseMetrics('plume_connections 3\n').get('plume_connections') // 3
 */
export function parseMetrics(text: string): Sample {
  const sample: Sample = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = Number(line.slice(space + 1));
    if (space > 0 && !Number.isNaN(value)) sample.set(line.slice(0, space), value);
  }
  return sample;
}

/** A series' value, or 0 when the server does not report it. */
export function value(sample: Sample, series: string): number {
  return sample.get(series) ?? 0;
}

/**
 * Per second between two readings `seconds` apart; 0 when a counter went
 * back (the server restarted) or no time passed.
 * @example rate(10, 40, 2) // 15
 */
export function rate(before: number, after: number, seconds: number): number {
  if (seconds <= 0 || after < before) return 0;
  return (after - before) / seconds;
}

/** A number for a card: `1.2k`, `3.4M`, or as is below 1000 (one decimal under 10). */
export function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n < 10 && !Number.isInteger(n) ? n.toFixed(1) : String(Math.round(n));
}
