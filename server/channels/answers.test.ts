import { describe, expect, it } from 'vitest';
import { Answers } from './answers';

describe('Answers', () => {
  it('gives answers in the order their places were taken, whatever order they are ready in', () => {
    const given: string[] = [];
    const answers = new Answers<string>(() => {});
    const first = answers.reserve((o) => given.push(`1:${o}`));
    const second = answers.reserve((o) => given.push(`2:${o}`));
    const third = answers.reserve((o) => given.push(`3:${o}`));
    third('c');
    second('b');
    expect(given).toEqual([]);
    expect(answers.outstanding).toBe(true);
    first('a');
    expect(given).toEqual(['1:a', '2:b', '3:c']);
    expect(answers.outstanding).toBe(false);
  });

  it('gives an answer once, and tells when none is outstanding', async () => {
    const given: string[] = [];
    const answers = new Answers<string>(() => {});
    await answers.settled();
    const first = answers.reserve((o) => given.push(o));
    let settled = false;
    void answers.settled().then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    first('a');
    first('again');
    await Promise.resolve();
    expect(settled).toBe(true);
    expect(given).toEqual(['a']);
  });

  it('reports an answer that throws and still gives the ones after it', () => {
    const reported: unknown[] = [];
    const given: string[] = [];
    const answers = new Answers<string>((e) => reported.push(e));
    const first = answers.reserve(() => {
      throw new Error('socket gone');
    });
    const second = answers.reserve((o) => given.push(o));
    second('b');
    first('a');
    expect(given).toEqual(['b']);
    expect(reported).toHaveLength(1);
  });
});
