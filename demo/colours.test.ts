import { describe, expect, it } from 'vitest';
import { assignHues, PALETTE, preferredSlot } from './colours';

describe('assignHues', () => {
  it('gives every person in view a colour of their own', () => {
    const names = ['Ada', 'Bruno', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Edsger'];
    const hues = assignHues(names);
    expect(new Set(hues.values()).size).toBe(names.length);
  });

  it('tells Ada from Bruno (both magenta when the hue came from the name alone: 294° and 310°)', () => {
    const hues = assignHues(['Ada', 'Bruno']);
    const apart = Math.abs(hues.get('Ada')! - hues.get('Bruno')!) % 360;
    expect(Math.min(apart, 360 - apart)).toBeGreaterThanOrEqual(18);
  });

  it('separates two names that prefer the same colour', () => {
    const [first, second] = clashingNames();
    const hues = assignHues([first, second]);
    expect(hues.get(first)).not.toBe(hues.get(second));
  });

  it('depends on who is in view, not on the order they came', () => {
    const names = ['Ada', 'Bruno', 'Grace', ...clashingNames()];
    expect(assignHues(names)).toEqual(assignHues([...names].reverse()));
  });

  it('keeps a name its preferred colour when nobody else wants it', () => {
    expect(assignHues(['Ada']).get('Ada')).toBe(PALETTE[preferredSlot('Ada')]);
  });

  it('repeats colours only beyond the palette, and then evenly', () => {
    const names = Array.from({ length: PALETTE.length * 2 }, (_, i) => `person ${i}`);
    const counts = new Map<number, number>();
    for (const hue of assignHues(names).values()) counts.set(hue, (counts.get(hue) ?? 0) + 1);
    expect([...counts.values()]).toEqual(PALETTE.map(() => 2));
  });
});

/** Two names that hash to the same slot. */
function clashingNames(): [string, string] {
  const bySlot = new Map<number, string>();
  for (let i = 0; ; i++) {
    const name = `name-${i}`;
    const other = bySlot.get(preferredSlot(name));
    if (other) return [other, name];
    bySlot.set(preferredSlot(name), name);
  }
}
