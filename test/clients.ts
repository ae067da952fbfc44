/**
 * Real clients for integration tests: the Plume client and the official
 * `phoenix` client, both over the `ws` package, disposed after each test.
 */
import { afterEach } from 'vitest';
import { Socket as PhoenixSocket } from 'phoenix';
import WebSocket from 'ws';
import { Socket, type SocketOptions, type SocketStateChange, type WebSocketLike } from '../src/index';
import { deadline, DEADLINE_MS } from './waiting';

/**
 * Returns a factory for Plume sockets connected to `url` (the server's http
 * URL), each disconnected after the test.
 */
export function usePlumeClients(): (url: string, options?: SocketOptions) => Socket {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  return (url, options = {}) => {
    const socket = new Socket(`${url}/socket`, {
      transport: (u, protocols) => new WebSocket(u, protocols) as unknown as WebSocketLike,
      ...options,
    });
    sockets.push(socket);
    return socket;
  };
}

/** Returns a factory for official phoenix sockets, each disconnected after the test. */
export function usePhoenixClients(): (url: string, params?: Record<string, string>) => PhoenixSocket {
  const sockets: PhoenixSocket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  return (url, params = {}) => {
    const socket = new PhoenixSocket(`${url.replace(/^http/, 'ws')}/socket`, { transport: WebSocket, params });
    sockets.push(socket);
    return socket;
  };
}

/** Resolves with the first state change matching `predicate`. */
export function nextState(socket: Socket, predicate: (change: SocketStateChange) => boolean, ms = DEADLINE_MS): Promise<SocketStateChange> {
  return deadline(ms, 'a socket state change', new Promise<SocketStateChange>((resolve) => {
    const off = socket.onStateChange((change) => {
      if (!predicate(change)) return;
      off();
      resolve(change);
    });
  }));
}
