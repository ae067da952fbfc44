/**
 * A client transport with a tap on the wire, for tests that lose, rewrite
 * or watch frames between a Plume client and a real server: a `ws`
 * WebSocket behind the `WebSocketLike` surface the Socket uses.
 */
import WebSocket from 'ws';
import type { TransportFactory, WebSocketLike } from '../src/options';

/** What a test does to the frames crossing one socket. */
export interface Tap {
  /** Sees each frame from the server; return false to drop it, or a string to deliver that instead. */
  incoming?(text: string): boolean | string;
  /** Sees each frame to the server; return a string to send that instead, or null to drop it. */
  outgoing?(text: string): string | null | void;
}

/**
 * @example
 * const socket = new Socket(url, { transport: tapped({ incoming: (text) => !text.includes('"seq":3') }) });
 */
export function tapped(tap: Tap): TransportFactory {
  return (url, protocols) => {
    const ws = new WebSocket(url, protocols);
    const socket: WebSocketLike = {
      get readyState() {
        return ws.readyState;
      },
      onopen: null,
      onclose: null,
      onmessage: null,
      onerror: null,
      set binaryType(type: string) {
        ws.binaryType = type as 'arraybuffer';
      },
      send(data) {
        // Binary frames pass untapped: the taps here look at JSON text.
        if (typeof data !== 'string') return ws.send(data);
        const out = tap.outgoing?.(data);
        if (out === null) return;
        ws.send(typeof out === 'string' ? out : data);
      },
      close(code, reason) {
        ws.close(code, reason);
      },
    };
    ws.onopen = (event) => socket.onopen?.(event);
    ws.onclose = (event) => socket.onclose?.({ code: event.code, reason: event.reason });
    ws.onerror = (event) => socket.onerror?.(event);
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return socket.onmessage?.({ data: event.data });
      const text = event.data;
      const kept = tap.incoming?.(text) ?? true;
      if (kept !== false) socket.onmessage?.({ data: typeof kept === 'string' ? kept : text });
    };
    return socket;
  };
}

/** A frame's elements, for taps that look inside: `[joinRef, ref, topic, event, payload, meta?]`. */
export function frameOf(text: string): [string | null, string | null, string, string, Record<string, unknown>, Record<string, unknown> | undefined] {
  return JSON.parse(text) as [string | null, string | null, string, string, Record<string, unknown>, Record<string, unknown> | undefined];
}

/** A seeded PRNG (mulberry32): the same seed gives the same run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
