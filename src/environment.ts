/**
 * What the socket needs to know about the page it runs in: is the network
 * up, is the page visible, and when do those change. The default reads
 * `navigator.onLine` and `document.visibilityState`; outside a browser the
 * network counts as up and the page as visible. Tests pass a fake.
 */
import type { Unsubscribe } from './listeners';

export type EnvironmentEvent = 'online' | 'offline' | 'visible' | 'hidden';

export interface Environment {
  online(): boolean;
  visible(): boolean;
  on(event: EnvironmentEvent, callback: () => void): Unsubscribe;
}

/** Reads the browser's globals; inert where they do not exist (Node). */
export function browserEnvironment(): Environment {
  const win = typeof window !== 'undefined' ? window : undefined;
  const doc = typeof document !== 'undefined' ? document : undefined;
  const nav = typeof navigator !== 'undefined' ? navigator : undefined;
  return {
    online: () => nav?.onLine !== false,
    visible: () => doc?.visibilityState !== 'hidden',
    on(event, callback) {
      if (!win || !doc) return () => {};
      if (event === 'online' || event === 'offline') {
        win.addEventListener(event, callback);
        return () => win.removeEventListener(event, callback);
      }
      const wanted = event === 'visible' ? 'visible' : 'hidden';
      const listener = () => {
        if (doc.visibilityState === wanted) callback();
      };
      doc.addEventListener('visibilitychange', listener);
      return () => doc.removeEventListener('visibilitychange', listener);
    },
  };
}
