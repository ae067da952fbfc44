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
export { signToken, TokenError, type TokenClaims, type TokenErrorCode, type SignOptions } from './auth/token';
export { verifyToken, TokenVerifier, type PublicKeyInput, type VerifierOptions } from './auth/verifier';
export { DevModeError, isLoopbackHost } from './auth/dev-mode';
export { PubSub, type PubSubHandler, type Subscription } from './pubsub/pubsub';
export type { PubSubAdapter, Envelope } from './pubsub/adapter';
export { MemoryAdapter, MemoryBus } from './pubsub/memory';
export {
  EngineUnavailable, QuotaExceeded, UNAVAILABLE, QUOTA_EXCEEDED,
  type Engine, type EngineFactory, type EngineContext, type EngineLimits, type EngineHealth, type BroadcastLog, type DedupeStore, type NodeRegistry,
  type Position, type NewBroadcast, type SequencedBroadcast, type StoredBroadcast, type TopicWindow, type HistoryRead, type StoredOutcome, type Claim,
} from './engine/engine';
export { memoryEngine, MemoryStore, MemoryEngine, type MemoryEngineOptions } from './engine/memory/engine';
export { redisEngine, RedisEngine, type RedisEngineOptions } from './engine/redis/engine';
export type { HistoryMemory } from './engine/memory/history';
export { relayChannel, relayChannelFor, roomsClaimAllows, type RelayOptions } from './channels/relay';
export { PresenceTracker, type PresenceOptions, type MetaUpdate } from './presence/tracker';
export { trackOnJoin } from './presence/track-on-join';
export { PresenceLimitError, type PresenceLimits, type PresenceLimitReason } from './presence/limits';
export { consoleLogger, silentLogger, type Logger } from './log';
export { installSafetyNet } from './safety-net';
export { jsonLogger, pinoLogger, type LogLevel } from './logging/json';
export type { ServerCounters } from './metrics/counters';
export type { OpsOptions } from './http/settings';
export type { RateLimit } from './http/rate-limit';
export { VERSION } from './version';
