import { describe, expect, it } from 'vitest';
import { FairShare } from './fair-share';

const turn = () => new Promise((resolve) => setImmediate(resolve));

function setup(perTurn: number, wait: (name: string) => number = () => 0) {
  const socket = { paused: false, pause() { this.paused = true; }, resume() { this.paused = false; } };
  const handled: string[] = [];
  const share = new FairShare<string>(socket, (name) => {
    const ms = wait(name);
    if (ms > 0) return ms;
    handled.push(name);
  }, perTurn);
  const push = (...names: string[]) => names.forEach((n) => share.push(n));
  return { socket, handled, share, push };
}

describe('FairShare', () => {
  it('handles frames at once up to its share, then stops reading and goes on at the next turn, in order', async () => {
    const { socket, handled, push } = setup(3);
    push('a', 'b', 'c', 'd', 'e', 'f', 'g');
    expect(handled).toEqual(['a', 'b', 'c']);
    expect(socket.paused).toBe(true);
    await turn();
    expect(handled).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(socket.paused).toBe(true); // a full share again: one more turn
    await turn();
    expect(handled).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(socket.paused).toBe(false);
    push('h');
    expect(handled.at(-1)).toBe('h');
  });

  it('holds a frame that must wait at the head, reads nothing meanwhile, and handles it and those behind it in order', async () => {
    let waits = 1;
    const { socket, handled, push } = setup(100, (name) => (name === 'b' && waits-- > 0 ? 20 : 0));
    push('a', 'b', 'c');
    expect(handled).toEqual(['a']);
    expect(socket.paused).toBe(true);
    push('d');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(handled).toEqual(['a']);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(handled).toEqual(['a', 'b', 'c', 'd']);
    expect(socket.paused).toBe(false);
  });

  it('drops what waits and never reads again once held', async () => {
    const { socket, handled, share, push } = setup(2);
    push('a', 'b', 'c');
    share.hold();
    push('d');
    await turn();
    await turn();
    expect(handled).toEqual(['a', 'b']);
    expect(socket.paused).toBe(true);
  });
});
