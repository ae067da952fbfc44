import { describe, expect, it } from 'vitest';
import { Membership } from './membership';
import { MAX_EXTRA_ROOMS } from './prefs';

// No localStorage under Node: every Membership starts as a first visit.
describe('Membership', () => {
  it('is in the default rooms from the start', () => {
    const rooms = new Membership();
    expect(rooms.joinedRooms()).toEqual(['lobby', 'random', 'help']);
  });

  it('learns of a room without joining it, and joins it when opened', () => {
    const rooms = new Membership();
    expect(rooms.learn(['book-club', 'lobby', 'book-club'])).toEqual(['book-club']);
    expect(rooms.all()).toEqual(['lobby', 'random', 'help', 'book-club']);
    expect(rooms.isJoined('book-club')).toBe(false);
    expect(rooms.join('book-club')).toBe(true);
    expect(rooms.join('book-club')).toBe(false);
    expect(rooms.joinedRooms()).toEqual(['lobby', 'random', 'help', 'book-club']);
  });

  it('joining an unknown room (a shared link) learns it too', () => {
    const rooms = new Membership();
    expect(rooms.join('chess')).toBe(true);
    expect(rooms.extra()).toEqual(['chess']);
  });

  it('stops remembering rooms when full', () => {
    const rooms = new Membership();
    rooms.learn(Array.from({ length: MAX_EXTRA_ROOMS }, (_, i) => `room-${i}`));
    expect(rooms.full).toBe(true);
    expect(rooms.learn(['one-more'])).toEqual([]);
    expect(rooms.join('one-more')).toBe(false);
  });
});
