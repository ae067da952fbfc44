/**
 * Plume's server library: import from `plume/server`.
 *
 * @example
 * import { PlumeServer, ok, refuse } from 'plume/server';
 * const server = new PlumeServer({ secret: process.env.PLUME_SECRET });
 * server.channel('room:*', {
 *   join: (topic, params, socket) => (socket.assigns.userId ? ok() : refuse('unauthorized')),
 *   handleIn: (event, payload, socket) => { socket.broadcast(event, payload); return ok(); },
 * });
 * await server.listen(4000, '127.0.0.1');
 */
export { PlumeServer, type SocketInfo } from './server';
export type { ServerOptions } from './options';
export type { Address } from './transport/http';
export { ok, error, refuse, type Assigns, type ChannelHandler, type ChannelSocket, type Reply, type TerminateReason } from './channels/channel';
export { ConnectRefused, type ConnectHook, type ConnectInfo } from './auth/connect';
export { signToken, verifyToken, TokenError, type TokenClaims, type SignOptions } from './auth/token';
export { PubSub, type PubSubHandler, type Subscription } from './pubsub/pubsub';
export type { PubSubAdapter, Envelope } from './pubsub/adapter';
export { MemoryAdapter, MemoryBus } from './pubsub/memory';
export { MemoryHistory, type AppendedBroadcast, type History, type HistoryMemory, type HistoryOptions, type Position, type StoredBroadcast } from './engine/memory/history';
export { relayChannel } from './channels/relay';
export { PresenceTracker, type PresenceOptions, type MetaUpdate } from './presence/tracker';
export { trackOnJoin } from './presence/track-on-join';
export { PresenceLimitError, type PresenceLimits, type PresenceLimitReason } from './presence/limits';
export { consoleLogger, silentLogger, type Logger } from './log';
export { installSafetyNet } from './safety-net';
