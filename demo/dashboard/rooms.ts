/**
 * The rooms panel: each active topic on this node with its member count and
 * who is in it (from presence, across nodes). Names go in as text only.
 */
import { h } from '../ui/dom';

/** A topic and the names of the people present (one per presence key). */
export interface Room {
  topic: string;
  members: number;
  people: string[];
}

/** The display names of a presence answer: each key's first meta's `name`, else the key. */
export function peopleOf(presences: Record<string, { metas: { name?: unknown }[] }>): string[] {
  return Object.entries(presences)
    .map(([key, { metas }]) => (typeof metas[0]?.name === 'string' ? metas[0].name : key))
    .sort((a, b) => a.localeCompare(b));
}

/** Renders the rooms into `list` (replacing what was there). */
export function renderRooms(list: HTMLElement, rooms: readonly Room[]): void {
  if (rooms.length === 0) {
    list.replaceChildren(h('li', { class: 'rooms__empty', text: 'No room has members on this node yet. Open the chat in another window.' }));
    return;
  }
  list.replaceChildren(...rooms.map((room) => h('li', { class: 'room', attrs: { 'data-testid': 'dashboard-room', 'data-topic': room.topic } }, [
    h('div', { class: 'room__head' }, [
      h('span', { class: 'room__name', text: room.topic }),
      h('span', { class: 'room__count', text: `${room.members} ${room.members === 1 ? 'member' : 'members'}` }),
    ]),
    h('ul', { class: 'room__people' }, room.people.map((name) => h('li', { class: 'person', text: name }))),
  ])));
}
