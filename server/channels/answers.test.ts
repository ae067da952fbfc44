import { describe, expect, it } from 'vitest';
import { Answers } from './answers';

describe('Answers', () => {
  it('gives answers in the order their places were taken, whatever order they are ready in', () => {
    const given: string[] = [];
    const answers = new Answers(() => {});
    const first = answers.reserve();
    const second = answers.reserve();
    const third = answers.reserve();
    third(() => given.push('3'));
    second(() => given.push('2'));
    expect(given).toEqual([]);
    expect(answers.outstanding).toBe(true);
    first(() => given.push('1'));
    expect(given).toEqual(['1', '2', '3']);
    expect(answers.outstanding).toBe(false);
  });

  it('gives an answer once, runs what comes after the answers before it, and tells when those are given', async () => {
    const given: string[] = [];
    const answers = new Answers(() => {});
    await answers.given();
    const first = answers.reserve();
    answers.after(() => given.push('after'));
    let done = false;
    void answers.given().then(() => (done = true));
    // Reserved after the wait began: it does not hold the wait back.
    const later = answers.reserve();
    await Promise.resolve();
    expect(done).toBe(false);
    expect(given).toEqual([]);
    first(() => given.push('a'));
    first(() => given.push('again'));
    await Promise.resolve();
    expect(done).toBe(true);
    expect(given).toEqual(['a', 'after']);
    later(() => given.push('later'));
    expect(given).toEqual(['a', 'after', 'later']);
    answers.after(() => given.push('now'));
    expect(given).toEqual(['a', 'after', 'later', 'now']);
  });

  it('reports an answer that throws and still gives the ones after it', () => {
    const reported: unknown[] = [];
    const given: string[] = [];
    const answers = new Answers((e) => reported.push(e));
    const first = answers.reserve();
    const second = answers.reserve();
    second(() => given.push('b'));
    first(() => {
      throw new Error('socket gone');
    });
    expect(given).toEqual(['b']);
    expect(reported).toHaveLength(1);
  });
});
