/**
 * Avatar colours: each person in view gets a colour of their own. A hue
 * hashed from the name alone gives two people the same colour more often
 * than one would think (with 360 hues that look like a dozen, two of five
 * people share one about half the time), so the people in view share out
 * a palette of hues far enough apart to tell apart.
 *
 * The share-out depends only on the set of names, not on the order they
 * appeared in, so everyone looking at the same people sees the same
 * colours. Beyond the palette's size colours repeat.
 *
 * Pure functions only; `ui/avatars.ts` puts them on screen.
 */

/** Hues (degrees) that read as different colours on a white initial: red, orange, amber, lime, green, teal, cyan, blue, indigo, violet, magenta, pink. */
export const PALETTE: readonly number[] = [0, 24, 42, 88, 130, 168, 192, 214, 238, 265, 292, 325];

/**
 * The palette slot a name prefers: always the same for the same name.
 * @example preferredSlot('Ada') === preferredSlot('Ada') // => true
 */
export function preferredSlot(name: string): number {
  let hash = 0;
  for (const char of name.toLowerCase()) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % PALETTE.length;
}

/**
 * A hue for each name, distinct while there are no more names than hues:
 * names in sorted order each take their preferred slot, or the next free one.
 * @example assignHues(['Ada', 'Bruno']).get('Ada') !== assignHues(['Ada', 'Bruno']).get('Bruno') // => true
 */
export function assignHues(names: Iterable<string>): Map<string, number> {
  const sorted = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const taken = new Set<number>();
  const hues = new Map<string, number>();
  for (const name of sorted) {
    // Once every slot is taken, start over: colours repeat, as few times each as can be.
    if (taken.size === PALETTE.length) taken.clear();
    let slot = preferredSlot(name);
    while (taken.has(slot)) slot = (slot + 1) % PALETTE.length;
    taken.add(slot);
    hues.set(name, PALETTE[slot]!);
  }
  return hues;
}
