/**
 * Coordination between tabs of one origin: a BroadcastChannel to share
 * outbox changes, and Web Locks so that one tab at a time flushes a topic.
 * Where either API is missing (Node, old browsers) the tab acts alone.
 */
import type { Unsubscribe } from '../listeners';

/** Carries messages to the other tabs using the same outbox. */
export interface TabBus {
  post(message: unknown): void;
  onMessage(callback: (message: unknown) => void): Unsubscribe;
  close(): void;
}

/** A BroadcastChannel bus, or one that talks to nobody where BroadcastChannel is missing. */
export function tabBus(name: string): TabBus {
  const BC = (globalThis as { BroadcastChannel?: typeof BroadcastChannel }).BroadcastChannel;
  if (!BC) return { post() {}, onMessage: () => () => {}, close() {} };
  const channel = new BC(name);
  return {
    post: (message) => channel.postMessage(message),
    onMessage(callback) {
      const listener = (event: MessageEvent) => callback(event.data);
      channel.addEventListener('message', listener);
      return () => channel.removeEventListener('message', listener);
    },
    close: () => channel.close(),
  };
}

/** Exclusive named locks shared by the tabs of an origin. */
export interface Locks {
  /** Resolves with a release function once the lock is held. */
  acquire(name: string): Promise<() => void>;
}

/** Web Locks, or null where `navigator.locks` is missing. */
export function webLocks(): Locks | null {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (!locks) return null;
  return {
    acquire(name) {
      return new Promise((resolveHeld) => {
        void locks.request(name, { mode: 'exclusive' }, () => new Promise<void>((release) => resolveHeld(() => release())));
      });
    },
  };
}
