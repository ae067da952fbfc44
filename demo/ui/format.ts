/**
 * How names and times look: clock time as HH:MM, when someone was last
 * seen, and the initial on each name's avatar (its colour: `avatars.ts`).
 */

/**
 * Local clock time, 24-hour.
 * @example formatTime(new Date(2024, 0, 1, 9, 5).getTime()) // => '09:05'
 */
export function formatTime(ms: number): string {
  const date = new Date(ms);
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}

/**
 * When someone was last seen: the time today, with the date before today.
 * @example formatSeen(new Date(2024, 0, 1, 9, 5).getTime(), new Date(2024, 0, 1, 12).getTime()) // => '09:05'
 */
export function formatSeen(ms: number, now = Date.now()): string {
  const date = new Date(ms);
  if (date.toDateString() === new Date(now).toDateString()) return formatTime(ms);
  return `${date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${formatTime(ms)}`;
}

/** The full date and time, for a tooltip. */
export function formatFull(ms: number): string {
  return new Date(ms).toLocaleString();
}

/** The first letter of a name, for its avatar. */
export function initialOf(name: string): string {
  const first = [...name.trim()][0];
  return first ? first.toUpperCase() : '?';
}
