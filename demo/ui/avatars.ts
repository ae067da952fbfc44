/**
 * Avatar colours on screen. Every avatar carries its person's name
 * (`data-who`) and one stylesheet gives each name in view its hue, shared
 * out so that no two people in view look alike (`colours.ts`). When someone
 * new comes into view and the share-out changes, every avatar on the page
 * follows at once, without being drawn again.
 *
 * "In view" is everyone painted since the room on screen was shown (its
 * messages, its people, its peers), plus the user.
 */
import { assignHues } from '../colours';

/**
 * @example
 * const avatars = new Avatars(() => [chat.name]);
 * avatars.paint(element, message.name); // on every avatar drawn
 * avatars.reset();                      // on every room switch
 */
export class Avatars {
  private readonly sheet: HTMLStyleElement;
  private readonly always: () => readonly string[];
  private names = new Set<string>();
  private scheduled = false;

  /** `always`: names in view whatever the room (the user's own). */
  constructor(always: () => readonly string[]) {
    this.always = always;
    this.sheet = document.createElement('style');
    document.head.append(this.sheet);
  }

  /** Colours `element` as `name`'s avatar. */
  paint(element: HTMLElement, name: string): void {
    element.dataset.who = name;
    if (this.names.has(name)) return;
    this.names.add(name);
    this.schedule();
  }

  /** A new room is on screen: the people of the old one are out of view. */
  reset(): void {
    this.names = new Set(this.always());
    this.schedule();
  }

  /** Rewrites the stylesheet once per task, however many avatars were painted in it. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const rules = [...assignHues(this.names)].map(([name, hue]) => `.avatar[data-who="${CSS.escape(name)}"] { --hue: ${hue}; }`);
      this.sheet.textContent = rules.join('\n');
    });
  }
}
