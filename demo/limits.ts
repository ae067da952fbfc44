/**
 * Length limits as a person meets them: counted in characters, a counter
 * from near the limit on, and text over it refused with the reason rather
 * than cut (a paste is never shortened behind the person's back).
 *
 * Pure functions only; the counter on screen is `ui/counter.ts`.
 */

/** Where a text stands against its limit: well within (`ok`), close (`near`: show the counter), or `over`. */
export type LimitState = 'ok' | 'near' | 'over';

export interface LimitCheck {
  count: number;
  limit: number;
  state: LimitState;
  /** Characters beyond the limit (0 within it). */
  over: number;
}

/** Characters as counted against the limits: code points, so most emoji and every CJK character count once. */
export function charCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * Where `text` stands against `limit`; `near` from `nearFrom` characters on (default: 80% of the limit).
 * @example checkLimit('x'.repeat(1_980), 2_000) // => { count: 1980, limit: 2000, state: 'near', over: 0 }
 */
export function checkLimit(text: string, limit: number, nearFrom = Math.ceil(limit * 0.8)): LimitCheck {
  const count = charCount(text);
  const state: LimitState = count > limit ? 'over' : count >= nearFrom ? 'near' : 'ok';
  return { count, limit, state, over: Math.max(0, count - limit) };
}

/**
 * "1,980 / 2,000"; over the limit, followed by what `tooMany` says about the excess.
 * @example counterText(checkLimit('x'.repeat(36), 32), (n) => `${n} too many.`) // => '36 / 32: 4 too many.'
 */
export function counterText(check: LimitCheck, tooMany: (over: string) => string): string {
  const tally = `${formatCount(check.count)} / ${formatCount(check.limit)}`;
  return check.state === 'over' ? `${tally}: ${tooMany(formatCount(check.over))}` : tally;
}

/** A count with thousands separators, the same in every locale (the app's text is English). */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
