import { describe, expect, it } from 'vitest';
import { checkRoomName, isRoomName, MAX_ROOM_NAME, roomSlug } from './room-name';
import { hashFor, roomFromHash } from './rooms';

describe('roomSlug', () => {
  it('keeps letters of every script, numbers and emoji; spaces become dashes', () => {
    expect(roomSlug('Book Club ☕ Ünïcödé 日本')).toBe('book-club-☕-ünïcödé-日本');
    expect(roomSlug('日本語の部屋')).toBe('日本語の部屋');
    expect(roomSlug('☕☕')).toBe('☕☕');
    expect(roomSlug('Москва 2024')).toBe('москва-2024');
    expect(roomSlug('हिन्दी')).toBe('हिन्दी'); // its vowel signs are marks, kept with their letters
  });

  it('keeps emoji sequences whole: joiners, skin tones, flags', () => {
    expect(roomSlug('👩🏽‍💻 devs')).toBe('👩🏽‍💻-devs');
    expect(roomSlug('🇫🇷 chat')).toBe('🇫🇷-chat');
  });

  it('drops punctuation, a leading #, and repeated or outer dashes', () => {
    expect(roomSlug('  #Book Club!  ')).toBe('book-club');
    expect(roomSlug('a -- b__c')).toBe('a-b-c');
    expect(roomSlug('--!!--')).toBe('');
  });

  it('folds compatibility forms and composes accents, so one name is one room however it was typed', () => {
    expect(roomSlug('Ｃａｆé')).toBe('café');
    expect(roomSlug('Cafe\u0301')).toBe(roomSlug('Café')); // e + combining accent = é
  });
});

describe('checkRoomName', () => {
  it('gives the room name', () => {
    expect(checkRoomName('Book Club')).toEqual({ ok: true, name: 'book-club' });
  });

  it('says nothing for an empty input', () => {
    expect(checkRoomName('  # ')).toEqual({ ok: false, problem: null });
  });

  it('says what is wrong, and mentions "directory" only for that name', () => {
    expect(checkRoomName('!!! ???')).toEqual({ ok: false, problem: 'A room name needs a letter, a number or an emoji.' });
    expect(checkRoomName('Directory')).toEqual({ ok: false, problem: '“directory” is reserved for the room list: pick another name.' });
  });

  it('refuses a name over the limit instead of cutting it', () => {
    expect(checkRoomName('a'.repeat(MAX_ROOM_NAME))).toEqual({ ok: true, name: 'a'.repeat(MAX_ROOM_NAME) });
    expect(checkRoomName('a'.repeat(MAX_ROOM_NAME + 8))).toEqual({ ok: false, problem: 'Room names can be up to 32 characters: this one has 40.' });
  });
});

describe('isRoomName', () => {
  it('accepts names as made, refuses anything else', () => {
    for (const name of ['lobby', 'book-club-☕-ünïcödé-日本', '日本']) expect(isRoomName(name)).toBe(true);
    for (const name of ['Lobby', 'book club', '', 'directory', 'a'.repeat(40), 7, null]) expect(isRoomName(name)).toBe(false);
  });
});

describe('room links', () => {
  it('escape the name in the hash and read it back', () => {
    const room = 'book-club-☕-ünïcödé-日本';
    expect(hashFor(room)).not.toMatch(/[^\x20-\x7e]/);
    expect(roomFromHash(hashFor(room))).toBe(room);
    expect(roomFromHash('#/日本')).toBe('日本');
    expect(roomFromHash('#/Book%20Club')).toBe('book-club');
    expect(roomFromHash('#/%E0%A4%A')).toBeNull();
  });
});
