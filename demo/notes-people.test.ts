import { describe, expect, it } from 'vitest';
import { cursorColours, notesMembers } from './notes-people';

const user = (name: string, color = cursorColours(name).color) => ({ name, color });

describe('who has the notes open', () => {
  it('lists the user first, then the others whose notes are on screen or who have a cursor in them', () => {
    const states = new Map<number, Record<string, unknown>>([
      [7, { user: user('Bob'), open: true, cursor: null }],
      [3, { user: user('Cy'), open: false, cursor: null }],
      [9, { user: user('Dee'), open: false, cursor: { anchor: {}, head: {} } }],
      [1, { user: user('Ada'), open: false, cursor: null }],
    ]);
    expect(notesMembers(states, 1).map(({ name, editing, self }) => ({ name, editing, self }))).toEqual([
      { name: 'Ada', editing: false, self: true },
      { name: 'Bob', editing: false, self: false },
      { name: 'Dee', editing: true, self: false },
    ]);
  });

  it('shows a person with several tabs once, editing if any tab is', () => {
    const states = new Map<number, Record<string, unknown>>([
      [1, { user: user('Ada'), open: true }],
      [2, { user: user('Bob'), open: true, cursor: null }],
      [3, { user: user('Bob'), open: true, cursor: { anchor: {}, head: {} } }],
    ]);
    expect(notesMembers(states, 1).map(({ name, editing }) => [name, editing])).toEqual([['Ada', false], ['Bob', true]]);
  });

  it('skips states without a name and never passes on a colour that is not one', () => {
    const states = new Map<number, Record<string, unknown>>([
      [1, { user: user('Ada'), open: true }],
      [2, { open: true }],
      [3, { user: { name: 'Eve', color: 'red; background: url(https://evil.example/x)' }, open: true }],
    ]);
    expect(notesMembers(states, 1).map(({ name, color }) => [name, color])).toEqual([['Ada', cursorColours('Ada').color], ['Eve', 'gray']]);
  });

  it('gives a name the same cursor colour everywhere', () => {
    expect(cursorColours('Ada')).toEqual(cursorColours('Ada'));
    expect(cursorColours('Ada').color).toMatch(/^hsl\(\d+ 62% 48%\)$/);
  });
});
