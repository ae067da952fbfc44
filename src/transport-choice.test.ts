import { describe, expect, it } from 'vitest';
import { TransportChoice } from './transport-choice';

describe('TransportChoice', () => {
  it('falls back to long-poll after two WebSockets in a row fail to open, not after one', () => {
    const choice = new TransportChoice(true, 60_000);
    choice.ended(1006, null);
    expect(choice.kind).toBe('websocket');
    choice.ended(1006, null);
    expect(choice.kind).toBe('longpoll');
  });

  it('counts a WebSocket that dropped within 5 s of opening as failed, and one closed with a code as not', () => {
    const choice = new TransportChoice(true, 60_000);
    choice.ended(1006, 4_999);
    choice.ended(1000, null); // a clean close resets the count
    choice.ended(1006, 100);
    expect(choice.kind).toBe('websocket');
    choice.ended(1006, 100);
    expect(choice.kind).toBe('longpoll');
  });

  it('takes five failures once a WebSocket has worked, and then no longer falls back on a hanging open', () => {
    const choice = new TransportChoice(true, 60_000);
    expect(choice.mayFallBack).toBe(true);
    choice.ended(1006, 5_000); // stayed open 5 s: WebSockets work here
    expect(choice.mayFallBack).toBe(false);
    for (let i = 0; i < 4; i++) choice.ended(1006, null);
    expect(choice.kind).toBe('websocket');
    choice.ended(1006, null);
    expect(choice.kind).toBe('longpoll');
  });

  it('sends a long-poll session that never opened back to WebSockets, one failure short of falling back again', () => {
    const choice = new TransportChoice(true, 60_000);
    choice.useLongPoll();
    choice.ended(1006, 2_000); // long-poll opened, then dropped: stays
    expect(choice.kind).toBe('longpoll');
    choice.ended(1006, null);
    expect(choice.kind).toBe('websocket');
    choice.ended(1006, null);
    expect(choice.kind).toBe('longpoll');
  });

  it('probes after 5 s, then at doubling waits up to webSocketRetryMs, and starts over after the next fallback', () => {
    const choice = new TransportChoice(true, 30_000);
    choice.useLongPoll();
    expect([1, 2, 3, 4].map(() => choice.nextProbeDelay())).toEqual([5_000, 10_000, 20_000, 30_000]);
    choice.useWebSocket();
    choice.useLongPoll();
    expect(choice.nextProbeDelay()).toBe(5_000);
  });

  it('never leaves WebSockets without long-poll fallback', () => {
    const choice = new TransportChoice(false, 60_000);
    for (let i = 0; i < 10; i++) choice.ended(1006, null);
    expect(choice.kind).toBe('websocket');
    expect(choice.mayFallBack).toBe(false);
  });
});
