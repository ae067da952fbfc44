import { describe, expect, it } from 'vitest';
import { Serial } from './serial';

/** A promise the test settles by hand. */
function gate(): { promise: Promise<void>; open: () => void; fail: (err: Error) => void } {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Lets queued promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Serial', () => {
  it('runs synchronous tasks at once, in order', () => {
    const serial = new Serial();
    const log: number[] = [];
    serial.run(() => log.push(1));
    serial.run(() => log.push(2));
    expect(log).toEqual([1, 2]);
  });

  it('holds later tasks until an async task settles', async () => {
    const serial = new Serial();
    const log: string[] = [];
    const first = gate();
    serial.run(() => first.promise.then(() => log.push('first done')));
    serial.run(() => log.push('second'));
    await settle();
    expect(log).toEqual([]);
    first.open();
    await settle();
    expect(log).toEqual(['first done', 'second']);
  });

  it('keeps order across a chain of async tasks', async () => {
    const serial = new Serial();
    const log: number[] = [];
    const gates = [gate(), gate(), gate()];
    gates.forEach((g, i) => serial.run(() => g.promise.then(() => log.push(i))));
    gates[2]?.open();
    gates[1]?.open();
    await settle();
    expect(log).toEqual([]);
    gates[0]?.open();
    await settle();
    expect(log).toEqual([0, 1, 2]);
  });

  it('continues after a task that throws or rejects', async () => {
    const serial = new Serial();
    const log: string[] = [];
    const failing = gate();
    serial.run(() => {
      throw new Error('sync');
    });
    serial.run(() => failing.promise);
    serial.run(() => log.push('after'));
    failing.fail(new Error('async'));
    await settle();
    expect(log).toEqual(['after']);
  });

  it('clear drops queued tasks but lets the running one finish', async () => {
    const serial = new Serial();
    const log: string[] = [];
    const running = gate();
    serial.run(() => running.promise.then(() => log.push('running')));
    serial.run(() => log.push('queued'));
    serial.clear();
    running.open();
    await settle();
    expect(log).toEqual(['running']);
    serial.run(() => log.push('new'));
    expect(log).toEqual(['running', 'new']);
  });
});
